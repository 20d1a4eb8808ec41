from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from chat.selectors import unread_total
from portal.timezones import equivalent_names

# Which tab of the menus a URL namespace belongs to.
TABS_BY_NAMESPACE = {"appointments": "appointments", "chat": "chat", "account": "account"}


def portal(request: HttpRequest) -> dict:
    match = getattr(request, "resolver_match", None)
    namespace = match.namespaces[0] if match and match.namespaces else ""
    context = {
        "portal_name": settings.PORTAL_NAME,
        "current_tab": TABS_BY_NAMESPACE.get(namespace, ""),
    }
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        # The zone banner must not offer "Asia/Calcutta" to someone saved in Asia/Kolkata.
        context["user_zone_names"] = " ".join(equivalent_names(user.time_zone_name))
        # Counted only if a template shows it (the menus do; partial answers don't).
        context["chat_unread"] = SimpleLazyObject(lambda: unread_total(user))
    return context

from django.conf import settings
from django.http import HttpRequest

# Which tab of the menus a URL namespace belongs to.
TABS_BY_NAMESPACE = {"appointments": "appointments", "chat": "chat", "account": "account"}


def portal(request: HttpRequest) -> dict:
    match = getattr(request, "resolver_match", None)
    namespace = match.namespaces[0] if match and match.namespaces else ""
    return {
        "portal_name": settings.PORTAL_NAME,
        "current_tab": TABS_BY_NAMESPACE.get(namespace, ""),
    }

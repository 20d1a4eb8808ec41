from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from portal.timezones import equivalent_names


def navigation(request: HttpRequest) -> list[dict]:
    """The menu items of PORTAL_NAVIGATION, with their address and whether this page is theirs."""
    match = getattr(request, "resolver_match", None)
    namespace = match.namespaces[0] if match and match.namespaces else ""
    return [
        item
        | {
            "href": reverse(item["url"]),
            "current": item["url"].split(":", 1)[0] == namespace,
            "phone_label": item.get("phone_label", item["label"]),
        }
        for item in settings.PORTAL_NAVIGATION
    ]


def portal(request: HttpRequest) -> dict:
    context: dict = {"portal_name": settings.PORTAL_NAME}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        context["navigation"] = navigation(request)
        # The zone banner must not offer "Asia/Calcutta" to someone saved in Asia/Kolkata.
        context["user_zone_names"] = " ".join(equivalent_names(user.time_zone_name))
    return context

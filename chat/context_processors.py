from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from chat.sql import unread_total


def unread(request: HttpRequest) -> dict:
    """The unread count the menus show; counted only if a template shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"chat_unread": SimpleLazyObject(lambda: unread_total(user))}

"""Sign-in helpers shared by the forms, django-axes and the session middleware."""

from django.http import HttpRequest

from portal.models import normalize_email_address

AXES_USERNAME_LENGTH = 255


def axes_username(request: HttpRequest, credentials: dict | None = None) -> str:
    """
    The username axes counts failures against: the folded email, so that
    trying ALICE@example.com and alice@example.com counts as one account.
    """
    raw = ""
    if credentials:
        raw = credentials.get("username") or credentials.get("email") or ""
    if not raw and request is not None:
        raw = request.POST.get("username", "")
    # At most what axes's username columns hold; a longer name is refused by the forms anyway.
    return normalize_email_address(raw)[:AXES_USERNAME_LENGTH]


def second_step_done(user: object) -> bool:
    """Whether this session confirmed a second factor (django-otp's middleware says so)."""
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())

"""
Invitation links: a signed, expiring token that lets a new account set its first password.
The token embeds a fingerprint of the current password, so it works exactly once.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

from portal.mail import queue_email
from portal.models import User

SALT = "portal.invitation"


def _fingerprint(user: User) -> str:
    login = "" if user.last_login is None else user.last_login.replace(microsecond=0).isoformat()
    return salted_hmac(SALT, f"{user.pk}|{user.password}|{login}", algorithm="sha256").hexdigest()[
        :32
    ]


def make_token(user: User) -> str:
    return signing.dumps({"u": user.pk, "f": _fingerprint(user)}, salt=SALT, compress=True)


def user_for_token(token: str, max_age: timedelta | None = None) -> User | None:
    """The invited user, or None if the link is forged, expired or already used."""
    max_age = max_age or settings.INVITATION_MAX_AGE
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age)
        user = User.objects.get(pk=int(data["u"]), is_active=True)
    except (signing.BadSignature, User.DoesNotExist, KeyError, TypeError, ValueError):
        return None
    if not constant_time_compare(str(data.get("f", "")), _fingerprint(user)):
        return None
    return user


def invitation_url(user: User) -> str:
    return settings.PORTAL_BASE_URL + reverse("welcome", args=[make_token(user)])


def queue_invitation(user: User, *, invited_by: str, audience: str = "client") -> None:
    """Tells the person where to set a password; nothing about their care."""
    context = {
        "user": user,
        "invited_by": invited_by,
        "audience": audience,
        "link": invitation_url(user),
        "days": settings.INVITATION_MAX_AGE.days,
        "portal_name": settings.PORTAL_NAME,
    }
    queue_email("invitation", context, to=user.email)

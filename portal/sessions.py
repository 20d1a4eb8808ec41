"""
Signed-in sessions: Django's database session engine with a row that says whose session it
is, from which device and address, since when and how recently used (Django's documented way:
"Extending database-backed session engines"), and the reads and writes behind the account's
"Signed-in sessions" page and the workspace's copy of it.

`SESSION_ENGINE = "portal.sessions"`. Expired rows are removed by `manage.py clearsessions`.
"""

from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseStore
from django.db.models import F, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from portal.inputs import EARLIEST_INSTANT, LATEST_INSTANT, parse_id
from portal.middleware import (
    SESSION_ADDRESS_KEY,
    SESSION_DEVICE_KEY,
    SESSION_SEEN_KEY,
    SESSION_STARTED_KEY,
)
from portal.models import User, UserSession

HANDLE_PATTERN = "[0-9a-f]{64}"


def session_handle(session_key: str) -> str:
    """The name pages give a session: stable for its life, and not the key that signs it in."""
    return salted_hmac("portal.sessions.handle", session_key, algorithm="sha256").hexdigest()


def _instant(value: object) -> datetime | None:
    if not isinstance(value, int | float):
        return None
    try:
        instant = datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return instant if EARLIEST_INSTANT <= instant < LATEST_INSTANT else None


class SessionStore(DatabaseStore):
    @classmethod
    def get_model_class(cls) -> type[UserSession]:
        return UserSession

    def create_model_instance(self, data: dict[str, Any]) -> UserSession:
        # Called on every save Django makes of the session, so the columns follow its data.
        # The middleware refreshes the address and the last-active time only when it writes
        # the idle clock (portal.middleware.SEEN_WRITE_INTERVAL), so requests in between
        # save nothing.
        row = super().create_model_instance(data)
        assert isinstance(row, UserSession)  # get_model_class() above
        row.handle = session_handle(row.session_key)
        row.user_id = parse_id(str(data.get(SESSION_KEY, "")))
        row.device = str(data.get(SESSION_DEVICE_KEY) or "")[:80]
        row.address = data.get(SESSION_ADDRESS_KEY) or None
        row.signed_in_at = _instant(data.get(SESSION_STARTED_KEY))
        row.last_active_at = _instant(data.get(SESSION_SEEN_KEY))
        return row


# --- Reads ---------------------------------------------------------------------------------


def sessions_of(user: User) -> QuerySet[UserSession]:
    """
    The user's sessions that still sign someone in, most recently used first: those whose
    idle and 12-hour clocks (portal.middleware.SessionTimeoutMiddleware) have not run out.
    """
    now = timezone.now()
    return (
        UserSession.objects.filter(
            user=user,
            expire_date__gt=now,
            last_active_at__gte=now - settings.SESSION_IDLE_TIMEOUT,
            signed_in_at__gte=now - settings.SESSION_MAX_AGE,
        )
        .only(
            "handle",
            "session_data",
            "device",
            "address",
            "signed_in_at",
            "last_active_at",
            "user_id",
        )
        .order_by(F("last_active_at").desc(nulls_last=True), "-signed_in_at", "handle")
    )


def _signs_in(row: UserSession, user: User) -> bool:
    """
    Whether the session's password stamp is the user's current one. A password change or reset
    ends the other sessions by changing it (Django's session auth hash), and their rows stay
    until clearsessions: they are not "signed in" and are not listed. (A stamp made under a
    SECRET_KEY_FALLBACKS key is renewed on the session's next request, so it shows from then.)
    """
    stamp = row.get_decoded().get(HASH_SESSION_KEY)
    return isinstance(stamp, str) and constant_time_compare(stamp, user.get_session_auth_hash())


def signed_in_sessions(user: User, current_key: str | None) -> dict:
    """This device's session and the others, for the account page and the workspace's."""
    current_handle = session_handle(current_key) if current_key else None
    # A user has a handful of sessions: decoding each is cheaper than a column kept in step.
    rows = [row for row in sessions_of(user) if _signs_in(row, user)]
    current = next((row for row in rows if row.handle == current_handle), None)
    others = [row for row in rows if row.handle != current_handle]
    return {"current": current, "others": others}


def get_other_session_for_user(user: User, handle: str, current_key: str | None) -> UserSession:
    """One of the user's other sessions by its handle; anyone else's, or this one, is a 404."""
    rows = sessions_of(user).filter(handle=handle)
    if current_key:
        rows = rows.exclude(session_key=current_key)
    session = rows.first()
    if session is None or not _signs_in(session, user):
        raise Http404("No such session.")
    return session


# --- Writes --------------------------------------------------------------------------------


def session_end(*, user: User, session: UserSession) -> None:
    """Sign out one of the user's sessions: its browser's next request goes to sign-in."""
    # Filtered by owner again, so that a session of someone else's is never ended.
    UserSession.objects.filter(user=user, pk=session.pk).delete()


def sessions_end_others(*, user: User, current_key: str | None) -> None:
    """Sign out every session of the user's but this one (and drop the rows of ended ones)."""
    rows = UserSession.objects.filter(user=user)
    if current_key:
        rows = rows.exclude(session_key=current_key)
    rows.delete()

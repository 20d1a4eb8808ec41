"""
Throttles for what django-axes does not cover: password reset requests and the change-password
form. Each is a number of uses per key in a sliding window, kept in the database (the cache is
per process), so it holds across app-server processes and under concurrent requests.
"""

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Min, Q
from django.utils import timezone
from django.utils.crypto import salted_hmac

from portal.models import ThrottleSlot, normalize_email_address

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Throttle:
    """At most `limit` uses per key in any `window`."""

    scope: str
    limit: int
    window: timedelta

    def key(self, value: str) -> str:
        # Keyed with SECRET_KEY: the table cannot be matched against a list of emails.
        return salted_hmac(f"portal.throttle.{self.scope}", value, algorithm="sha256").hexdigest()

    def slots(self, value: str):
        return ThrottleSlot.objects.filter(scope=self.scope, key=self.key(value))

    def take(self, value: str, *, now: datetime | None = None) -> ThrottleSlot | None:
        """One more use of `value`, or None when it is at its limit. Nothing is kept on None."""
        now = now or timezone.now()
        cutoff = now - self.window
        mine = self.slots(value)
        busy = set(mine.filter(used_at__gt=cutoff).values_list("slot", flat=True))
        for slot in range(self.limit):
            if slot in busy:
                continue
            # A slot last used before the window is taken by a conditional update: of two
            # requests after it, the database lets one change it and the other sees 0 rows.
            if mine.filter(slot=slot, used_at__lte=cutoff).update(used_at=now):
                return ThrottleSlot(scope=self.scope, key=self.key(value), slot=slot, used_at=now)
            # A slot never used (or pruned) is taken by an insert; the unique constraint refuses
            # the second of two requests (on PostgreSQL it waits for the first to finish).
            try:
                with transaction.atomic():
                    return ThrottleSlot.objects.create(
                        scope=self.scope, key=self.key(value), slot=slot, used_at=now
                    )
            except IntegrityError:
                continue  # taken meanwhile by another request: try the next one
        return None

    def give_back(self, taken: ThrottleSlot) -> None:
        """Undo one `take` (the use turned out not to count); only if no one reused it since."""
        ThrottleSlot.objects.filter(
            scope=taken.scope, key=taken.key, slot=taken.slot, used_at=taken.used_at
        ).delete()

    def clear(self, value: str) -> None:
        self.slots(value).delete()

    def free_at(self, value: str, *, now: datetime | None = None) -> datetime | None:
        """When `value` may be used again, if it is at its limit now; None when it may now."""
        now = now or timezone.now()
        recent = self.slots(value).filter(used_at__gt=now - self.window)
        used = recent.aggregate(count=Count("pk"), oldest=Min("used_at"))
        if used["count"] < self.limit:
            return None
        # The oldest use leaves the window first, and frees its slot.
        return used["oldest"] + self.window

    def stale(self, *, now: datetime) -> Q:
        """The slots that no longer count: their last use is older than the window."""
        return Q(scope=self.scope, used_at__lte=now - self.window)


# A reset email is sent at most 3 times an hour to one email address (the emails already sent
# still work, so a person who asks again has a working link), and one client address asks at
# most 10 times an hour, for any emails.
PASSWORD_RESET_BY_EMAIL = Throttle("password-reset-email", limit=3, window=timedelta(hours=1))
PASSWORD_RESET_BY_ADDRESS = Throttle("password-reset-address", limit=10, window=timedelta(hours=1))
# Like sign-in: 5 wrong current passwords on the change-password form within 15 minutes pause it.
PASSWORD_CHANGE = Throttle("password-change", limit=5, window=timedelta(minutes=15))
THROTTLES = (PASSWORD_RESET_BY_EMAIL, PASSWORD_RESET_BY_ADDRESS, PASSWORD_CHANGE)


def password_reset_allowed(*, email: str, address: str | None, now: datetime | None = None) -> bool:
    """
    Whether a reset email may be sent for `email` to a request from `address`. Known and unknown
    emails count alike, so the answer tells nothing about who has an account. A refused request
    uses up nothing, and the caller answers it exactly like an allowed one.
    """
    email = normalize_email_address(email)
    with transaction.atomic():
        # Always the address first, then the email: requests that race take rows in one order.
        if PASSWORD_RESET_BY_ADDRESS.take(address or "", now=now) is None:
            logger.warning(
                "Password reset not sent: %s asked more than %d times in an hour.",
                address,
                PASSWORD_RESET_BY_ADDRESS.limit,
            )
            return False
        if PASSWORD_RESET_BY_EMAIL.take(email, now=now) is None:
            transaction.set_rollback(True)  # gives the address's slot back
            logger.warning(
                "Password reset not sent: %s was asked for more than %d times in an hour "
                "(this time from %s).",
                email,
                PASSWORD_RESET_BY_EMAIL.limit,
                address,
            )
            return False
    return True


def minutes_until(moment: datetime, *, now: datetime | None = None) -> int:
    """Whole minutes until `moment`, rounded up: what a person is told to wait."""
    seconds = (moment - (now or timezone.now())).total_seconds()
    return max(1, math.ceil(seconds / 60))


def prune_throttles(*, now: datetime | None = None, dry_run: bool = False) -> int:
    """Delete the slots that no longer count (a deleted slot and a stale one mean the same)."""
    now = now or timezone.now()
    stale = Q(pk__in=[])
    for throttle in THROTTLES:
        stale |= throttle.stale(now=now)
    # Scopes no throttle uses any more are dropped after a day.
    known = [throttle.scope for throttle in THROTTLES]
    stale |= ~Q(scope__in=known) & Q(used_at__lte=now - timedelta(days=1))
    slots = ThrottleSlot.objects.filter(stale)
    if dry_run:
        return slots.count()
    return slots.delete()[0]


class PasswordChangePaused(Exception):
    """The account has used up its wrong current passwords; the form opens again at `until`."""

    def __init__(self, until: datetime):
        super().__init__(f"Changing the password is paused until {until.isoformat()}.")
        self.until = until


def password_change_checked(*, user, form) -> bool:
    """
    Validate a bound PasswordChangeForm (which checks the current password) under the
    PASSWORD_CHANGE throttle, and save the new password when it is valid. Returns whether the
    password changed; raises PasswordChangePaused, changing nothing, when the account is out of
    tries, or when this wrong password was its last.

    The slot is taken before the current password is checked, so guesses sent at once each
    need one and no more than the limit are ever checked. A form refused for any other reason
    gives it back; a change clears the count.
    """
    key = str(user.pk)
    now = timezone.now()
    attempt = PASSWORD_CHANGE.take(key, now=now)
    if attempt is None:
        raise PasswordChangePaused(PASSWORD_CHANGE.free_at(key, now=now) or now)
    if form.is_valid():
        with transaction.atomic():
            form.save()
            PASSWORD_CHANGE.clear(key)
        return True
    if not form.has_error("old_password", "password_incorrect"):
        PASSWORD_CHANGE.give_back(attempt)
    elif (until := PASSWORD_CHANGE.free_at(key, now=now)) is not None:
        logger.warning(
            "Changing the password of account %s is paused after %d wrong current passwords.",
            user.pk,
            PASSWORD_CHANGE.limit,
        )
        raise PasswordChangePaused(until)
    return False

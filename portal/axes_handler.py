"""
django-axes's database handler, made safe for sign-ins that arrive at the same instant.

Nine wrong passwords and the right one for one email, sent at once, answered 500 in most bursts
on PostgreSQL with the stock handler (django-axes 8.3, `AxesDatabaseHandler`), two ways:

- A deadlock. A failure, in one transaction, locks its AccessAttempt row (the SELECT ... FOR
  UPDATE of `get_or_create`), updates it, then updates that attempt's AccessAttemptExpiration
  row. A sign-in clears the count with a queryset delete, whose cascade deletes the
  AccessAttemptExpiration rows first and the AccessAttempt rows second. The failure holds the
  attempt and waits for the expiration, the sign-in holds the expiration and waits for the
  attempt, and PostgreSQL ends one of them: "deadlock detected".
- A row deleted under `get_or_create`. A failure that finds no row inserts one; when another
  failure inserted it first, `get_or_create` reads that row after the IntegrityError, and a
  sign-in that deleted it in between leaves nothing to read: the IntegrityError escapes.

Two rules end both:

1. One writer per email and address at a time. Recording a failure, and clearing the count on
   a sign-in, each run in one transaction that first locks that pair (`portal.sql`; on SQLite
   the IMMEDIATE transaction is that lock). A pair's failures and its reset then follow one
   another: no cycle between them, no insert racing a delete, and each failure is counted
   once, into the count as the reset left it.
2. Every delete takes the attempt rows first, in id order, and their expirations after: the
   order a failure takes them. Deletes that hold no pair lock (cleaning expired attempts, and
   `axes_reset`) cannot close a cycle either; the cleaning skips attempts someone holds (they
   are being written to, so not expired) and never waits.

Retrying a transaction that lost a deadlock was the other way: it redoes work the lock never
wastes, and it would have to treat an IntegrityError as worth retrying too.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager

from axes.attempts import get_cool_off_threshold
from axes.conf import settings
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_parameters, get_client_username
from axes.models import AccessAttempt
from django.db import router, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from portal.sql import lock_names_for_transaction


def delete_attempts(attempts: QuerySet, *, skip_locked: bool = False) -> int:
    """Delete `attempts` with their expirations, attempt rows locked first; how many went."""
    # No savepoint: inside a pair's transaction a failure here fails that whole transaction.
    with transaction.atomic(using=router.db_for_write(AccessAttempt), savepoint=False):
        # Only the attempts are locked here (the cleaning's filter joins the expirations).
        locked = attempts.select_for_update(skip_locked=skip_locked, of=("self",))
        ids = list(locked.order_by("pk").values_list("pk", flat=True))
        if not ids:
            return 0
        _, deleted = AccessAttempt.objects.filter(pk__in=ids).delete()
    return deleted.get(AccessAttempt._meta.label, 0)


class LockingDatabaseHandler(AxesDatabaseHandler):
    """The stock handler, with its writes under the rules above."""

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs) -> None:
        if request is None:  # axes logs that it cannot count without a request
            return super().user_login_failed(sender, credentials, request, **kwargs)
        with self.pair_locked(request, credentials):
            return super().user_login_failed(sender, credentials, request, **kwargs)

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        with self.pair_locked(request, credentials):
            counted = self.filter_user_attempts(request, credentials)
            return sum(delete_attempts(attempts) for attempts in counted)

    def reset_attempts(
        self,
        *,
        ip_address: str | None = None,
        username: str | None = None,
        ip_or_username: bool = False,
    ) -> int:
        attempts = AccessAttempt.objects.all()
        if ip_or_username:
            attempts = attempts.filter(Q(ip_address=ip_address) | Q(username=username))
        else:
            if ip_address:
                attempts = attempts.filter(ip_address=ip_address)
            if username:
                attempts = attempts.filter(username=username)
        return delete_attempts(attempts)

    def clean_expired_user_attempts(
        self, request: HttpRequest | None = None, credentials: dict | None = None
    ) -> int:
        if settings.AXES_COOLOFF_TIME is None:
            return 0
        if settings.AXES_USE_ATTEMPT_EXPIRATION:
            expired = AccessAttempt.objects.filter(expiration__expires_at__lte=timezone.now())
        else:
            expired = AccessAttempt.objects.filter(
                attempt_time__lte=get_cool_off_threshold(request)
            )
        return delete_attempts(expired, skip_locked=True)

    @contextmanager
    def pair_locked(self, request: HttpRequest, credentials: dict | None) -> Iterator[None]:
        """A transaction holding the lock of each set of attempts this request counts in."""
        using = router.db_for_write(AccessAttempt)
        with transaction.atomic(using=using):
            lock_names_for_transaction(self.lock_names(request, credentials), using=using)
            yield

    def lock_names(self, request: HttpRequest, credentials: dict | None) -> list[str]:
        # One per set AXES_LOCKOUT_PARAMETERS counts together: ours is email and address.
        # A reset deletes exactly such sets, so it always shares a name with the failures
        # it could meet, whatever the parameters.
        username = get_client_username(request, credentials)
        counted = get_client_parameters(
            username,
            request.axes_ip_address,  # type: ignore[attr-defined]
            request.axes_user_agent,  # type: ignore[attr-defined]
            request,
            credentials,
        )
        return ["axes-attempts " + json.dumps(filters, sort_keys=True) for filters in counted]

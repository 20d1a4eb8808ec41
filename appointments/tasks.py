"""
Background work of the waitlist, run by the worker (`manage.py db_worker`). A change that
frees time records the opening and queues `offer_opening` in its own transaction: if the
change rolls back, so does the opening; nothing polls.
"""

from datetime import datetime, time, timedelta

from django.db import transaction
from django.tasks import task
from django.utils import timezone

from appointments.models import Provider, WaitlistOpening


@task
def offer_opening(opening_id: int) -> int:
    """Offer the opened time to the entries it suits; returns how many offers were made."""
    from appointments import waitlist  # the waitlist's services import the booking services

    return waitlist.make_offers(opening_id)


@task
def end_offer_hold(offer_id: int) -> bool:
    """One at a time: the hold ran out; the time goes to the next client if it still suits."""
    from appointments import waitlist

    return waitlist.hold_ended(offer_id)


def time_opened(
    provider: Provider, start: datetime, end: datetime, cause: str, now: datetime | None = None
) -> WaitlistOpening | None:
    """
    Record that [start, end) of the provider's schedule opened and queue the offers. Call it
    inside the change's transaction. Nothing when the provider's waitlist is off.
    """
    if not provider.waitlist_enabled:
        return None
    # With the change that opened the time: no savepoint of its own (a failure fails the change).
    with transaction.atomic(savepoint=False):
        opening = WaitlistOpening.objects.create(
            provider=provider,
            start=start,
            end=end,
            cause=cause,
            opened_at=now or timezone.now(),
        )
        offer_opening.enqueue(opening.pk)
    return opening


def hours_changed(sender, instance, **kwargs) -> None:
    """
    New or changed hours (or a day off taken back) may open time: weekly hours anywhere in the
    horizon, a date override on its own date. Receivers of the model's own signals, so the
    admin, a command and the shell all count, in the transaction of the change.
    """
    provider = Provider.objects.get(pk=instance.provider_id)
    now = timezone.now()
    day = getattr(instance, "date", None)
    if day is None:
        start, end = now, now + timedelta(days=provider.horizon_days)
    else:
        zone = provider.zone
        start = datetime.combine(day, time.min, tzinfo=zone)
        end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    time_opened(provider, start, end, "hours", now)

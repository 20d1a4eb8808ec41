"""
Background work of the waitlist, run by the worker (`manage.py db_worker`). A change that
frees time records the opening and queues `offer_opening` in its own transaction: if the
change rolls back, so does the opening; nothing polls.
"""

from datetime import datetime, time, timedelta

from django.db import transaction
from django.tasks import task
from django.utils import timezone

from appointments.models import Provider, WaitlistOffer, WaitlistOpening
from portal.models import User


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


@task
def recheck_offers(provider_id: int) -> int:
    """The provider's hours changed: end each live offer whose time can no longer be booked."""
    from appointments import waitlist

    return waitlist.end_unbookable_offers(provider_id)


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


def time_taken(
    provider: Provider, start: datetime, end: datetime, client: User, now: datetime | None = None
) -> int:
    """
    `client` just booked (or moved into) [start, end) of the provider's schedule: every other
    client's offer whose session would now clash with it, the provider's buffers counted as
    the slot engine counts them, can no longer be had. Closed in the change's transaction, so
    no card offers a time that is gone. Returns how many.
    """
    if not provider.waitlist_enabled:
        return 0
    before, after = provider.buffer_before, provider.buffer_after
    candidates = (
        WaitlistOffer.objects.filter(
            entry__provider=provider,
            status=WaitlistOffer.Status.OFFERED,
            start__lt=end + before,
            start__gt=start - after - timedelta(days=1),  # no session is a day long
        )
        .exclude(entry__client=client)  # their own offer is the one being claimed
        .order_by()
        .values_list("pk", "start", "entry__appointment_type__duration_minutes")
    )
    gone = [
        pk
        for pk, offered, minutes in candidates
        if offered + timedelta(minutes=minutes) > start - after
    ]
    return WaitlistOffer.objects.filter(pk__in=gone, status=WaitlistOffer.Status.OFFERED).update(
        status=WaitlistOffer.Status.LOST, closed_at=now or timezone.now()
    )


def hours_changed(sender, instance, **kwargs) -> None:
    """
    Changed hours may close time and may open it. Every live offer of the provider is checked
    again by the worker (one that no longer fits ends, and its link says so), and new hours
    (or a day off taken back) open time: weekly hours anywhere in the horizon, a date override
    on its own date. Receivers of the model's own signals, so the admin, a command and the
    shell all count, in the transaction of the change.
    """
    provider = Provider.objects.get(pk=instance.provider_id)
    if not provider.waitlist_enabled:
        return
    recheck_offers.enqueue(provider.pk)
    day = getattr(instance, "date", None)
    if day is not None and instance.start is None and "created" in kwargs:
        return  # a day off saved closes the date; only taking it back (a delete) opens it
    now = timezone.now()
    if day is None:
        start, end = now, now + timedelta(days=provider.horizon_days)
    else:
        zone = provider.zone
        start = datetime.combine(day, time.min, tzinfo=zone)
        end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    time_opened(provider, start, end, "hours", now)

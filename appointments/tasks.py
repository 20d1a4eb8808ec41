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
from appointments.slots import Interval
from portal.models import User


@task
def offer_opening(opening_id: int) -> int:
    """Offer the opened time to the entries it suits; returns how many offers were made."""
    from appointments import waitlist  # the waitlist's services import the booking services

    return waitlist.make_offers(opening_id)


@task
def offer_openings(opening_ids: list[int]) -> int:
    """offer_opening for several openings of one change (a series ended): one task for all."""
    from appointments import waitlist

    return sum(waitlist.make_offers(opening_id) for opening_id in opening_ids)


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


def times_opened(
    provider: Provider, intervals: list[Interval], cause: str, now: datetime | None = None
) -> list[WaitlistOpening]:
    """time_opened for many stretches of one change: one insert and one task, however many."""
    if not provider.waitlist_enabled or not intervals:
        return []
    now = now or timezone.now()
    with transaction.atomic(savepoint=False):
        openings = WaitlistOpening.objects.bulk_create(
            WaitlistOpening(provider=provider, start=start, end=end, cause=cause, opened_at=now)
            for start, end in intervals
        )
        offer_openings.enqueue([opening.pk for opening in openings])
    return openings


def time_taken(
    provider: Provider, start: datetime, end: datetime, client: User, now: datetime | None = None
) -> int:
    """
    `client` just booked (or moved into) [start, end) of the provider's schedule: every other
    client's offer whose session would now clash with it, the provider's buffers counted as
    the slot engine counts them, can no longer be had. Closed in the change's transaction, so
    no card offers a time that is gone. Returns how many.
    """
    return times_taken(provider, [(start, end)], client, now)


def times_taken(
    provider: Provider, intervals: list[Interval], client: User, now: datetime | None = None
) -> int:
    """time_taken for every stretch one change took (a series): two queries, however many."""
    if not provider.waitlist_enabled or not intervals:
        return 0
    before, after = provider.buffer_before, provider.buffer_after
    first = min(start for start, _ in intervals)
    last = max(end for _, end in intervals)
    candidates = (
        WaitlistOffer.objects.filter(
            entry__provider=provider,
            status=WaitlistOffer.Status.OFFERED,
            start__lt=last + before,
            start__gt=first - after - timedelta(days=1),  # no session is a day long
        )
        .exclude(entry__client=client)  # their own offer is the one being claimed
        .order_by()
        .values_list("pk", "start", "entry__appointment_type__duration_minutes")
    )
    gone = [
        pk
        for pk, offered, minutes in candidates
        if any(
            offered < end + before and offered + timedelta(minutes=minutes) > start - after
            for start, end in intervals
        )
    ]
    if not gone:
        return 0
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

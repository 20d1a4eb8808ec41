"""
The waitlist: entries clients keep, the offers the worker makes when time opens, and claiming
one. Matching itself is the pure `appointments.matching`; this module reads what it needs in a
fixed number of queries and writes what it decides. Claims go through the booking services.
"""

import secrets
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from appointments import selectors, services
from appointments.matching import Schedule, Wish, match
from appointments.models import (
    LONGEST_SESSION,
    Appointment,
    AppointmentType,
    Provider,
    WaitlistEntry,
    WaitlistMode,
    WaitlistOffer,
    WaitlistOpening,
)
from appointments.tasks import end_offer_hold, time_opened
from policies.decisions import Action
from portal.formatting import when
from portal.mail import queue_email
from portal.models import User

# A freed stretch can make room for a start up to the longest session before it.
ONE_INSTANT = timedelta(microseconds=1)


class WaitlistError(Exception):
    """A waitlist change that cannot be made; the message is written for the client."""


class OfferEnded(WaitlistError):
    def __init__(self, message: str = "This offer has ended: the time is no longer held for you."):
        super().__init__(message)


class OfferTaken(OfferEnded):
    """Someone else booked the offered time first; the entry stays on the waitlist."""

    def __init__(self) -> None:
        super().__init__("Someone else took this time first.")


# --- Reads ------------------------------------------------------------------------------------


def client_entries(client: User) -> QuerySet[WaitlistEntry]:
    return (
        WaitlistEntry.objects.filter(client=client, status=WaitlistEntry.Status.ACTIVE)
        .select_related("provider", "appointment_type", "move_up")
        .order_by("joined_at", "pk")
    )


def get_entry_for_client(client: User, pk: int) -> WaitlistEntry:
    """The client's own active entry; anyone else's is a 404."""
    return get_object_or_404(client_entries(client), pk=pk)


def active_entry(client: User, provider: Provider, kind: AppointmentType) -> WaitlistEntry | None:
    return client_entries(client).filter(provider=provider, appointment_type=kind).first()


def current_entries(client: User, now: datetime) -> QuerySet[WaitlistEntry]:
    """
    The entries the client sees: one past its last date is over for them (the next opening
    ends it for good). selectors.overview_facts asks the same in SQL.
    """
    return client_entries(client).filter(
        Q(not_after__isnull=True) | Q(not_after__gte=today_for(client, now))
    )


def live_offers(now: datetime) -> QuerySet[WaitlistOffer]:
    """Offers a client can still take: made, not yet taken, the time ahead, the hold not over."""
    return WaitlistOffer.objects.filter(status=WaitlistOffer.Status.OFFERED, start__gt=now).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )


def current_entries_with_offers(client: User, now: datetime) -> list[WaitlistEntry]:
    """
    The client's current entries, each with its provider, type and the appointment it would
    move up, and its live offers soonest first as `live`: two queries. (On the overview,
    appointments.sql.client_waitlist reads the same in one.)
    """
    entries = list(current_entries(client, now))
    for entry in entries:
        entry.live = []
    by_pk = {entry.pk: entry for entry in entries}
    if by_pk:
        for offer in live_offers(now).filter(entry__in=by_pk).order_by("start", "pk"):
            offer.entry = by_pk[offer.entry_id]
            offer.entry.live.append(offer)
    return entries


def client_waitlist(
    client: User, now: datetime, entries: list[WaitlistEntry] | None = None
) -> dict:
    """
    The client's active entries, and the offers they can still take, soonest first; from
    `entries` when they were read already (each with `live`).
    """
    if entries is None:
        entries = current_entries_with_offers(client, now)
    offers = [
        offer
        for entry in entries
        for offer in entry.live
        # Inside the minimum notice the time can no longer be booked: not worth a card.
        if offer.start >= now + entry.provider.min_notice
    ]
    offers.sort(key=lambda offer: (offer.start, offer.pk))
    return {"entries": entries, "offers": offers}


def get_offer_for_client(client: User, token: str) -> WaitlistOffer:
    """An offer made to this client, in any state; anyone else's is a 404."""
    queryset = WaitlistOffer.objects.select_related(
        "entry__provider", "entry__appointment_type", "entry__move_up", "entry__client"
    )
    return get_object_or_404(queryset, token=token, entry__client=client)


def waitlist_open_for(provider: Provider, kind: AppointmentType) -> bool:
    return provider.waitlist_enabled and kind.waitlist_enabled


# --- Matching ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Where starts made bookable by an opening can lie (a superset: the matcher narrows it)."""

    start: datetime
    end: datetime
    exact: bool  # a hold that ended re-offers exactly its own start


def opening_window(opening: WaitlistOpening, provider: Provider) -> Window:
    if opening.cause == WaitlistOpening.Cause.HOLD_ENDED:
        return Window(opening.start, opening.start + ONE_INSTANT, True)
    reach = LONGEST_SESSION + provider.buffer_before + provider.buffer_after
    return Window(opening.start - reach, opening.end + reach, False)


def today_for(client: User, now: datetime) -> date:
    return now.astimezone(client.zone).date()


def find_matches(
    provider: Provider, opening: WaitlistOpening, now: datetime
) -> tuple[list[tuple[WaitlistEntry, datetime]], list[int]]:
    """
    The entries a start in `window` suits, each with its earliest, in join order; and the
    entries whose time has passed. A fixed number of queries whatever the number of entries:
    entries, hours, overrides, the provider's busy times, the clients' busy times, and what
    was offered already.
    """
    window = opening_window(opening, provider)
    entries = list(
        WaitlistEntry.objects.filter(
            provider=provider,
            status=WaitlistEntry.Status.ACTIVE,
            appointment_type__waitlist_enabled=True,
            appointment_type__is_active=True,
            appointment_type__bookable_online=True,
        )
        .select_related("client", "appointment_type", "move_up")
        .order_by("joined_at", "pk")
    )
    passed = [
        e.pk
        for e in entries
        if (e.not_after is not None and e.not_after < today_for(e.client, now))
        or (e.move_up is not None and e.move_up.status != Appointment.Status.SCHEDULED)
    ]
    entries = [e for e in entries if e.pk not in passed]
    if not entries:
        return [], passed
    rules = provider.booking_rules
    zone = provider.zone
    reach = LONGEST_SESSION + rules.buffer_before + rules.buffer_after
    busy_from, busy_to = window.start - reach, window.end + reach
    weekly, overrides = selectors.provider_hours(
        provider,
        window.start.astimezone(zone).date() - timedelta(days=1),
        window.end.astimezone(zone).date() + timedelta(days=1),
    )
    busy = selectors.busy_intervals(provider.appointments.all(), busy_from, busy_to, None)
    client_busy: dict[int, list] = defaultdict(list)
    rows = (
        Appointment.objects.active()
        .filter(client_id__in={e.client_id for e in entries})
        .overlapping(busy_from, busy_to)
        .values_list("client_id", "start", "end")
    )
    for client_id, start, end in rows:
        client_busy[client_id].append((start, end))
    # What each client was offered already, by any of their entries: a start is offered to a
    # client once, so a time that reopens (a hold that ended) does not reach them again through
    # their other entry.
    offered: dict[int, set[datetime]] = defaultdict(set)
    for client_id, start in WaitlistOffer.objects.filter(
        entry__provider=provider,
        entry__client_id__in={e.client_id for e in entries},
        start__gte=window.start,
        start__lt=window.end,
    ).values_list("entry__client_id", "start"):
        offered[client_id].add(start)
    schedule = Schedule(rules, zone, weekly, overrides, busy)
    by_id = {e.pk: e for e in entries}
    wishes = [wish_of(e, client_busy[e.client_id], offered[e.client_id], now) for e in entries]
    freed = (opening.start, opening.end)
    found = match(schedule, wishes, now=now, freed=freed, exact=window.exact)
    return [(by_id[wish.entry_id], start) for wish, start in found], passed


def wish_of(entry: WaitlistEntry, client_busy, offered, now: datetime) -> Wish:
    moving = entry.move_up
    zone = entry.client.zone
    return Wish(
        entry_id=entry.pk,
        duration=entry.appointment_type.duration,
        zone=zone,
        weekdays=frozenset(entry.weekdays or ()),
        parts=frozenset(entry.parts or ()),
        not_after=entry.not_after,
        client_busy=client_busy,
        moving=(moving.start, moving.end) if moving else None,
        may_move=bool(moving and moving.decide(Action.RESCHEDULE, now, zone).allowed),
        offered=frozenset(offered),
    )


def make_offers(opening_id: int, now: datetime | None = None) -> int:
    """
    Offer an opening to the entries it suits: to all of them at once, or (one-at-a-time mode)
    each start to the entry that joined first, held for the provider's hold.
    """
    now = now or timezone.now()
    opening = WaitlistOpening.objects.select_related("provider").filter(pk=opening_id).first()
    if opening is None:
        return 0
    with transaction.atomic():
        # One offer run per provider at a time: two runs never hold one start twice.
        provider = Provider.objects.select_for_update().get(pk=opening.provider_id)
        if not provider.waitlist_enabled:
            return 0
        # Once per opening: run again, the task offers nothing more (the matcher would offer
        # each entry its next-best start, a second offer for one freed time).
        if not WaitlistOpening.objects.filter(pk=opening.pk, offered_at__isnull=True).update(
            offered_at=now
        ):
            return 0
        window = opening_window(opening, provider)
        matches, passed = find_matches(provider, opening, now)
        matches = first_per_client(matches)
        if passed:
            WaitlistEntry.objects.filter(pk__in=passed, status="active").update(
                status=WaitlistEntry.Status.ENDED,
                ended_reason=WaitlistEntry.Ended.PASSED,
                ended_at=now,
            )
        expires_at = None
        if provider.waitlist_mode == WaitlistMode.ONE:
            expires_at = now + timedelta(minutes=provider.waitlist_hold_minutes)
            held = set(
                WaitlistOffer.objects.filter(
                    entry__provider=provider,
                    status=WaitlistOffer.Status.OFFERED,
                    expires_at__gt=now,
                    start__gte=window.start,
                    start__lt=window.end,
                ).values_list("start", flat=True)
            )
            first_per_start = []
            for entry, start in matches:  # in join order: the first to join holds it
                if start not in held:
                    held.add(start)
                    first_per_start.append((entry, start))
            matches = first_per_start
        offers = WaitlistOffer.objects.bulk_create(
            WaitlistOffer(
                entry=entry,
                opening=opening,
                start=start,
                token=secrets.token_urlsafe(32),
                created_at=now,
                expires_at=expires_at,
            )
            for entry, start in matches
        )
        for offer in offers:
            queue_offer_email(offer, provider)
            if offer.expires_at is not None:
                end_offer_hold.using(run_after=offer.expires_at).enqueue(offer.pk)
    return len(offers)


def first_per_client(
    matches: list[tuple[WaitlistEntry, datetime]],
) -> list[tuple[WaitlistEntry, datetime]]:
    """
    One offer to a client for one freed time. A client can wait for a type and for an earlier
    time for an appointment with the same provider; both may suit, and two emails about one
    time would leave them guessing which is which. The entry that joined first has it (matches
    come in join order); the other waits for the next time that opens.
    """
    seen: set[int] = set()
    first = []
    for entry, start in matches:
        if entry.client_id not in seen:
            seen.add(entry.client_id)
            first.append((entry, start))
    return first


def offer_email_key(offer: WaitlistOffer) -> uuid.UUID:
    """
    The Message-ID of the offer email to a client for one freed time. The Email table's unique
    key then refuses a second one, whatever the code before it did. The opening's instant
    keeps another database's opening with the same id from giving the same key.
    """
    opening = offer.opening
    return uuid.uuid5(
        uuid.NAMESPACE_URL,
        f"https://{settings.PORTAL_CALENDAR_DOMAIN}/waitlist-opening/{opening.pk}"
        f"/{opening.opened_at.isoformat()}/client/{offer.entry.client_id}",
    )


def queue_offer_email(offer: WaitlistOffer, provider: Provider) -> None:
    """
    No clinical detail (not the type): who with and when, on the client's clock, whether it
    would move their appointment earlier or book the time they wait for, and a link.
    """
    client = offer.entry.client
    move_up = offer.entry.move_up
    context = {
        "recipient": client,
        "provider_name": provider.display_name,
        "when": when(offer.start, client.zone),
        "hold_until": when(offer.expires_at, client.zone) if offer.expires_at else "",
        "moving": move_up is not None,
        "moving_from": when(move_up.start, client.zone) if move_up is not None else "",
        "url": settings.PORTAL_BASE_URL
        + reverse("appointments:waitlist-offer", args=[offer.token]),
        "portal_name": settings.PORTAL_NAME,
    }
    queue_email(
        "waitlist-offer",
        context,
        to=client.email,
        key=offer_email_key(offer),
        client_id=client.pk,
        practice_id=provider.pk,
        about=[f"appointments.waitlistoffer:{offer.pk}"],
    )


def hold_ended(offer_id: int, now: datetime | None = None) -> bool:
    """The hold of a one-at-a-time offer ran out: expire it and ask the next entry."""
    now = now or timezone.now()
    offer = WaitlistOffer.objects.select_related("entry__provider").filter(pk=offer_id).first()
    if offer is None or offer.expires_at is None or now < offer.expires_at:
        return False
    with transaction.atomic():
        # Conditional: a claim or a decline that came first wins.
        ended = WaitlistOffer.objects.filter(
            pk=offer.pk, status=WaitlistOffer.Status.OFFERED
        ).update(status=WaitlistOffer.Status.EXPIRED, closed_at=now)
        if ended:
            pass_on(offer, now)
    return bool(ended)


def pass_on(offer: WaitlistOffer, now: datetime) -> None:
    provider = offer.entry.provider
    time_opened(provider, offer.start, offer.start + ONE_INSTANT, "hold_ended", now)


# --- Writes by the client ----------------------------------------------------------------------


def entry_save(
    *,
    client: User,
    provider: Provider,
    appointment_type: AppointmentType,
    weekdays: list[int],
    parts: list[str],
    not_after: date | None,
    actor: User,
    move_up: Appointment | None = None,
    now: datetime | None = None,
) -> WaitlistEntry:
    """
    Join the waitlist, or change the client's one active entry for this provider and type.
    With `move_up`, offers move that appointment earlier, if its policy lets the client.
    """
    services.acting_as(actor, client_id=client.pk, provider=provider)
    now = now or timezone.now()
    if not waitlist_open_for(provider, appointment_type):
        raise WaitlistError(f"{provider.display_name} doesn't keep a waitlist for this.")
    if appointment_type.provider_id != provider.pk or not appointment_type.bookable_online:
        raise WaitlistError("That kind of appointment can't be booked online.")
    if not provider.clients.filter(pk=client.pk).exists():
        raise WaitlistError("You can only join the waitlist of providers on your care team.")
    if not_after is not None and not_after < today_for(client, now):
        raise WaitlistError("The last date that suits can't be in the past.")
    if move_up is not None:
        if move_up.client_id != client.pk or move_up.appointment_type_id != appointment_type.pk:
            raise WaitlistError("That appointment can't be moved up.")
        rule = move_up.decide(Action.RESCHEDULE, now, client.zone)
        if rule.refused:
            raise WaitlistError(rule.sentence)
        not_after = None  # earlier than the appointment is the limit
    with transaction.atomic():
        # One change to a client's waitlist at a time: two joins at once edit one entry.
        User.objects.select_for_update().only("pk").get(pk=client.pk)
        entry = active_entry(client, provider, appointment_type) or WaitlistEntry(
            client=client, provider=provider, appointment_type=appointment_type, joined_at=now
        )
        entry.weekdays = sorted(set(weekdays))
        entry.parts = [part for part in ("morning", "afternoon", "evening") if part in parts]
        entry.not_after = not_after
        entry.move_up = move_up
        entry.save()
    return entry


def entry_leave(*, entry: WaitlistEntry, actor: User, now: datetime | None = None) -> bool:
    """Leave the waitlist; its offers end with it. False when it had ended already."""
    services.acting_as(actor, client_id=entry.client_id, provider=entry.provider)
    now = now or timezone.now()
    with transaction.atomic():
        left = WaitlistEntry.objects.filter(pk=entry.pk, status=WaitlistEntry.Status.ACTIVE).update(
            status=WaitlistEntry.Status.ENDED, ended_reason="left", ended_at=now
        )
        open_offers = WaitlistOffer.objects.filter(entry=entry, status="offered")
        held = [o for o in open_offers.select_related("entry__provider") if o.expires_at]
        open_offers.update(status=WaitlistOffer.Status.DECLINED, closed_at=now)
        for offer in held:
            pass_on(offer, now)
    return bool(left)


def offer_decline(*, offer: WaitlistOffer, actor: User, now: datetime | None = None) -> bool:
    """Not this time: the entry stays; one at a time, the next client is asked at once."""
    if actor.pk != offer.entry.client_id:
        raise services.NotPermitted("Only the client an offer was made to can answer it.")
    now = now or timezone.now()
    with transaction.atomic():
        declined = WaitlistOffer.objects.filter(pk=offer.pk, status="offered").update(
            status=WaitlistOffer.Status.DECLINED, closed_at=now
        )
        if declined and offer.expires_at is not None:
            pass_on(offer, now)
    return bool(declined)


def offer_check(offer: WaitlistOffer, now: datetime) -> None:
    """
    Raise OfferEnded unless the offer is still the client's to take and its time bookable;
    a time taken or closed meanwhile expires the offer, so its link says so from then on.
    """
    entry = offer.entry
    if offer.status == WaitlistOffer.Status.LOST:
        raise OfferTaken()
    if not offer.is_live(now) or entry.status != WaitlistEntry.Status.ACTIVE:
        raise OfferEnded()
    if entry.move_up is not None and entry.move_up.status != Appointment.Status.SCHEDULED:
        raise OfferEnded("The appointment this offer would move is no longer scheduled.")
    if not selectors.is_open_slot(
        provider=entry.provider,
        appointment_type=entry.appointment_type,
        client=entry.client,
        start=offer.start,
        now=now,
        exclude_appointment=entry.move_up,
    ):
        expire(offer, now, WaitlistOffer.Status.EXPIRED)
        raise OfferEnded("This time is no longer available.")


def end_unbookable_offers(provider_id: int, now: datetime | None = None) -> int:
    """Each live offer of the provider checked as its link would be; returns how many ended."""
    now = now or timezone.now()
    offers = WaitlistOffer.objects.filter(
        entry__provider_id=provider_id, status=WaitlistOffer.Status.OFFERED
    ).select_related(
        "entry__provider", "entry__appointment_type", "entry__client", "entry__move_up"
    )
    ended = 0
    for offer in offers:
        try:
            offer_check(offer, now)
        except OfferEnded:
            ended += offer.status != WaitlistOffer.Status.OFFERED
    return ended


def expire(offer: WaitlistOffer, now: datetime, status: str) -> None:
    WaitlistOffer.objects.filter(pk=offer.pk, status="offered").update(status=status, closed_at=now)
    offer.status = status


def offer_claim(
    *,
    offer: WaitlistOffer,
    actor: User,
    accepted_fee=None,
    expected_terms: str | None = None,
    now: datetime | None = None,
) -> services.AppointmentChange:
    """
    Take the offered time: a booking, or for a move-up entry a reschedule, through the same
    services, locks and constraints as any other. Someone faster gets SlotUnavailable, and
    this entry stays on the waitlist. A booking binds only the terms the client was shown
    (`expected_terms`, as appointment_book); a move keeps the terms it was booked under.
    """
    entry = offer.entry
    if actor.pk != entry.client_id:
        raise services.NotPermitted("Only the client an offer was made to can take it.")
    now = now or timezone.now()
    if offer.status == WaitlistOffer.Status.LOST:
        raise OfferTaken()
    if not offer.is_live(now) or entry.status != WaitlistEntry.Status.ACTIVE:
        raise OfferEnded()
    try:
        with transaction.atomic():
            if entry.move_up is not None:
                change = services.appointment_reschedule(
                    appointment=entry.move_up,
                    actor=actor,
                    new_start=offer.start,
                    expected_start=entry.move_up.start,
                    accepted_fee=accepted_fee,
                    now=now,
                )
            else:
                booked = services.appointment_book(
                    client=actor,
                    provider=entry.provider,
                    appointment_type=entry.appointment_type,
                    start=offer.start,
                    booked_by=actor,
                    expected_terms=expected_terms,
                    now=now,
                )
                change = services.AppointmentChange(booked, None)
            claimed = WaitlistOffer.objects.filter(pk=offer.pk, status="offered").update(
                status=WaitlistOffer.Status.CLAIMED, closed_at=now, appointment=change.appointment
            )
            if not claimed:
                raise OfferEnded()  # declined or expired in another tab: the booking rolls back
            WaitlistEntry.objects.filter(pk=entry.pk).update(
                status=WaitlistEntry.Status.ENDED, ended_reason="booked", ended_at=now
            )
            # The same start offered to others is gone.
            WaitlistOffer.objects.filter(
                entry__provider=entry.provider, start=offer.start, status="offered"
            ).update(status=WaitlistOffer.Status.LOST, closed_at=now)
    except services.ScheduleBusy:
        raise
    except services.SlotUnavailable:
        expire(offer, now, WaitlistOffer.Status.LOST)
        raise
    offer.status = WaitlistOffer.Status.CLAIMED
    return change

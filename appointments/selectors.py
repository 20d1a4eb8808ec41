"""Reads: what a client may see and book. Each owned object is fetched through its owner."""

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from operator import itemgetter
from typing import TYPE_CHECKING, TypedDict
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    prefetch_related_objects,
)
from django.shortcuts import get_object_or_404

from appointments.models import (
    LONGEST_SESSION,
    Appointment,
    AppointmentEvent,
    AppointmentQuerySet,
    AppointmentSeries,
    AppointmentType,
    CareTeamInvitation,
    DateOverride,
    Fee,
    Policy,
    Provider,
    WeeklyHours,
)
from appointments.recurrence import Repeat
from appointments.slots import Hours, Interval, bookable_starts
from appointments.sql import (
    BookingFacts,
    OverviewFacts,
    OverviewLists,
    ScheduleFacts,
    schedule_facts,
)
from policies.decisions import Action, Decision, Outcome
from policies.terms import Money, PolicyTerms
from portal.formatting import format_date, minutes, time_range, when
from portal.models import User

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class FeeFlag(TypedDict):
    has_fees: bool


def pending_invitations(client: User, now: datetime) -> QuerySet[CareTeamInvitation]:
    """Invitations to the client's address still open to an answer; none for staff."""
    if client.is_staff or client.is_superuser:
        return CareTeamInvitation.objects.none()
    return (
        CareTeamInvitation.objects.filter(
            email=client.email,
            status=CareTeamInvitation.Status.PENDING,
            created_at__gt=now - settings.INVITATION_MAX_AGE,
        )
        .select_related("provider")
        .order_by("created_at")
    )


def overview_facts_defined(client: User, now: datetime) -> OverviewFacts:
    """What appointments.sql.overview_facts answers in one statement, by each part's rule."""
    from appointments.waitlist import current_entries  # it reads these selectors

    return OverviewFacts(
        invitations=pending_invitations(client, now).exists(),
        fees=client_fees(client).exists(),
        can_book=care_team_providers(client).exists(),
        waitlist=current_entries(client, now).exists(),
    )


def get_invitation_for_client(client: User, pk: int, now: datetime) -> CareTeamInvitation:
    """An open invitation to the client's own address; anyone else's is a 404."""
    return get_object_or_404(pending_invitations(client, now), pk=pk)


def care_team_providers(client: User) -> QuerySet[Provider]:
    return Provider.objects.filter(careteammember__client=client).order_by("display_name")


def get_provider_for_client(client: User, provider_id: int) -> Provider:
    """A provider on the client's care team; anyone else's is a 404."""
    return get_object_or_404(care_team_providers(client), pk=provider_id)


# An appointment type a client may book online.
BOOKABLE = Q(is_active=True, bookable_online=True)


def bookable_types(provider: Provider) -> QuerySet[AppointmentType]:
    return provider.appointment_types.filter(BOOKABLE).order_by("name")


def policy_in_force(provider: Provider, appointment_type: AppointmentType) -> Policy | None:
    """The policy a new booking is made under: the type's own, else the provider's (no type)."""
    return (
        Policy.objects.filter(provider=provider)
        .filter(Q(appointment_type=appointment_type) | Q(appointment_type__isnull=True))
        .order_by(F("appointment_type").asc(nulls_last=True))
        .first()
    )


def terms_of(policy: Policy | None) -> PolicyTerms:
    """A policy's terms; with no policy at all, the defaults."""
    return policy.terms() if policy else PolicyTerms()


def terms_in_force(provider: Provider, appointment_type: AppointmentType) -> PolicyTerms:
    """policy_in_force's terms."""
    return terms_of(policy_in_force(provider, appointment_type))


def booking_facts_defined(
    client: User, provider: Provider, appointment_type: AppointmentType
) -> BookingFacts:
    """What appointments.sql.booking_facts answers in one statement, by the rules' definitions."""
    return BookingFacts(
        on_care_team=care_team_providers(client).filter(pk=provider.pk).exists(),
        type_bookable=bookable_types(provider).filter(pk=appointment_type.pk).exists(),
        policy=policy_in_force(provider, appointment_type),
    )


def get_bookable_type_for_client(client: User, provider_id: int, type_id: int) -> AppointmentType:
    """
    A type the client can book online (BOOKABLE) from a provider on their care team, with its
    provider (`.provider`); a 404 when the provider is not on their care team or the type is
    not theirs to book.
    """
    types = AppointmentType.objects.filter(
        BOOKABLE, provider__in=care_team_providers(client).values("pk")
    )
    return get_object_or_404(types.select_related("provider"), pk=type_id, provider=provider_id)


def get_appointment_for_client(client: User, pk: int) -> Appointment:
    """The client's own appointment; another client's is a 404, never a 403."""
    queryset = Appointment.objects.select_related("provider", "appointment_type")
    return get_object_or_404(queryset, pk=pk, client=client)


def get_series_for_client(client: User, pk: int) -> AppointmentSeries:
    """The client's own series; another client's is a 404, never a 403."""
    queryset = AppointmentSeries.objects.select_related("provider", "appointment_type")
    return get_object_or_404(queryset, pk=pk, client=client)


def series_words(appointment: Appointment) -> str:
    """
    A session's place in its series as its card says it: "Every week · session 3 of 10".
    From the series' rule alone (its `series` read with it), no query of the other sessions.
    A series that continues another (its time changed) counts from its own first session, so
    it names only its rule.
    """
    series = appointment.series
    assert series is not None
    # "Every week", "Every 2 weeks", "Every month": the rule's name without its weekday part.
    words = Repeat(series.repeat).label.partition(",")[0]
    if series.previous_id is not None:
        return words
    day = (appointment.occurrence or appointment.start).astimezone(series.zone).date()
    words += f" · session {len(series.dates(through=day))}"
    if series.is_open_ended and series.stopped_from is None:
        return words
    return f"{words} of {len(series.dates())}"


def upcoming_appointments(
    client: User, now: datetime
) -> "QuerySet[WithAnnotations[Appointment, FeeFlag]]":
    """Soonest first; `has_fees` says which carry a fee (a late reschedule's, say)."""
    return (
        Appointment.objects.active()
        # No session is longer than LONGEST_SESSION: the bound on start lets the (client,
        # start) index begin at now rather than at the client's first appointment ever.
        .filter(client=client, end__gt=now, start__gt=now - LONGEST_SESSION)
        .select_related("provider", "appointment_type")
        .annotate(has_fees=Exists(Fee.objects.filter(appointment=OuterRef("pk"))))
        .order_by("start", "pk")
    )


@dataclass(frozen=True)
class CardFace:
    """
    Everything a card shows, as plain values: the template draws its markup (`_card.html`,
    through `{% card %}`) from these alone, and keeps the drawing for each face. The words of
    its dates are worked out only when it is drawn: a card drawn before costs none.
    """

    pk: int
    is_past: bool
    start: datetime
    end: datetime
    zone: ZoneInfo
    what: str
    who: str
    modality: str
    video_link: str
    address: str
    # An upcoming card's: (outcome, sentence) lines, its fees in words, why the policy
    # refuses cancelling or moving it ("" when it allows), and whether to offer the waitlist.
    rules: tuple[tuple[str, str], ...] = ()
    fees: tuple[str, ...] = ()
    cancel_refused: str = ""
    reschedule_refused: str = ""
    move_up: bool = False
    # A session of a series: its rule and place ("Every week · session 3 of 10"), else "";
    # its calendar file is the series' (one entry for every session).
    series: str = ""
    series_id: int | None = None

    @cached_property
    def when(self) -> dict[str, str]:
        """One date format for the start and one for the end."""
        start = self.start.astimezone(self.zone)
        month, day, weekday, date_words, start_time, abbr = format_date(
            start, "M|j|D|l j F|g:i A|T"
        ).split("|")
        return {
            "month": month,
            "day": day,
            "weekday": weekday,
            "heading": f"{date_words}, {time_range(self.start, self.end, self.zone)}",
            "abbr": abbr,
            "zone": self.zone.key.replace("_", " "),
            # What a screen reader hears after each link's name, and the menu's label.
            "label": f"{date_words}, {start_time}",
        }


@dataclass(frozen=True)
class Card:
    """
    An appointment as its card shows it, its words worked out once here rather than through
    a dozen template filters per card. An upcoming card also carries what its policy allows
    right now.
    """

    appointment: Appointment
    zone: ZoneInfo
    cancel: Decision | None = None
    reschedule: Decision | None = None
    fees: tuple[Fee, ...] = ()

    @property
    def is_past(self) -> bool:
        return self.cancel is None

    @cached_property
    def face(self) -> CardFace:
        appointment, kind = self.appointment, self.appointment.appointment_type
        face = CardFace(
            pk=appointment.pk,
            is_past=self.is_past,
            start=appointment.start,
            end=appointment.end,
            zone=self.zone,
            what=self.what,
            who=appointment.provider.full_name,
            modality=kind.modality,
            video_link=kind.video_link,
            address=kind.address,
        )
        cancel, move = self.cancel, self.reschedule
        if cancel is None or move is None:
            return face
        return replace(
            face,
            rules=tuple(self.rules),
            fees=tuple(
                f"{fee.get_kind_display()} fee: {fee.money} ({fee.get_status_display().lower()})"
                for fee in self.fees
            ),
            cancel_refused=cancel.reason if cancel.refused else "",
            reschedule_refused=move.reason if move.refused else "",
            move_up=(
                move.allowed and appointment.provider.waitlist_enabled and kind.waitlist_enabled
            ),
            series=series_words(appointment) if appointment.series_id else "",
            series_id=appointment.series_id,
        )

    @cached_property
    def what(self) -> str:
        appointment = self.appointment
        words = f"{appointment.appointment_type.name} · {minutes(appointment.duration)} min"
        if self.is_past and appointment.status != Appointment.Status.COMPLETED:
            words += f" · {appointment.get_status_display()}"
        return words

    @property
    def rules(self) -> list[tuple[str, str]]:
        """
        (outcome, sentence) for the card: one line when cancelling and moving end together
        and free, else each rule on its own line.
        """
        cancel, move = self.cancel, self.reschedule
        if cancel is None or move is None:
            return []
        free = {Outcome.FREE, Outcome.GRACE}
        both_free = cancel.outcome in free and move.outcome in free
        if both_free and cancel.deadline is not None and cancel.deadline == move.deadline:
            until = when(cancel.deadline, self.zone)
            return [(cancel.outcome, f"Free to cancel or reschedule until {until}")]
        return [(cancel.outcome, cancel.reason), (move.outcome, move.reason)]


def upcoming_cards(
    appointments: "list[WithAnnotations[Appointment, FeeFlag]]", zone: ZoneInfo, now: datetime
) -> list[Card]:
    """
    Cards for upcoming appointments (from `upcoming_appointments`), each with what its policy
    allows at `now`; the fees of those that have any are read in one query.
    """
    charged = [each for each in appointments if each.has_fees]
    prefetch_related_objects(charged, "fees")
    # The series of those in one, in one query (none when no card is of a series).
    prefetch_related_objects([each for each in appointments if each.series_id], "series")
    charged_pks = {each.pk for each in charged}
    return [
        Card(
            appointment,
            zone,
            appointment.decide(Action.CANCEL, now, zone),
            appointment.decide(Action.RESCHEDULE, now, zone),
            tuple(appointment.fees.all()) if appointment.pk in charged_pks else (),
        )
        for appointment in appointments
    ]


def overview_lists_defined(
    client: User, now: datetime, *, upcoming: int, past: int, cancelled: int
) -> OverviewLists:
    """What appointments.sql.overview_lists answers in one statement, by each list's rule."""
    next_few = list(upcoming_appointments(client, now)[: upcoming + 1])
    past_few = list(past_appointments(client, now)[: past + 1])
    cancelled_few = list(cancelled_appointments(client)[: cancelled + 1])
    return OverviewLists(
        next_few[:upcoming],
        len(next_few) > upcoming,
        past_few[:past],
        len(past_few) > past,
        cancelled_few[:cancelled],
        len(cancelled_few) > cancelled,
    )


def upcoming_last_defined(
    client: User, now: datetime, count: int
) -> "tuple[list[WithAnnotations[Appointment, FeeFlag]], bool]":
    """What appointments.sql.upcoming_last answers, by upcoming_appointments' rule."""
    last = list(upcoming_appointments(client, now).reverse()[: count + 1])
    return last[:count][::-1], len(last) > count


def past_cards(appointments: Iterable[Appointment], zone: ZoneInfo) -> list[Card]:
    return [Card(appointment, zone) for appointment in appointments]


def past_appointments(client: User, now: datetime) -> QuerySet[Appointment]:
    # Cancelled appointments are gone from the schedule; what happened stays in the past list.
    return (
        # start before now follows from end at or before it; stated, the index read newest
        # first begins at now, not at the client's last appointment booked ahead.
        Appointment.objects.filter(client=client, end__lte=now, start__lt=now)
        .exclude(status=Appointment.Status.CANCELLED)
        .select_related("provider", "appointment_type")
        .order_by("-start", "-pk")
    )


def cancelled_appointments(client: User) -> QuerySet[Appointment]:
    """What was cancelled, newest first: gone from the schedule, kept for the client to see."""
    return (
        Appointment.objects.filter(client=client, status=Appointment.Status.CANCELLED)
        .select_related("provider", "appointment_type")
        .order_by("-start", "-pk")
    )


@dataclass(frozen=True)
class Step:
    """One line of an appointment's story as its client reads it."""

    at: datetime
    title: str
    detail: str = ""


def appointment_story(appointment: Appointment, client: User) -> list[Step]:
    """
    What happened to the appointment, in the client's zone: who did each thing is "you" or
    "the practice", never a staff member's name.
    """
    zone = client.zone

    def who(event: AppointmentEvent) -> str:
        return "by you" if event.actor_id == client.pk else "by the practice"

    def money(event: AppointmentEvent) -> str:
        details = event.details or {}
        return str(Money(Decimal(details.get("amount", "0")), details.get("currency", "")))

    steps = []
    for event in appointment.events.all():
        Kind = AppointmentEvent.Kind
        if event.kind == Kind.BOOKED:
            start = event.new_start or appointment.start
            step = Step(event.at, f"Booked {who(event)}", f"For {when(start, zone)}")
        elif event.kind == Kind.RESCHEDULED:
            old, new = event.old_start or appointment.start, event.new_start or appointment.start
            moved = f"From {when(old, zone)} to {when(new, zone)}"
            step = Step(event.at, f"Moved {who(event)}", moved)
        elif event.kind == Kind.CANCELLED:
            reason = f"Reason: {event.reason}" if event.reason else ""
            step = Step(event.at, f"Cancelled {who(event)}", reason)
        elif event.kind == Kind.FEE_APPLIED:
            kind = Fee.Kind(event.details.get("kind", Fee.Kind.LATE_CANCEL)).label.lower()
            step = Step(event.at, f"A {money(event)} {kind} fee was applied")
        elif event.kind == Kind.FEE_WAIVED:
            step = Step(event.at, f"The {money(event)} fee was waived by the practice")
        elif event.kind == Kind.FEE_PAID:
            step = Step(event.at, f"The {money(event)} fee was marked paid")
        elif event.kind == Kind.COMPLETED:
            step = Step(event.at, "The session took place")
        else:
            step = Step(event.at, "Marked as missed by the practice")
        steps.append(step)
    return steps


def provider_hours(
    provider: Provider, first_day: date, last_day: date
) -> tuple[dict[int, list[Hours]], dict[date, list[Hours]]]:
    weekly: dict[int, list[Hours]] = defaultdict(list)
    for row in WeeklyHours.objects.filter(provider=provider).order_by("weekday", "start"):
        weekly[row.weekday].append(Hours(row.start, row.end))
    overrides: dict[date, list[Hours]] = defaultdict(list)
    rows = DateOverride.objects.filter(provider=provider, date__range=(first_day, last_day))
    for override in rows.order_by("date", "start"):
        overrides[override.date]  # a row without times still marks the date: a day off
        if override.start is not None and override.end is not None:
            overrides[override.date].append(Hours(override.start, override.end))
    return dict(weekly), dict(overrides)


def _busy(
    queryset: AppointmentQuerySet, start: datetime, end: datetime, exclude_pk: int | None
) -> AppointmentQuerySet:
    rows = queryset.active().overlapping(start, end)
    return rows if exclude_pk is None else rows.exclude(pk=exclude_pk)


def busy_intervals(
    queryset: AppointmentQuerySet, start: datetime, end: datetime, exclude_pk: int | None
) -> list[Interval]:
    return list(_busy(queryset, start, end, exclude_pk).values_list("start", "end"))


def schedule_facts_defined(
    *,
    provider: Provider,
    client: User,
    first_day: date,
    last_day: date,
    busy_from: datetime,
    busy_to: datetime,
    exclude_pk: int | None,
) -> ScheduleFacts:
    """What appointments.sql.schedule_facts answers in one statement, by each part's rule."""
    weekly, overrides = provider_hours(provider, first_day, last_day)
    return ScheduleFacts(
        weekly,
        overrides,
        sorted(busy_intervals(provider.appointments.all(), busy_from, busy_to, exclude_pk)),
        sorted(busy_intervals(client.appointments.all(), busy_from, busy_to, exclude_pk)),
    )


def open_slots(
    *,
    provider: Provider,
    appointment_type: AppointmentType,
    client: User,
    now: datetime,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    exclude_appointment: Appointment | None = None,
) -> list[datetime]:
    """
    The start times (UTC) this client can book now. `exclude_appointment` is the one being
    moved: its own current time does not count as busy.
    """
    rules = provider.booking_rules
    window_start = window_start or now
    window_end = window_end or now + rules.horizon + timedelta(seconds=1)
    zone = provider.zone
    # Busy times that could touch a slot in the window, buffers and durations included.
    reach = appointment_type.duration + rules.buffer_before + rules.buffer_after
    busy_from, busy_to = window_start - reach, window_end + reach
    schedule = schedule_facts(
        provider=provider,
        client=client,
        first_day=window_start.astimezone(zone).date() - timedelta(days=1),
        last_day=window_end.astimezone(zone).date() + timedelta(days=1),
        busy_from=busy_from,
        busy_to=busy_to,
        exclude_pk=exclude_appointment.pk if exclude_appointment else None,
    )
    return bookable_starts(
        rules=rules,
        zone=zone,
        weekly=schedule.weekly,
        overrides=schedule.overrides,
        busy=schedule.busy,
        client_busy=schedule.client_busy,
        duration=appointment_type.duration,
        now=now,
        window_start=window_start,
        window_end=window_end,
    )


class Clash(StrEnum):
    """Why a start wanted (a session of a series) cannot be booked."""

    CLOSED = "closed"  # outside the provider's hours, a day off, too soon or too far ahead
    TAKEN = "taken"  # the provider has another appointment then (buffers counted)
    CLIENT_BUSY = "client_busy"  # the client has another appointment then


def clashes_among(
    *,
    provider: Provider,
    appointment_type: AppointmentType,
    client: User,
    starts: Iterable[datetime],
    now: datetime,
    excluding: Iterable[Interval] = (),
) -> dict[datetime, Clash]:
    """
    Which of `starts` cannot be booked, and why: the same rules as open_slots, read in one
    query however many starts and however far apart. `excluding`: the times of sessions being
    moved, which are not busy for their new times (no two scheduled appointments of a provider,
    or of a client, share a time, so a time names its session).
    """
    starts = sorted(starts)
    if not starts:
        return {}
    rules = provider.booking_rules
    zone = provider.zone
    reach = appointment_type.duration + rules.buffer_before + rules.buffer_after
    schedule = schedule_facts(
        provider=provider,
        client=client,
        first_day=starts[0].astimezone(zone).date() - timedelta(days=1),
        last_day=starts[-1].astimezone(zone).date() + timedelta(days=1),
        busy_from=starts[0] - reach,
        busy_to=starts[-1] + reach,
        exclude_pk=None,
    )
    moved = set(excluding)
    busy = sorted(interval for interval in schedule.busy if interval not in moved)
    client_busy = sorted(interval for interval in schedule.client_busy if interval not in moved)

    def near(intervals: list[Interval], start: datetime) -> list[Interval]:
        # Only the sessions that could touch this start: the engine merges what it is given.
        low = bisect_left(intervals, start - reach - LONGEST_SESSION, key=itemgetter(0))
        high = bisect_left(intervals, start + reach, key=itemgetter(0))
        return intervals[low:high]

    def bookable(start: datetime, provider_busy: list[Interval], own: list[Interval]) -> bool:
        return bookable_starts(
            rules=rules,
            zone=zone,
            weekly=schedule.weekly,
            overrides=schedule.overrides,
            busy=provider_busy,
            client_busy=own,
            duration=appointment_type.duration,
            now=now,
            window_start=start,
            window_end=start + timedelta(microseconds=1),
        ) == [start]

    found = {}
    for start in starts:
        provider_near, client_near = near(busy, start), near(client_busy, start)
        if bookable(start, provider_near, client_near):
            continue
        if not bookable(start, [], []):
            found[start] = Clash.CLOSED
        elif not bookable(start, provider_near, []):
            found[start] = Clash.TAKEN
        else:
            found[start] = Clash.CLIENT_BUSY
    return found


def is_open_slot(
    *,
    provider: Provider,
    appointment_type: AppointmentType,
    client: User,
    start: datetime,
    now: datetime,
    exclude_appointment: Appointment | None = None,
) -> bool:
    slots = open_slots(
        provider=provider,
        appointment_type=appointment_type,
        client=client,
        now=now,
        window_start=start,
        window_end=start + timedelta(microseconds=1),
        exclude_appointment=exclude_appointment,
    )
    return slots == [start]


def client_fees(client: User) -> QuerySet[Fee]:
    return (
        Fee.objects.of_client(client)
        .select_related("appointment__provider")
        .order_by("-created_at", "-pk")
    )


@dataclass(frozen=True)
class FeeTotal:
    status: str
    total: Money
    count: int

    @property
    def label(self) -> str:
        return Fee.Status(self.status).label


def fee_totals(client: User) -> list[FeeTotal]:
    """What the client's fees come to, by status (pending first) and currency, in one query."""
    rows = (
        Fee.objects.of_client(client)
        .order_by()
        .values_list("status", "currency")
        .annotate(total=Sum("amount"), count=Count("pk"))
    )
    cent = Decimal(1).scaleb(-Fee._meta.get_field("amount").decimal_places)
    order = list(Fee.Status)
    totals = [
        FeeTotal(status, Money(total.quantize(cent), currency), count)
        for status, currency, total, count in rows
    ]
    return sorted(
        totals, key=lambda total: (order.index(Fee.Status(total.status)), total.total.currency)
    )

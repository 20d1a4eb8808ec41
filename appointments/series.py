"""
Recurring series: booking one, ending it from a session on, and the practice's changes (end it
from a date, change its time from a date, skip a date). Each is one transaction under the same
locks as a single booking; each session is an ordinary appointment, decided under its own
frozen terms at its own deadline. A change to many sessions costs a fixed number of queries,
however many sessions it touches.
"""

import hashlib
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import F, Q
from django.utils import timezone

from appointments import selectors
from appointments.models import (
    Appointment,
    AppointmentEvent,
    AppointmentSeries,
    AppointmentType,
    Fee,
    Provider,
    SeriesChange,
)
from appointments.recurrence import (
    LONGEST_GAP,
    MAX_SESSIONS,
    MIN_SESSIONS,
    Repeat,
    occurrence,
    rule_dates,
)
from appointments.selectors import Clash
from appointments.series_emails import queue_series_emails
from appointments.services import (
    BookingError,
    ChangeError,
    NotBookable,
    PolicyRefused,
    TermsChanged,
    _locked_appointment,
    acting_as,
    fee_applied,
    lock_schedules,
    lock_to_book,
    practice_only,
    schedule_change,
)
from appointments.tasks import times_opened, times_taken
from policies.decisions import Action, Decision
from policies.terms import Money
from portal.formatting import DAY, format_date
from portal.models import User

CLASH_WORDS = {
    Clash.CLOSED: "outside the provider's hours",
    Clash.TAKEN: "already booked",
    Clash.CLIENT_BUSY: "another appointment of the client's",
}


class SeriesInvalid(BookingError):
    """A series that cannot be asked for as given (its end, its rule, its reach)."""


class SeriesClashes(BookingError):
    """
    Some dates of the series cannot be booked: nothing was saved. The person may book the
    series without them (`skip`) or pick another time.
    """

    def __init__(self, clashes: dict[date, Clash]):
        self.clashes = clashes
        listed = "; ".join(
            f"{format_date(day, DAY)} ({CLASH_WORDS[why]})" for day, why in sorted(clashes.items())
        )
        one = len(clashes) == 1
        super().__init__(
            f"{'This date is' if one else 'These dates are'} not free: {listed}. Nothing was "
            f"booked. Book the other dates without {'it' if one else 'them'}, or pick another "
            "time."
        )


@dataclass(frozen=True)
class SeriesEnd:
    """How a series ends: after `count` sessions, after `until`, or never (both None)."""

    count: int | None = None
    until: date | None = None

    def check(self, first: date) -> None:
        if self.count is not None and self.until is not None:
            raise SeriesInvalid("Give a number of sessions or a last date, not both.")
        if self.count is not None and not MIN_SESSIONS <= self.count <= MAX_SESSIONS:
            raise SeriesInvalid(
                f"A series has from {MIN_SESSIONS} to {MAX_SESSIONS} sessions; "
                f"{self.count} is not possible."
            )
        if self.until is not None and self.until <= first:
            raise SeriesInvalid(
                f"The last date ({format_date(self.until, DAY)}) must come after the first "
                f"session ({format_date(first, DAY)})."
            )


@dataclass(frozen=True)
class PlannedSession:
    day: date  # the rule's date, on the series' clock
    start: datetime  # the instant the rule gives it
    clash: Clash | None  # why it cannot be booked, if it cannot


@dataclass(frozen=True)
class SeriesPlan:
    """Every date a series would have, as of now: what a preview lists, before anything saved."""

    sessions: list[PlannedSession]

    @property
    def clashes(self) -> dict[date, Clash]:
        return {each.day: each.clash for each in self.sessions if each.clash is not None}

    @property
    def free(self) -> list[PlannedSession]:
        return [each for each in self.sessions if each.clash is None]


def horizon_day(provider: Provider, now: datetime, at: time, zone: ZoneInfo) -> date:
    """
    The last date whose session at `at` in `zone` starts within the provider's horizon: the
    slot engine's rule (a start at most `horizon_days` from now), so that a date a series plans
    is never one the clash check then finds beyond the horizon. On the horizon's own date that
    depends on the time: a 5 PM session fits when the horizon ends at 6 PM, not at 9 AM.
    """
    horizon = now + timedelta(days=provider.horizon_days)
    last = horizon.astimezone(zone).date()
    return last if occurrence(last, at, zone) <= horizon else last - timedelta(days=1)


def _series_dates(
    first_start: datetime, repeat: str, end: SeriesEnd, provider: Provider, now: datetime
) -> list[date]:
    """
    The dates a new series books now: all of them when it ends, those within the provider's
    horizon when it is open-ended. A series that ends past the horizon is refused.
    """
    if repeat not in Repeat.values:
        raise SeriesInvalid("Choose how often the sessions repeat from the list.")
    first = first_start.astimezone(provider.zone).date()
    end.check(first)
    last_bookable = horizon_day(
        provider, now, first_start.astimezone(provider.zone).time(), provider.zone
    )
    if end.count is None and end.until is None:
        return rule_dates(first, repeat, through=last_bookable)
    # Read no further than a date past the horizon: a series that reaches it is refused, and a
    # last date years away would otherwise be read date by date.
    reads_to = end.until and min(end.until, last_bookable + LONGEST_GAP)
    dates = rule_dates(first, repeat, count=end.count, until=reads_to)
    if len(dates) < MIN_SESSIONS:
        raise SeriesInvalid(
            f"Only one session falls on or before {format_date(end.until or first, DAY)}: "
            "that is a single booking, not a series."
        )
    if dates[-1] > last_bookable:
        ends = end.until if end.until is not None and reads_to != end.until else dates[-1]
        raise SeriesInvalid(
            f"{provider.display_name} takes bookings up to {provider.horizon_days} days ahead "
            f"(until {format_date(last_bookable, DAY)}); this series would end on "
            f"{format_date(ends, DAY)}. Choose "
            "fewer sessions or an earlier last date."
        )
    return dates


def plan_series(
    *,
    client: User,
    provider: Provider,
    appointment_type: AppointmentType,
    first_start: datetime,
    repeat: str,
    end: SeriesEnd,
    now: datetime | None = None,
) -> SeriesPlan:
    """The sessions a series would have and which cannot be booked, in one query for all."""
    if timezone.is_naive(first_start):
        raise ValueError("first_start must be an aware datetime")
    now = now or timezone.now()
    dates = _series_dates(first_start, repeat, end, provider, now)
    return _plan(client, provider, appointment_type, dates, first_start, now)


def _plan(client, provider, appointment_type, dates, first_start, now, excluding=(), zone=None):
    """Each date at `first_start`'s wall-clock time in `zone` (the provider's when new)."""
    zone = zone or provider.zone
    at = first_start.astimezone(zone).time()
    starts = {day: occurrence(day, at, zone) for day in dates}
    clashes = selectors.clashes_among(
        provider=provider,
        appointment_type=appointment_type,
        client=client,
        starts=starts.values(),
        now=now,
        excluding=excluding,
    )
    return SeriesPlan(
        [PlannedSession(day, start, clashes.get(start)) for day, start in starts.items()]
    )


def _free_or_refuse(plan: SeriesPlan, skip: Collection[date]) -> list[PlannedSession]:
    """The sessions to book: every free one; a clash not among `skip` refuses the whole."""
    unexpected = {day: why for day, why in plan.clashes.items() if day not in skip}
    if unexpected:
        raise SeriesClashes(unexpected)
    chosen = [each for each in plan.free if each.day not in skip]
    if not chosen:
        raise (
            SeriesClashes(plan.clashes)
            if plan.clashes
            else SeriesInvalid("Every date of this series was left out: nothing to book.")
        )
    return chosen


def _book_sessions(
    series: AppointmentSeries, sessions: Iterable[PlannedSession], actor: User, now: datetime
) -> list[Appointment]:
    """The sessions as appointments, with their history: three queries however many."""
    duration = series.appointment_type.duration
    appointments = Appointment.objects.bulk_create(
        Appointment(
            provider=series.provider,
            client=series.client,
            appointment_type=series.appointment_type,
            start=each.start,
            end=each.start + duration,
            booked_by=actor,
            created_at=now,
            policy_terms=series.policy_terms,
            series=series,
            occurrence=each.start,
        )
        for each in sessions
    )
    AppointmentEvent.objects.bulk_create(
        AppointmentEvent(
            appointment=appointment,
            kind=AppointmentEvent.Kind.BOOKED,
            actor=actor,
            at=now,
            new_start=appointment.start,
            details={"series": series.pk},
        )
        for appointment in appointments
    )
    times_taken(
        series.provider, [(each.start, each.end) for each in appointments], series.client, now
    )
    return appointments


@dataclass(frozen=True)
class SeriesBooked:
    series: AppointmentSeries
    sessions: list[Appointment]
    skipped: list[date]


def series_book(
    *,
    client: User,
    provider: Provider,
    appointment_type: AppointmentType,
    first_start: datetime,
    repeat: str,
    end: SeriesEnd,
    booked_by: User,
    skip: Collection[date] = (),
    expected_terms: str | None = None,
    now: datetime | None = None,
) -> SeriesBooked:
    """
    Book every session of a series, or none: each is checked like a single booking, under the
    same lock and constraint. Dates that clash raise SeriesClashes, unless the person chose to
    leave them out (`skip`). The client books for themselves on a type that allows series; the
    provider's practice books for them on any of the provider's types.
    """
    if timezone.is_naive(first_start):
        raise ValueError("first_start must be an aware datetime")
    who = acting_as(booked_by, client_id=client.pk, provider=provider)
    if who == "client" and not appointment_type.clients_may_repeat:
        raise NotBookable("This kind of appointment can't be booked as a series online.")
    now = now or timezone.now()
    dates = _series_dates(first_start, repeat, end, provider, now)
    with schedule_change():
        locked = lock_to_book(client=client, provider=provider, appointment_type=appointment_type)
        if not locked.on_care_team:
            raise NotBookable("You can only book with providers on your care team.")
        if who == "client" and not locked.type_bookable:
            raise NotBookable("That kind of appointment can't be booked online.")
        if expected_terms is not None and expected_terms != locked.terms.token:
            raise TermsChanged(locked.terms, shown=bool(expected_terms))
        provider = locked.provider
        plan = _plan(client, provider, appointment_type, dates, first_start, now)
        chosen = _free_or_refuse(plan, set(skip))
        zone = provider.zone
        series = AppointmentSeries.objects.create(
            provider=provider,
            client=client,
            appointment_type=appointment_type,
            repeat=repeat,
            time_zone=provider.time_zone,
            first_date=dates[0],
            start_time=first_start.astimezone(zone).time(),
            count=end.count,
            until=end.until,
            booked_through=dates[-1],
            policy_terms=locked.terms.as_json(),
            created_at=now,
            booked_by=booked_by,
        )
        sessions = _book_sessions(series, chosen, booked_by, now)
        skipped = sorted(set(dates) - {each.day for each in chosen})
        change = SeriesChange.objects.create(
            series=series,
            kind=SeriesChange.Kind.BOOKED,
            actor=booked_by,
            at=now,
            details={
                "booked": [each.start.isoformat() for each in sessions],
                "skipped": [day.isoformat() for day in skipped],
                "clashes": clash_details(plan.clashes, skipped),
            },
            ics_sequence=series.ics_sequence,
        )
        queue_series_emails(change)
    return SeriesBooked(series, sessions, skipped)


def continuing(series_id: int) -> list[int]:
    """The series and each that continues it after a change of time, in order: one query each."""
    chain = [series_id]
    while (
        after := AppointmentSeries.objects.filter(previous_id=chain[-1])
        .values_list("pk", flat=True)
        .first()
    ) is not None:
        chain.append(after)
    return chain


def following_sessions(
    appointment: Appointment, now: datetime, chain: list[int] | None = None
) -> list[Appointment]:
    """
    This session of a series and every one still to come after it by the rule's dates (where a
    moved session stays in its rule date's place, as calendars keep it), the sessions of the
    series that continue it after a change of time included; in order.
    """
    assert appointment.series_id is not None
    chain = chain or continuing(appointment.series_id)
    return list(
        Appointment.objects.active()
        .filter(
            Q(pk=appointment.pk)
            | Q(
                series_id=appointment.series_id,
                occurrence__gt=appointment.occurrence or appointment.start,
                start__gt=now,
            )
            | Q(series_id__in=chain[1:], start__gt=now)
        )
        .select_related("provider", "client", "appointment_type", "series")
        .order_by("occurrence", "start", "pk")
    )


@dataclass(frozen=True)
class SessionQuote:
    """What ending the series does to one session: cancelled free, for a fee, or kept."""

    appointment: Appointment
    decision: Decision | None  # None: the practice acts, and is not held to the policy

    @property
    def cancels(self) -> bool:
        return self.decision is None or not self.decision.refused

    @property
    def fee(self) -> Money | None:
        return self.decision.fee if self.decision is not None and self.cancels else None


@dataclass(frozen=True)
class FollowingQuote:
    """Every session "this and all following" touches, each under its own terms, now."""

    sessions: list[SessionQuote]
    # The series they belong to: the one clicked and each continuing it (`continuing`).
    chain: list[int]

    @property
    def token(self) -> str:
        """What the person confirmed: the same sessions, the same verdicts, the same fees."""
        words = ";".join(
            f"{each.appointment.pk}@{each.appointment.start.isoformat()}:"
            f"{int(each.cancels)}:{each.fee or ''}"
            for each in self.sessions
        )
        return hashlib.sha256(words.encode()).hexdigest()[:32]

    @property
    def cancelled(self) -> list[SessionQuote]:
        return [each for each in self.sessions if each.cancels]

    @property
    def kept(self) -> list[SessionQuote]:
        return [each for each in self.sessions if not each.cancels]

    @property
    def fees(self) -> list[Money]:
        return [each.fee for each in self.sessions if each.fee is not None]


class QuoteChanged(ChangeError):
    """What ending the series does changed while the page was open: nothing was changed."""

    def __init__(self, quote: FollowingQuote):
        super().__init__(
            "What ending these sessions costs changed while this page was open (a deadline "
            "passed, or a session changed). Nothing was changed. Read the new list and confirm "
            "again if you still want to end them."
        )
        self.quote = quote


def quote_following(appointment: Appointment, actor: User, now: datetime) -> FollowingQuote:
    """
    What cancelling this session and all that follow would do now, for the dialog that asks.
    The client is held to each session's own terms; the practice is not.
    """
    if appointment.series_id is None:
        raise ChangeError("This appointment is not part of a series.")
    who = acting_as(actor, client_id=appointment.client_id, provider=appointment.provider)
    chain = continuing(appointment.series_id)
    return FollowingQuote(
        [
            SessionQuote(each, each.decide(Action.CANCEL, now) if who == "client" else None)
            for each in following_sessions(appointment, now, chain)
        ],
        chain,
    )


def _cancel_sessions(
    series: AppointmentSeries,
    quotes: list[SessionQuote],
    actor: User,
    reason: str,
    now: datetime,
) -> list[Fee]:
    """Cancel these sessions, charge their fees: a fixed number of queries however many."""
    pks = [each.appointment.pk for each in quotes]
    Appointment.objects.filter(pk__in=pks).update(
        status=Appointment.Status.CANCELLED, ics_sequence=F("ics_sequence") + 1
    )
    charged = [each for each in quotes if each.fee is not None and each.fee.amount > 0]
    fees = Fee.objects.bulk_create(
        Fee(
            appointment=each.appointment,
            client_id=each.appointment.client_id,
            kind=Fee.Kind.LATE_CANCEL,
            amount=each.fee.amount,
            currency=each.fee.currency,
            created_at=now,
        )
        for each in charged
        if each.fee is not None
    )
    fee_of = {fee.appointment_id: fee for fee in fees}
    events = []
    for each in quotes:
        appointment = each.appointment
        fee = fee_of.get(appointment.pk)
        if fee is not None:
            events.append(fee_applied(appointment, fee, actor, now))
        events.append(
            AppointmentEvent(
                appointment=appointment,
                kind=AppointmentEvent.Kind.CANCELLED,
                actor=actor,
                at=now,
                old_start=appointment.start,
                reason=reason.strip(),
                details={"fee": str(fee.money) if fee else None, "series": series.pk},
            )
        )
    AppointmentEvent.objects.bulk_create(events)
    times_opened(
        series.provider,
        [(each.appointment.start, each.appointment.end) for each in quotes],
        "cancelled",
        now,
    )
    return fees


def _stop(
    series: AppointmentSeries,
    from_day: date,
    actor: User | None,
    now: datetime,
    details: dict,
    kind: str = SeriesChange.Kind.ENDED,
) -> SeriesChange:
    """The rule has no date from `from_day` on; one change, one email."""
    series.stopped_from = from_day
    series.ics_sequence += 1
    series.save(update_fields=["stopped_from", "ics_sequence"])
    change = SeriesChange.objects.create(
        series=series,
        kind=kind,
        actor=actor,
        at=now,
        details={"from": from_day.isoformat(), **details},
        ics_sequence=series.ics_sequence,
    )
    queue_series_emails(change)
    return change


def _fresh(series: AppointmentSeries) -> AppointmentSeries:
    """The series as the database has it now, with what its services read of it."""
    return AppointmentSeries.objects.select_related("provider", "client", "appointment_type").get(
        pk=series.pk
    )


def _locked_series(series: AppointmentSeries) -> AppointmentSeries:
    lock_schedules(client=series.client, provider=series.provider)
    return _fresh(series)


def _day_of(appointment: Appointment, series: AppointmentSeries) -> date:
    return (appointment.occurrence or appointment.start).astimezone(series.zone).date()


@dataclass(frozen=True)
class SeriesEnded:
    series: AppointmentSeries
    cancelled: list[Appointment]
    kept: list[Appointment]
    fees: list[Fee]


def series_cancel_following(
    *,
    appointment: Appointment,
    actor: User,
    expected_quote: str | None = None,
    expected_start: datetime | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> SeriesEnded:
    """
    Cancel this session and every one after it, and end the series there. The client is held
    to each session's own terms: a session the policy no longer lets them cancel online stays
    booked, and each late one costs its own fee, as the dialog listed them (`expected_quote`,
    FollowingQuote.token): a different list changes nothing (QuoteChanged).
    """
    with schedule_change():
        now = now or timezone.now()
        current = _locked_appointment(appointment, expected_start)
        if current.series_id is None:
            raise ChangeError("This appointment is not part of a series.")
        quote = quote_following(current, actor, now)
        if expected_quote is not None and expected_quote != quote.token:
            raise QuoteChanged(quote)
        if not quote.cancelled:
            decision = quote.sessions[0].decision
            assert decision is not None  # the practice is never refused
            raise PolicyRefused(decision)
        chain = AppointmentSeries.objects.select_related("provider", "appointment_type")
        ended = list(chain.filter(pk__in=quote.chain).order_by("first_date"))
        fees = []
        for series in ended:
            cancelled = [
                each for each in quote.cancelled if each.appointment.series_id == series.pk
            ]
            kept = [each for each in quote.kept if each.appointment.series_id == series.pk]
            charged = _cancel_sessions(series, cancelled, actor, reason, now) if cancelled else []
            fees += charged
            if not cancelled and (kept or series.stopped_from is not None):
                continue
            # From its first date cancelled (its first date, for a continuing series with
            # nothing booked yet), after any session the policy keeps.
            from_day = _day_of(cancelled[0].appointment, series) if cancelled else series.first_date
            last_kept = max((_day_of(each.appointment, series) for each in kept), default=None)
            if last_kept is not None and last_kept >= from_day:
                from_day = last_kept + timedelta(days=1)
            _stop(
                series,
                from_day,
                actor,
                now,
                {
                    "cancelled": [each.appointment.start.isoformat() for each in cancelled],
                    "kept": [each.appointment.start.isoformat() for each in kept],
                    "fees": [str(fee.money) for fee in charged],
                    "charged": {
                        fee.appointment.start.isoformat(): str(fee.money) for fee in charged
                    },
                },
            )
        series = next(each for each in ended if each.pk == current.series_id)
    return SeriesEnded(
        series,
        [each.appointment for each in quote.cancelled],
        [each.appointment for each in quote.kept],
        fees,
    )


def _sessions_from(series: AppointmentSeries, day: date) -> list[Appointment]:
    """The series' scheduled sessions whose date (by the rule) is `day` or later."""
    from_instant = datetime.combine(day, time.min, tzinfo=series.zone)
    return list(
        series.sessions.active()
        .filter(occurrence__gte=from_instant)
        .select_related("provider", "client", "appointment_type")
        .order_by("occurrence", "pk")
    )


def series_end(
    *,
    series: AppointmentSeries,
    actor: User,
    from_day: date,
    reason: str = "",
    now: datetime | None = None,
) -> SeriesEnded:
    """The practice ends a series from a date: every session from then is cancelled, free."""
    practice_only(actor, series.provider)
    with schedule_change():
        now = now or timezone.now()
        series = _locked_series(series)
        if series.stopped_from is not None and series.stopped_from <= from_day:
            raise ChangeError(
                f"This series already ends before {format_date(from_day, DAY)}; "
                "nothing was changed."
            )
        sessions = [each for each in _sessions_from(series, from_day) if each.start > now]
        quotes = [SessionQuote(each, None) for each in sessions]
        fees = _cancel_sessions(series, quotes, actor, reason, now) if quotes else []
        _stop(
            series,
            from_day,
            actor,
            now,
            {"cancelled": [each.start.isoformat() for each in sessions], "kept": [], "fees": []},
        )
    return SeriesEnded(series, sessions, [], fees)


def series_session_on(series: AppointmentSeries, day: date) -> Appointment:
    """The scheduled session the rule put on `day`; ChangeError when there is none."""
    for session in _sessions_from(series, day):
        if _day_of(session, series) == day:
            return session
        break
    raise ChangeError(
        f"This series has no scheduled session on {format_date(day, DAY)}; nothing was changed."
    )


def series_skip(
    *,
    series: AppointmentSeries,
    actor: User,
    day: date,
    reason: str = "",
    now: datetime | None = None,
):
    """
    The practice skips one date (a holiday): that session is cancelled, free, and the series
    goes on. One session: its own email, which takes just that date out of calendars.
    """
    from appointments.services import appointment_cancel

    practice_only(actor, series.provider)
    session = series_session_on(series, day)
    return appointment_cancel(
        appointment=session,
        actor=actor,
        reason=reason or "This date is skipped; the series goes on.",
        expected_start=session.start,
        now=now,
    )


@dataclass(frozen=True)
class TimeChange:
    """
    What changing a series' time from a date would do, as of now: which session moves to which
    new date (and whether that time is free), which are dropped, which dates are new. The same
    reading the change itself makes under its lock, and what its preview lists.
    """

    from_day: date
    new_first: date
    at: time  # the new wall-clock time, on the series' clock
    sessions: list[Appointment]  # the scheduled sessions from `from_day` on
    old_dates: list[date]
    new_dates: list[date]
    by_day: dict[date, Appointment]
    pairs: list[tuple[date, date]]  # the n-th old date and the n-th new one
    plan: dict[date, PlannedSession]

    @property
    def clashes(self) -> dict[date, Clash]:
        return {day: each.clash for day, each in self.plan.items() if each.clash is not None}

    @property
    def moves(self) -> list[tuple[Appointment, PlannedSession]]:
        """Each session that has a new date, with its new time (which may clash)."""
        return [
            (self.by_day[old_day], self.plan[new_day])
            for old_day, new_day in self.pairs
            if old_day in self.by_day
        ]

    @property
    def dropped(self) -> list[Appointment]:
        """Sessions the new rule has no date for: they are cancelled."""
        return [self.by_day[day] for day in self.old_dates[len(self.pairs) :] if day in self.by_day]

    @property
    def added(self) -> list[PlannedSession]:
        """New dates beyond the old ones: new sessions."""
        return [self.plan[day] for day in self.new_dates[len(self.pairs) :]]


def _time_change(
    old: AppointmentSeries, from_day: date, new_first_start: datetime, now: datetime
) -> TimeChange:
    """What changing `old`'s time from `from_day` does, or the reason it cannot be done."""
    provider = old.provider
    zone = provider.zone
    new_first = new_first_start.astimezone(zone).date()
    if new_first < from_day:
        raise SeriesInvalid(
            f"The new first session must be on or after {format_date(from_day, DAY)}."
        )
    if new_first_start <= now:
        raise SeriesInvalid("The new first session must be in the future.")
    if old.stopped_from is not None and old.stopped_from <= from_day:
        raise ChangeError("This series has ended by then; nothing was changed.")
    sessions = _sessions_from(old, from_day)
    if any(each.start <= now for each in sessions):
        raise ChangeError(
            "A session on or after that date has started already; choose a later date."
        )
    old_dates = [day for day in old.dates(through=old.booked_through) if day >= from_day]
    if not old_dates:
        raise ChangeError(f"This series has no session on or after {format_date(from_day, DAY)}.")
    if old.is_open_ended:
        # The rest is booked as far as the old series was; extend_series goes on from there.
        new_dates = rule_dates(new_first, old.repeat, count=len(old_dates))
    elif old.count is not None:
        new_dates = rule_dates(new_first, old.repeat, count=len(old_dates))
    else:
        new_dates = rule_dates(new_first, old.repeat, until=old.until)
    if not new_dates:
        raise SeriesInvalid("No session of the new time falls before the series' last date.")
    if new_dates[-1] > horizon_day(provider, now, new_first_start.astimezone(zone).time(), zone):
        raise SeriesInvalid(
            f"{provider.display_name} takes bookings up to {provider.horizon_days} days "
            f"ahead; the series would then end on {format_date(new_dates[-1], DAY)}."
        )
    by_day = {_day_of(each, old): each for each in sessions}
    # The n-th old date's session goes to the n-th new date; a new date beyond the old ones
    # (a series that ends by date, moved to an earlier weekday) is a new session.
    pairs = list(zip(old_dates, new_dates, strict=False))
    wanted = [new_day for old_day, new_day in pairs if old_day in by_day]
    wanted += new_dates[len(pairs) :]
    at = new_first_start.astimezone(zone).time()
    plan = {
        each.day: each
        for each in _plan(
            old.client,
            provider,
            old.appointment_type,
            wanted,
            datetime.combine(new_first, at, tzinfo=zone),
            now,
            excluding=[(each.start, each.end) for each in sessions],
        ).sessions
    }
    return TimeChange(from_day, new_first, at, sessions, old_dates, new_dates, by_day, pairs, plan)


def plan_time_change(
    *,
    series: AppointmentSeries,
    actor: User,
    from_day: date,
    new_first_start: datetime,
    now: datetime | None = None,
) -> TimeChange:
    """What series_change_time would do now, for the page that asks before it is done."""
    if timezone.is_naive(new_first_start):
        raise ValueError("new_first_start must be an aware datetime")
    practice_only(actor, series.provider)
    return _time_change(_fresh(series), from_day, new_first_start, now or timezone.now())


def series_change_time(
    *,
    series: AppointmentSeries,
    actor: User,
    from_day: date,
    new_first_start: datetime,
    skip: Collection[date] = (),
    now: datetime | None = None,
) -> AppointmentSeries:
    """
    The practice changes the series' time or weekday from a date. The old series ends the day
    before, and a new one continuing it (as calendars split a series) takes the rest: the n-th
    date of the old rule from then becomes the n-th of the new one, its session moved (a date
    left out stays left out). A new time that clashes refuses the change (SeriesClashes) unless
    it is in `skip`, whose session is cancelled instead. Returns the new series.
    """
    if timezone.is_naive(new_first_start):
        raise ValueError("new_first_start must be an aware datetime")
    practice_only(actor, series.provider)
    with schedule_change():
        now = now or timezone.now()
        old = _locked_series(series)
        provider = old.provider
        change = _time_change(old, from_day, new_first_start, now)
        new_first, at, new_dates = change.new_first, change.at, change.new_dates
        old_dates, by_day, pairs, plan = change.old_dates, change.by_day, change.pairs, change.plan
        unexpected = {day: why for day, why in change.clashes.items() if day not in skip}
        if unexpected:
            raise SeriesClashes(unexpected)
        new = AppointmentSeries.objects.create(
            provider=provider,
            client=old.client,
            appointment_type=old.appointment_type,
            repeat=old.repeat,
            time_zone=provider.time_zone,
            first_date=new_first,
            start_time=at,
            count=len(new_dates) if old.count is not None else None,
            until=old.until if old.count is None and not old.is_open_ended else None,
            booked_through=new_dates[-1],
            policy_terms=old.policy_terms,
            previous=old,
            created_at=now,
            booked_by=actor,
        )
        moved: list[tuple[Appointment, datetime]] = []
        dropped = [
            SessionQuote(by_day[day], None) for day in old_dates[len(pairs) :] if day in by_day
        ]
        for old_day, new_day in pairs:
            session = by_day.get(old_day)
            if session is None:
                continue
            planned = plan[new_day]
            if planned.clash is not None or new_day in skip:
                dropped.append(SessionQuote(session, None))
                continue
            old_start = session.start
            session.start, session.end = planned.start, planned.start + session.duration
            session.series, session.occurrence = new, planned.start
            session.ics_sequence += 1
            moved.append((session, old_start))
        Appointment.objects.bulk_update(
            [each for each, _ in moved], ["start", "end", "series", "occurrence", "ics_sequence"]
        )
        AppointmentEvent.objects.bulk_create(
            AppointmentEvent(
                appointment=session,
                kind=AppointmentEvent.Kind.RESCHEDULED,
                actor=actor,
                at=now,
                old_start=old_start,
                new_start=session.start,
                reason="The series' time changed.",
                details={"series": new.pk},
            )
            for session, old_start in moved
        )
        fresh = [
            plan[day]
            for day in new_dates[len(pairs) :]
            if plan[day].clash is None and day not in skip
        ]
        added = _book_sessions(new, fresh, actor, now) if fresh else []
        if dropped:
            _cancel_sessions(old, dropped, actor, "The series' new time was not free.", now)
        times_opened(
            provider,
            [(old_start, old_start + each.duration) for each, old_start in moved],
            "moved",
            now,
        )
        times_taken(provider, [(each.start, each.end) for each, _ in moved], old.client, now)
        _stop(
            old,
            from_day,
            actor,
            now,
            {
                "continued_by": new.pk,
                "moved": [[start.isoformat(), each.start.isoformat()] for each, start in moved],
                "added": [each.start.isoformat() for each in added],
                "cancelled": [each.appointment.start.isoformat() for each in dropped],
            },
            kind=SeriesChange.Kind.CHANGED,
        )
    return new


def series_extend(series: AppointmentSeries, now: datetime | None = None) -> list[Appointment]:
    """
    An open-ended series booked up to the provider's horizon again: the new dates that are
    free are booked; one that is taken is left out, and the client and the provider are told.
    The command `extend_series` runs it for every open-ended series.
    """
    now = now or timezone.now()
    with schedule_change():
        # The client may since have left the care team, or the type be withdrawn: read under
        # the lock, as a booking reads them. (A type the practice books only, not online, is
        # still theirs to book: the series goes on.)
        locked = lock_to_book(
            client=series.client, provider=series.provider, appointment_type=series.appointment_type
        )
        series = _fresh(series)
        if not series.is_open_ended or series.stopped_from is not None:
            return []
        provider = series.provider
        through = horizon_day(provider, now, series.start_time, series.zone)
        dates = series.dates(after=series.booked_through, through=through)
        if not dates:
            return []
        if not (locked.on_care_team and series.appointment_type.is_active):
            # Its booked sessions stay; nothing more is booked, and both sides are told.
            _stop(series, dates[0], None, now, {"cancelled": [], "kept": [], "fees": []})
            return []
        first_start = datetime.combine(series.first_date, series.start_time, tzinfo=series.zone)
        plan = _plan(
            series.client,
            provider,
            series.appointment_type,
            dates,
            first_start,
            now,
            zone=series.zone,
        )
        sessions = _book_sessions(series, plan.free, provider.user, now)
        series.booked_through = dates[-1]
        series.save(update_fields=["booked_through"])
        if plan.clashes:
            series.ics_sequence += 1
            series.save(update_fields=["ics_sequence"])
            change = SeriesChange.objects.create(
                series=series,
                kind=SeriesChange.Kind.EXTENDED,
                actor=None,
                at=now,
                details={
                    "booked": [each.start.isoformat() for each in sessions],
                    "skipped": [day.isoformat() for day in sorted(plan.clashes)],
                    "clashes": clash_details(plan.clashes, plan.clashes),
                },
                ics_sequence=series.ics_sequence,
            )
            queue_series_emails(change)
    return sessions


def series_to_extend(now: datetime) -> Iterator[AppointmentSeries]:
    """
    The open-ended series still running with a rule date after the last one booked and within
    their provider's horizon: what `extend_series` books further. Read in pages of the
    open-ended series index.
    """
    running = AppointmentSeries.objects.filter(
        count__isnull=True, until__isnull=True, stopped_from__isnull=True
    ).select_related("provider")
    for series in running.order_by("booked_through", "pk").iterator(chunk_size=500):
        through = horizon_day(series.provider, now, series.start_time, series.zone)
        if series.dates(after=series.booked_through, through=through):
            yield series


def clash_details(clashes: dict[date, Clash], days: Iterable[date]) -> dict[str, str]:
    """Why each of `days` that clashed was left out, for a change's details (its email says)."""
    return {day.isoformat(): str(clashes[day]) for day in days if day in clashes}

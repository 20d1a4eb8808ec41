"""
Which waitlist entries a freed stretch of a provider's schedule suits, and at what time. A pure
function of its arguments, like the slot engine it stands on: no database, so time zones,
clock changes and policies are tested directly.

An entry's wishes are on the client's own clock (Tuesday mornings in London) while the
provider's hours are on theirs (Chicago): each candidate start comes from the slot engine as a
UTC instant and is then read on the client's clock, so a clock change on either side never
shifts a wish.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from appointments.slots import BookingRules, Hours, Interval, bookable_starts

# Parts of the day on the client's clock: a start belongs to the part it falls in.
PARTS: dict[str, tuple[time, time]] = {
    "morning": (time(0, 0), time(12, 0)),
    "afternoon": (time(12, 0), time(17, 0)),
    "evening": (time(17, 0), time.max),
}


@dataclass(frozen=True)
class Schedule:
    """The provider's side of one freed stretch, read once for every entry."""

    rules: BookingRules
    zone: ZoneInfo
    weekly: Mapping[int, Sequence[Hours]]
    overrides: Mapping[date, Sequence[Hours]]
    busy: Sequence[Interval]


@dataclass(frozen=True)
class Wish:
    """A waitlist entry as the matcher sees it."""

    entry_id: int
    duration: timedelta
    zone: ZoneInfo  # the client's
    weekdays: frozenset[int] = frozenset()  # Monday is 0; empty is any day
    parts: frozenset[str] = frozenset()  # PARTS keys; empty is any part of the day
    not_after: date | None = None  # on the client's clock
    client_busy: Sequence[Interval] = ()
    # Move-up: the appointment's current (start, end), and whether its policy lets the client
    # reschedule online now. Only earlier times match, and none when the policy says no.
    moving: Interval | None = None
    may_move: bool = True
    # Starts already offered to this entry: never offered twice.
    offered: frozenset[datetime] = field(default_factory=frozenset)


def suits(wish: Wish, start: datetime) -> bool:
    """Whether `start` falls in the wish's days, parts of day and dates, on the client's clock."""
    local = start.astimezone(wish.zone)
    if wish.not_after is not None and local.date() > wish.not_after:
        return False
    if wish.weekdays and local.weekday() not in wish.weekdays:
        return False
    if wish.parts:
        clock = local.time().replace(tzinfo=None)
        if not any(begin <= clock < end for begin, end in (PARTS[p] for p in wish.parts)):
            return False
    if wish.moving is not None and start >= wish.moving[0]:
        return False
    return start not in wish.offered


def first_fit(
    schedule: Schedule,
    wish: Wish,
    *,
    now: datetime,
    freed: Interval,
    exact: bool = False,
) -> datetime | None:
    """
    The earliest start the client can book and wishes for, among those the freed stretch made
    room for: a session (with the provider's buffers) that overlaps it. `exact`: only the
    freed stretch's own start (a held offer passed on).
    """
    rules = schedule.rules
    if exact:
        window_start, window_end = freed[0], freed[0] + timedelta(microseconds=1)
    else:
        window_start = freed[0] - wish.duration - rules.buffer_after + timedelta(microseconds=1)
        window_end = freed[1] + rules.buffer_before
    if wish.moving is not None:
        if not wish.may_move:
            return None
        window_end = min(window_end, wish.moving[0])
        # The appointment being moved does not block its own new time.
        busy: Iterable[Interval] = [b for b in schedule.busy if b != wish.moving]
        client_busy: Iterable[Interval] = [b for b in wish.client_busy if b != wish.moving]
    else:
        busy, client_busy = schedule.busy, wish.client_busy
    if window_start >= window_end:
        return None
    starts = bookable_starts(
        rules=rules,
        zone=schedule.zone,
        weekly=schedule.weekly,
        overrides=schedule.overrides,
        busy=busy,
        client_busy=client_busy,
        duration=wish.duration,
        now=now,
        window_start=window_start,
        window_end=window_end,
    )
    return next((start for start in starts if suits(wish, start)), None)


def match(
    schedule: Schedule,
    wishes: Iterable[Wish],
    *,
    now: datetime,
    freed: Interval,
    exact: bool = False,
) -> list[tuple[Wish, datetime]]:
    """Each wish that a freed start suits, with its earliest such start, in the given order."""
    found = []
    for wish in wishes:
        start = first_fit(schedule, wish, now=now, freed=freed, exact=exact)
        if start is not None:
            found.append((wish, start))
    return found

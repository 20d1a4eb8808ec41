"""
The slot engine: which start times can be booked. A pure function of its arguments, so it
can be tested exhaustively (time zones, clock changes, busy times) without a database.

Availability is written in the provider's wall-clock time ("Mondays 9:00 to 17:00 in
Chicago"); slots are produced day by day on that clock and only then turned into UTC
instants. A wall-clock time that does not exist on a clock-change day is skipped; one that
happens twice is taken once, at its first occurrence. Durations, notice, buffers and the
horizon are real elapsed time.
"""

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from portal.timezones import local_instant


@dataclass(frozen=True)
class BookingRules:
    min_notice: timedelta = timedelta(hours=2)
    horizon: timedelta = timedelta(days=60)
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    step: timedelta = timedelta(minutes=30)


@dataclass(frozen=True)
class Hours:
    """One stretch of wall-clock time in a day, like 09:00 to 12:30."""

    start: time
    end: time


Interval = tuple[datetime, datetime]
ONE_DAY = timedelta(days=1)


def day_end_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """
    Where a range ends. An end time the clock skips means the first moment after the gap.
    The week view reads the start of its days and stretches the same way.
    """
    exact = local_instant(day, at, zone)
    if exact is not None:
        return exact
    return datetime.combine(day, at).replace(tzinfo=zone, fold=1).astimezone(UTC)


def _merge(intervals: Iterable[Interval]) -> tuple[list[datetime], list[datetime]]:
    """Sorted, disjoint intervals as two parallel lists (starts, ends) for bisecting."""
    starts: list[datetime] = []
    ends: list[datetime] = []
    for begin, finish in sorted(intervals):
        if starts and begin <= ends[-1]:
            if finish > ends[-1]:
                ends[-1] = finish
        else:
            starts.append(begin)
            ends.append(finish)
    return starts, ends


def _overlaps(starts: list[datetime], ends: list[datetime], begin: datetime, finish: datetime):
    # With disjoint sorted intervals only the last one starting before `finish` can overlap.
    index = bisect_left(starts, finish) - 1
    return index >= 0 and ends[index] > begin


def bookable_starts(
    *,
    rules: BookingRules,
    zone: ZoneInfo,
    weekly: Mapping[int, Sequence[Hours]],
    overrides: Mapping[date, Sequence[Hours]],
    busy: Iterable[Interval],
    duration: timedelta,
    now: datetime,
    window_start: datetime,
    window_end: datetime,
    client_busy: Iterable[Interval] = (),
) -> list[datetime]:
    """
    Every instant (UTC, sorted, unique) at which an appointment of `duration` can start.

    weekly: hours per weekday (Monday is 0), in the provider's wall-clock time.
    overrides: hours for particular dates; an empty sequence is a day off.
    busy: the provider's booked intervals; each is widened by the buffers.
    client_busy: the client's own appointments (with anyone); no buffers apply.
    window_start, window_end: only starts in [window_start, window_end) are wanted.
    """
    if duration <= timedelta(0) or rules.step <= timedelta(0):
        raise ValueError("duration and step must be positive")
    earliest = max(window_start, now + rules.min_notice)
    latest = min(window_end, now + rules.horizon + timedelta(microseconds=1))
    if earliest >= latest:
        return []

    # A slot [s, s + duration) must keep buffer_before free before it and buffer_after after:
    # the same as the slot not overlapping each busy interval widened the opposite way.
    widened = ((begin - rules.buffer_after, finish + rules.buffer_before) for begin, finish in busy)
    busy_starts, busy_ends = _merge([*widened, *client_busy])

    found: list[datetime] = []
    # A local date can hold instants up to a day either side of the same UTC date.
    day = earliest.astimezone(zone).date() - timedelta(days=1)
    last_day = latest.astimezone(zone).date() + timedelta(days=1)
    while day <= last_day:
        ranges = overrides[day] if day in overrides else weekly.get(day.weekday(), ())
        # Most days the clock does not change: then wall time minus one fixed offset is the
        # instant, which is much cheaper than asking the zone database for every slot.
        offset = datetime.combine(day, time.min, tzinfo=zone).utcoffset() or timedelta(0)
        next_offset = datetime.combine(day + ONE_DAY, time.min, tzinfo=zone).utcoffset()
        steady = offset == next_offset
        for hours in ranges:
            range_end = day_end_instant(day, hours.end, zone)
            last_start = range_end - duration
            if steady:
                start = (datetime.combine(day, hours.start) - offset).replace(tzinfo=UTC)
                if start < earliest:
                    start += -((start - earliest) // rules.step) * rules.step
                while start <= last_start and start < latest:
                    if not _overlaps(busy_starts, busy_ends, start, start + duration):
                        found.append(start)
                    start += rules.step
                continue
            wall = datetime.combine(day, hours.start)
            wall_end = datetime.combine(day, hours.end)
            while wall < wall_end:
                instant = local_instant(day, wall.time(), zone)
                if instant is not None:
                    if instant > last_start:
                        break
                    if earliest <= instant < latest and not _overlaps(
                        busy_starts, busy_ends, instant, instant + duration
                    ):
                        found.append(instant)
                wall += rules.step
        day += ONE_DAY
    # Ranges of one day may overlap; a start time is still offered once.
    return sorted(set(found))

"""
The dates of a recurring series, and their instants. Pure, like the slot engine: a function of
its arguments, tested over every zone with a clock change.

A series keeps its wall-clock time in the zone it was booked in (the provider's): a 5 PM Tuesday
session in Chicago stays 5 PM in Chicago through daylight saving time, so its instant in UTC
(and in any other zone) moves by the hour the clock moves. On a day the clock skips that time,
the session is after the gap, read with the UTC offset before it (02:30 becomes 03:30), and a
time the clock shows twice is its first occurrence: RFC 5545's reading of a DTSTART with a
zone, so every calendar that expands the series' RRULE puts each session where the portal does.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import models

# The most sessions a series may have when it is booked with a count: two years of weeks.
MAX_SESSIONS = 104
# A series needs at least two sessions; one is a single booking.
MIN_SESSIONS = 2
# No two dates of a rule are further apart: every 4 weeks, or a month from one n-th weekday to
# the next.
LONGEST_GAP = timedelta(weeks=5)
ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
RRULE_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


class Repeat(models.TextChoices):
    WEEKLY = "weekly", "Every week"
    EVERY_2_WEEKS = "2weeks", "Every 2 weeks"
    EVERY_4_WEEKS = "4weeks", "Every 4 weeks"
    MONTHLY = "monthly", "Every month, on the same weekday"


WEEKS_APART = {Repeat.WEEKLY: 1, Repeat.EVERY_2_WEEKS: 2, Repeat.EVERY_4_WEEKS: 4}


def nth_weekday(day: date) -> int:
    """
    Which of its month's weekdays `day` is: 1 for the first Tuesday to 4 for the fourth; a fifth
    one, which most months lack, is the month's last (-1).
    """
    n = (day.day - 1) // 7 + 1
    return -1 if n == 5 else n


def _in_month(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th (or, for -1, the last) `weekday` of a month."""
    if n == -1:
        following = date(year + month // 12, month % 12 + 1, 1)
        day = following - timedelta(days=1)
        return day - timedelta(days=(day.weekday() - weekday) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _dates(first: date, repeat: str) -> Iterator[date]:
    """The rule's dates from `first`, without end."""
    if repeat == Repeat.MONTHLY:
        n, weekday = nth_weekday(first), first.weekday()
        year, month = first.year, first.month
        while True:
            yield _in_month(year, month, weekday, n)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    step = timedelta(weeks=WEEKS_APART[Repeat(repeat)])
    day = first
    while True:
        yield day
        day += step


def rule_dates(
    first: date,
    repeat: str,
    *,
    count: int | None = None,
    until: date | None = None,
    through: date | None = None,
    after: date | None = None,
) -> list[date]:
    """
    The series' dates: from `first`, `count` of them at most and none after `until` (both None:
    open-ended), and of those only the ones after `after` and up to `through`. With neither
    `count`, `until` nor `through` the rule never ends: that is a programming error.
    """
    if count is None and until is None and through is None:
        raise ValueError("an open-ended series is read up to a date")
    found = []
    for index, day in enumerate(_dates(first, repeat)):
        if (count is not None and index >= count) or (until is not None and day > until):
            break
        if through is not None and day > through:
            break
        if after is None or day > after:
            found.append(day)
    return found


def occurrence(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant (UTC) of a session on `day` at the series' wall-clock time `at`."""
    # fold=0 is RFC 5545's reading: the first of a time shown twice, and a skipped time with
    # the offset before the gap (never the day before, where a midnight gap would put it).
    return datetime.combine(day, at, tzinfo=zone).replace(fold=0).astimezone(UTC)


@dataclass(frozen=True)
class Rule:
    """A series' rule as the calendar file (RFC 5545 RRULE) and people read it."""

    repeat: str
    first: date
    count: int | None = None
    until: date | None = None

    def rrule(self, until_instant: datetime | None = None) -> dict:
        """
        The RRULE's parts for icalendar. `until_instant` is the UNTIL in UTC (RFC 5545 asks
        for UTC when DTSTART has a zone): the start of the last session, when it ends by date.
        """
        parts: dict = {}
        if self.repeat == Repeat.MONTHLY:
            parts["freq"] = "MONTHLY"
            parts["byday"] = f"{nth_weekday(self.first)}{RRULE_WEEKDAYS[self.first.weekday()]}"
        else:
            parts["freq"] = "WEEKLY"
            weeks = WEEKS_APART[Repeat(self.repeat)]
            if weeks > 1:
                parts["interval"] = weeks
        if self.count is not None:
            parts["count"] = self.count
        elif until_instant is not None:
            parts["until"] = until_instant
        return parts

    def describe(self) -> str:
        """'Every week on Tuesday', 'Every month on the second Tuesday'."""
        weekday = self.first.strftime("%A")
        if self.repeat == Repeat.MONTHLY:
            return f"Every month on the {ORDINALS[nth_weekday(self.first)]} {weekday}"
        return f"{Repeat(self.repeat).label} on {weekday}"

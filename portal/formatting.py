"""How the portal writes times and names, in one place for every app."""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import dateformat
from django.utils.dates import MONTHS, MONTHS_3, WEEKDAYS, WEEKDAYS_ABBR
from django.utils.translation import gettext

# Titles that are not a first name: "Maya" from "Dr. Maya Okafor".
HONORIFICS = {"dr", "mr", "mrs", "ms", "mx", "prof"}

# The letters of Django's date format the portal writes with, each read straight off the
# date: a list of cards or times formats hundreds of dates a page, and Django's formatter
# sets up an object and its time zone for each one.
_LETTERS: dict[str, Callable[[Any], str]] = {  # a date, or a datetime for the time letters
    "D": lambda d: str(WEEKDAYS_ABBR[d.weekday()]),
    "l": lambda d: str(WEEKDAYS[d.weekday()]),
    "j": lambda d: str(d.day),
    "d": lambda d: f"{d.day:02d}",
    "M": lambda d: str(MONTHS_3[d.month]).title(),
    "F": lambda d: str(MONTHS[d.month]),
    "m": lambda d: f"{d.month:02d}",
    "Y": lambda d: str(d.year),
    "g": lambda d: str(d.hour % 12 or 12),
    "i": lambda d: f"{d.minute:02d}",
    "A": lambda d: gettext("AM") if d.hour < 12 else gettext("PM"),
    "T": lambda d: d.tzname() or "",
}


# A day and a time with the zone named, as pages that list many dates write them.
DAY_AND_TIME = "D j M Y, g:i A T"
# A date alone, as a list of dates writes it.
DAY = "D j M Y"


@lru_cache(maxsize=64)
def _writers(pattern: str) -> tuple[Callable[[Any], str] | str, ...] | None:
    """What writes each character of `pattern`, or None where Django's formatter must."""
    if any(char.isalpha() and char not in _LETTERS or char == "\\" for char in pattern):
        return None
    return tuple(_LETTERS.get(char, char) for char in pattern)


def format_date(value: date, pattern: str) -> str:
    """
    `value` (a date, or a datetime already in the zone to show) as Django's `date` filter
    writes it with `pattern`; patterns with other letters go to Django's own formatter.
    """
    writers = _writers(pattern)
    if writers is None:
        return dateformat.format(value, pattern)
    return "".join(each if isinstance(each, str) else each(value) for each in writers)


def when(instant: datetime, zone: ZoneInfo) -> str:
    """Mon 2 Dec, 9:00 AM (EST)"""
    return format_date(instant.astimezone(zone), "D j M, g:i A (T)")


def time_range(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """
    9:00 AM – 9:50 AM in `zone`; a range that ends on a later day there says so:
    11:30 PM – 12:20 AM (next day), or the end's day when it is later still.
    """
    start, end = start.astimezone(zone), end.astimezone(zone)
    # Across a change of the clocks each end names its offset: 1:30 AM EST – 3:20 AM EDT,
    # and, when they go back, 11:30 PM -03 – 11:20 PM -04 reads as the later time it is.
    pattern = "g:i A" if start.utcoffset() == end.utcoffset() else "g:i A T"
    begins = format_date(start, pattern)
    days = (end.date() - start.date()).days
    if days > 1:
        return f"{begins} – {format_date(end, f'D j M, {pattern}')}"
    ends = format_date(end, pattern)
    return f"{begins} – {ends} ({gettext('next day')})" if days == 1 else f"{begins} – {ends}"


def dated_time_range(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """Wed 25 Nov 2026, 10:00 AM – 10:50 AM CST: the day, the range, and always the zone."""
    local = start.astimezone(zone)
    text = f"{format_date(local, 'D j M Y')}, {time_range(start, end, zone)}"
    if local.utcoffset() != end.astimezone(zone).utcoffset():
        return text  # each end already names its offset
    zone_name = format_date(local, "T")
    next_day = f" ({gettext('next day')})"
    if text.endswith(next_day):
        return f"{text.removesuffix(next_day)} {zone_name}{next_day}"
    return f"{text} {zone_name}"


def hours_and_minutes(duration: timedelta) -> str:
    """A duration as it is entered: "50 min", "1 h 30 min", "48 h"."""
    hours, rest = divmod(minutes(duration), 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def html_datetime(instant: datetime) -> str:
    """An instant for <time datetime>: UTC, whole seconds (HTML allows no microseconds)."""
    return instant.astimezone(UTC).replace(microsecond=0).isoformat()


def minutes(duration: timedelta) -> int:
    """A duration in whole minutes: 50 for a 50-minute session."""
    return int(duration.total_seconds() // 60)


def name_words(name: str) -> list[str]:
    """The words of a name without its titles."""
    return [word for word in name.split() if word.lower().rstrip(".") not in HONORIFICS]


def initials(name: str) -> str:
    """ "MO" for "Dr. Maya Okafor"; "?" when there is nothing to go on."""
    words = [word for word in name_words((name or "").replace(".", " ")) if word[:1].isalpha()]
    return "".join(word[0].upper() for word in words[:2]) or "?"

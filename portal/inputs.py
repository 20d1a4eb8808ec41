"""
Readers for untrusted input: ids and instants from query strings, forms and command lines.
Each returns None for anything it cannot read, so every caller turns bad input into its own
clear message instead of an exception deep in a view, a selector or the database.
"""

import re
from datetime import UTC, datetime, timedelta

from django.core.exceptions import BadRequest
from django.core.validators import MaxValueValidator, MinValueValidator

# A database id as text: 1 to 18 ASCII digits, the same as the <id:...> URL converter.
# Not str.isdigit(): that accepts "²" and other scripts' digits, which int() refuses or reads
# differently. Eighteen digits always fit a 64-bit integer column.
ID_PATTERN = "[0-9]{1,18}"
_ID = re.compile(ID_PATTERN)

# The instants the portal reads from people: an appointment, or the time a page showed it.
# Anything outside is a mistake or an attack. The margins matter: an instant in year 1 or
# 9999 overflows when it is shown in a time zone or has a notice or a horizon added to it.
EARLIEST_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(2200, 1, 1, tzinfo=UTC)


class RefusedInput(BadRequest):
    """
    A request the portal will not act on. Answered with a 400 whose page shows this text, so
    write it for the person who sent the request.
    """


def parse_id(raw: str | None) -> int | None:
    """An id from untrusted text, or None."""
    if raw is None or not _ID.fullmatch(raw):
        return None
    return int(raw)


def id_param(data, name: str) -> int | None:
    """The id in a query (or form) parameter, or None when it is missing or not an id."""
    return parse_id(data.get(name))


def year_in_range(year: int) -> bool:
    """Whether dates in this year can be used without overflowing in any time zone."""
    return EARLIEST_INSTANT.year <= year < LATEST_INSTANT.year


def instant_in_range(value: datetime) -> bool:
    return EARLIEST_INSTANT <= value < LATEST_INSTANT


def parse_instant(raw: str | None) -> datetime | None:
    """
    A UTC instant from an ISO 8601 time with its offset, within the portal's range; None for
    anything else, a time without an offset included (it is never guessed).
    """
    raw = (raw or "").strip()
    if not 0 < len(raw) <= 40:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None
    # The year is checked before converting: 0001-01-01T00:00+14:00 is in year 0 in UTC.
    if value.utcoffset() is None or not year_in_range(value.year):
        return None
    value = value.astimezone(UTC)
    return value if instant_in_range(value) else None


def duration_validators(limit: timedelta) -> list:
    """
    A duration field's bounds, from none to `limit` (whole days), with messages that name
    them. Without an upper bound a notice of three million days saves, then overflows every
    page that adds it to a time.
    """
    days = limit.days
    return [
        MinValueValidator(timedelta(0), "This can't be negative."),
        MaxValueValidator(limit, f"This can be at most {days} day{'' if days == 1 else 's'}."),
    ]

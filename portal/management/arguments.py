"""
Argument readers shared by the commands that take a time window (the appointment reports and
exports, the access log's export): one reading of a date, so every command agrees on what
--start and --end mean.
"""

from datetime import UTC, date, datetime, time, timedelta

from django.core.management.base import CommandError

from portal.inputs import EARLIEST_INSTANT, LATEST_INSTANT, year_in_range


def instant(value: str, *, name: str) -> datetime:
    """
    A UTC instant from YYYY-MM-DD (midnight UTC) or an ISO 8601 time with its offset. A time
    without an offset is refused rather than guessed.
    """
    try:
        if len(value) == 10:
            parsed = datetime.combine(date.fromisoformat(value), time.min, tzinfo=UTC)
        else:
            parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{name} must be a date like 2026-12-01, not {value!r}.") from None
    if parsed.tzinfo is None:
        raise CommandError(f"{name} needs a UTC offset, like 2026-12-01T09:00+00:00.")
    # Checked before converting to UTC or adding a day, either of which overflows at the edges.
    if not year_in_range(parsed.year):
        raise CommandError(
            f"{name} must be between {EARLIEST_INSTANT.year} and {LATEST_INSTANT.year - 1}."
        )
    return parsed.astimezone(UTC)


def window(start: str, end: str) -> tuple[datetime, datetime]:
    """[start, end): an end given as a date includes that whole day."""
    begin = instant(start, name="--start")
    finish = instant(end, name="--end")
    if len(end) == 10:
        finish += timedelta(days=1)
    if finish <= begin:
        raise CommandError("--end must be after --start.")
    return begin, finish

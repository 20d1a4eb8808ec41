"""Argument readers shared by the reporting commands."""

from datetime import UTC, date, datetime, time, timedelta

from django.core.management.base import CommandError

from appointments.models import Provider


def instant(value: str, *, name: str) -> datetime:
    """
    A UTC instant from YYYY-MM-DD (midnight UTC) or an ISO 8601 time with its offset. A time
    without an offset is refused rather than guessed.
    """
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time.min, tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{name} must be a date like 2026-12-01, not {value!r}.") from None
    if parsed.tzinfo is None:
        raise CommandError(f"{name} needs a UTC offset, like 2026-12-01T09:00+00:00.")
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


def provider(value: str | None) -> Provider | None:
    if not value:
        return None
    found = (
        Provider.objects.filter(pk=int(value))
        if value.isdigit() and len(value) < 18
        else Provider.objects.filter(user__email__iexact=value)
    ).first()
    if found is None:
        raise CommandError(f"No provider with id or email {value!r}.")
    return found

from datetime import UTC, datetime

from django import template
from django.utils import timezone

from portal import formatting

register = template.Library()


@register.filter
def zone_label(name: str) -> str:
    """America/New_York -> America/New York, as people write it."""
    return (name or "").replace("_", " ")


register.filter("minutes", formatting.minutes)


@register.filter
def isoformat_utc(value: datetime) -> str:
    """An instant as the forms read it back: 2026-12-03T14:30:00+00:00."""
    return value.astimezone(UTC).isoformat()


register.filter("html_datetime", formatting.html_datetime)


register.filter("initials", formatting.initials)


@register.filter
def split(value: str, separator: str) -> list[str]:
    return value.split(separator)


@register.simple_tag(takes_context=True)
def context_value(context, name: str | None):
    """The value of the context variable called `name` (a menu item's badge count)."""
    return context.get(name) if name else None


@register.simple_tag
def time_range(start: datetime, end: datetime) -> str:
    """A range in the zone the page is shown in, saying when it ends on another day."""
    return formatting.time_range(start, end, timezone.get_current_timezone())

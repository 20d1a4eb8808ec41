"""Which open days and times the picker shows: the slots grouped by the viewer's own days."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone

from appointments.models import Appointment, AppointmentType, Provider
from policies.decisions import Decision

DAYS_PER_PAGE = 14


@dataclass(frozen=True)
class Picker:
    """What is being picked: a time for a new booking, or a new time for `moving`."""

    provider: Provider
    appointment_type: AppointmentType
    review_url: str
    moving: Appointment | None = None
    rule: Decision | None = None  # the moving appointment's reschedule rule, shown on top


def slots_by_day(slots: list[datetime]) -> dict[date, list[datetime]]:
    """Slots grouped by the date the viewer's own clock shows."""
    days: dict[date, list[datetime]] = defaultdict(list)
    for slot in slots:
        days[timezone.localtime(slot).date()].append(slot)
    return dict(days)


def day_page(days: dict[date, list[datetime]], chosen: date | None) -> dict:
    """
    The fortnight of open days around the chosen one, and the days that lead to the pages
    before and after it: the ?day= link alone moves between pages.
    """
    ordered = list(days)
    index = ordered.index(chosen) if chosen in days else 0
    first = index - index % DAYS_PER_PAGE
    after = first + DAYS_PER_PAGE
    return {
        "days": {day: days[day] for day in ordered[first:after]},
        "earlier_day": ordered[first - 1] if first > 0 else None,
        "later_day": ordered[after] if after < len(ordered) else None,
    }

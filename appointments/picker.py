"""Which open days and times the picker shows: the slots grouped by the viewer's own days."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from urllib.parse import quote

from django.contrib import messages
from django.http import HttpRequest
from django.template.defaultfilters import pluralize
from django.utils import timezone

from appointments.forms import DayForm
from appointments.models import Appointment, AppointmentType, Provider
from policies.decisions import Decision
from portal.formatting import format_date
from portal.forms import first_error

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
    zone = timezone.get_current_timezone()  # once: it is looked up anew on every call
    days: dict[date, list[datetime]] = defaultdict(list)
    for slot in slots:
        days[slot.astimezone(zone).date()].append(slot)
    return dict(days)


@dataclass(frozen=True)
class DayChip:
    """One open day as its chip reads: Tue, 3 Dec, 7 times."""

    param: str  # the ?day= value
    weekday: str
    date: str
    count: str
    current: bool


@dataclass(frozen=True)
class TimeChoice:
    """One open time as its button reads, and the review it leads to."""

    clock: str  # 10:30 AM
    label: str  # Tuesday 3 December, 10:30 AM
    href: str


def day_chip(day: date, slots: list[datetime], chosen: date | None) -> DayChip:
    param, weekday, numbers = format_date(day, "Y-m-d|D|j M").split("|")
    count = f"{len(slots)} time{pluralize(len(slots))}"
    return DayChip(param, weekday, numbers, count, day == chosen)


def time_choices(slots: list[datetime], review_url: str) -> list[TimeChoice]:
    zone = timezone.get_current_timezone()
    choices = []
    for slot in slots:
        label = format_date(slot.astimezone(zone), "l j F, g:i A")
        start = quote(slot.astimezone(UTC).isoformat(), safe="")
        choices.append(TimeChoice(label.rpartition(", ")[2], label, f"{review_url}?start={start}"))
    return choices


def day_page(days: dict[date, list[datetime]], chosen: date | None, review_url: str) -> dict:
    """
    The fortnight of open days around the chosen one with the chosen day's times, and the
    days that lead to the pages before and after it: the ?day= link alone moves between
    pages. Worded here once rather than through template filters per chip and per time.
    """
    ordered = list(days)
    index = ordered.index(chosen) if chosen in days else 0
    first = index - index % DAYS_PER_PAGE
    after = first + DAYS_PER_PAGE
    return {
        "days": [day_chip(day, days[day], chosen) for day in ordered[first:after]],
        "times": time_choices(days[chosen], review_url) if chosen else [],
        "earlier_day": format_date(ordered[first - 1], "Y-m-d") if first > 0 else None,
        "later_day": format_date(ordered[after], "Y-m-d") if after < len(ordered) else None,
    }


def chosen_day(
    request: HttpRequest, day_param: str | None, days: dict[date, list[datetime]]
) -> tuple[date | None, int]:
    """The day asked for if it has open times, else the first; a bad day says why (400)."""
    first = next(iter(days), None)
    if not day_param:
        return first, 200
    form = DayForm({"day": day_param})
    if not form.is_valid():
        messages.error(request, first_error(form))
        return first, 400
    day = form.cleaned_data["day"]
    if day not in days:
        messages.warning(
            request, f"There are no open times on {day:%A %-d %B}. Pick one of the days below."
        )
        return first, 200
    return day, 200

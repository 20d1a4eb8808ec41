"""
The workspace's landing page for a practice: the provider's week, Monday to Sunday on the
provider's clock. A superuser keeps the stock index and reaches this with ?provider=.
"""

from dataclasses import dataclass
from datetime import date, datetime, time

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from appointments import schedule
from appointments.models import Provider
from appointments.practice import practice_providers
from portal.audit import buffer
from portal.audit.requests import listed_entries

# The grid is drawn in rows of this many minutes (static/portal/admin-week.css has a class
# for every row a day can start at or span, since the CSP allows no inline styles).
ROW_MINUTES = 5
# Weeks further off than this are refused as a typo rather than drawn.
EARLIEST, LATEST = date(1970, 1, 5), date(2199, 12, 23)
# An id no appointment has, swapped for each booking's own in its link.
PLACEHOLDER = "2147483647"
# The day drawn for a week with no hours and no bookings at all.
DEFAULT_HOURS = (9, 17)
# ?hours=: which of the hours outside the working ones are unfolded.
UNFOLDED = {"": (False, False), "early": (True, False), "late": (False, True), "all": (True, True)}
# A booking this short has room for its client's name, not for its time and type as well.
SHORT_MINUTES = 40


@dataclass(frozen=True)
class Placed:
    """Something drawn on the grid, with the classes that put it at its rows."""

    item: schedule.Stretch
    rows: str


@dataclass(frozen=True)
class Block:
    """A booking as the grid draws it: every word and link worked out once, in Python."""

    booking: schedule.Booking
    rows: str
    href: str
    # "10:00–10:50 AM", or "11:30 AM–12:20 PM" across noon.
    time: str
    short: bool


class Clock:
    """Times of day as the grid writes them ("g:i A"), the AM and PM words looked up once."""

    def __init__(self) -> None:
        self.am, self.pm = gettext("AM"), gettext("PM")

    def span(self, start: datetime, end: datetime) -> str:
        start_half, end_half = self._half(start), self._half(end)
        start_text = self._hours(start) + ("" if start_half == end_half else f" {start_half}")
        return f"{start_text}–{self._hours(end)} {end_half}"

    def _half(self, moment: datetime) -> str:
        return self.am if moment.hour < 12 else self.pm

    @staticmethod
    def _hours(moment: datetime) -> str:
        return f"{moment.hour % 12 or 12}:{moment.minute:02d}"


def practice_week(request: HttpRequest, site) -> HttpResponse | None:
    user = request.user
    if user.is_superuser and "provider" not in request.GET:
        return None
    providers = list(practice_providers(user).order_by("display_name"))
    if not providers:
        return None
    provider = _chosen_provider(request, providers)
    now = timezone.now()
    today = now.astimezone(provider.zone).date()
    monday = _chosen_monday(request, today)
    week = schedule.week_schedule(provider=provider, monday=monday, today=today, now=now)
    # Each client with a booking on the week, one entry naming their appointments shown.
    shown = [
        (booking.client_id, provider.pk, f"appointments.appointment:{booking.appointment_id}")
        for day in week.days
        for booking in day.bookings
    ]
    buffer.note(*listed_entries(request, shown))
    hours = _chosen_hours(request)
    shared = site.each_context(request)
    context = {
        **shared,
        "title": f"Week of {monday:%-d %B %Y}",
        "week": week,
        "grid": _grid(week, *UNFOLDED[hours]),
        "hours": hours,
        "providers": providers,
        "this_monday": schedule.monday_of(today),
        # The list each_context built for the sidebar, not a second one.
        "app_list": shared["available_apps"],
    }
    return TemplateResponse(request, "admin/appointments/week.html", context)


def _chosen_provider(request: HttpRequest, providers: list[Provider]) -> Provider:
    wanted = request.GET.get("provider", "")
    if not wanted:
        return providers[0]
    for provider in providers:
        if str(provider.pk) == wanted:
            return provider
    messages.warning(request, "That provider is not one of yours; here is the first of them.")
    return providers[0]


def _chosen_monday(request: HttpRequest, today: date) -> date:
    wanted = request.GET.get("week", "")
    if not wanted:
        return schedule.monday_of(today)
    try:
        day = date.fromisoformat(wanted)
    except ValueError:
        day = None
    if day is None or not EARLIEST <= day <= LATEST:
        messages.warning(
            request, f"“{wanted[:20]}” is not a week we can show (use a date like 2026-03-02)."
        )
        return schedule.monday_of(today)
    return schedule.monday_of(day)


def _chosen_hours(request: HttpRequest) -> str:
    wanted = request.GET.get("hours", "")
    if wanted in UNFOLDED:
        return wanted
    messages.warning(
        request, f"“{wanted[:20]}” is not a choice of hours; here are the working hours."
    )
    return ""


def _rows(start_minute: int, end_minute: int, first_hour: int) -> str:
    start = (start_minute - first_hour * 60) // ROW_MINUTES
    span = max(-(-(end_minute - first_hour * 60) // ROW_MINUTES) - start, 1)
    return f"at-{start + 1} span-{span}"


def _grid(week: schedule.Week, early: bool, late: bool) -> dict:
    working_first, working_last = week.working_hours or DEFAULT_HOURS
    first = 0 if early else working_first
    last = schedule.MINUTES_IN_A_DAY // 60 if late else working_last
    per_hour = 60 // ROW_MINUTES
    # Reversed once for the page, not once for each of hundreds of bookings.
    change_url = reverse("admin:appointments_appointment_change", args=[PLACEHOLDER])
    clock = Clock()
    return {
        "rows": f"at-1 span-{(last - first) * per_hour}",
        "hours": [
            {"at": time(hour), "rows": f"at-{(hour - first) * per_hour + 1} span-{per_hour}"}
            for hour in range(first, last)
        ],
        # The folded hours, as (from, to) for their link, or None when there are none.
        "early": (time(0), time(first)) if first > 0 else None,
        "late": (time(last), time(0)) if last < schedule.MINUTES_IN_A_DAY // 60 else None,
        # What each link asks for: the hours it unfolds with those already open.
        "show_early": "all" if late else "early",
        "show_late": "all" if early else "late",
        "unfolded": early or late,
        "days": [
            {
                "day": day,
                "free": [Placed(s, _rows(s.start_minute, s.end_minute, first)) for s in day.free],
                "bookings": [
                    Block(
                        booking=b,
                        rows=_rows(b.start_minute, b.end_minute, first),
                        href=change_url.replace(PLACEHOLDER, str(b.appointment_id)),
                        time=clock.span(b.start, b.end),
                        short=b.end_minute - b.start_minute < SHORT_MINUTES,
                    )
                    for b in day.bookings
                ],
            }
            for day in week.days
        ],
    }

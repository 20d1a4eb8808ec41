"""
The provider's week as their workspace shows it: Monday to Sunday on the provider's own
clock, each day with its open hours, what is booked and what is still free.

Days are read on the wall clock of the provider's zone through the slot engine's helpers, so
a day of a clock change is 23 or 25 hours long and the week ends at the next Monday's real
midnight, not seven times 24 hours after this one's.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from appointments.models import Appointment, Provider
from appointments.selectors import provider_hours
from appointments.slots import ONE_DAY, Hours, Interval, day_end_instant
from portal.models import User

MINUTES_IN_A_DAY = 24 * 60


@dataclass(frozen=True)
class Stretch:
    """A stretch of time within one day, as instants in the provider's zone."""

    start: datetime
    end: datetime

    @property
    def start_minute(self) -> int:
        """Where it starts on the day's wall clock, in minutes after midnight."""
        return self.start.hour * 60 + self.start.minute

    @property
    def end_minute(self) -> int:
        """Where it ends on the day's wall clock; 24:00 for a stretch running past midnight."""
        return self.start_minute + _wall_minutes(self.start, self.end)


def _wall_minutes(start: datetime, end: datetime) -> int:
    """Minutes between two local times as the wall clock shows them (a clock change counts)."""
    wall = (end.replace(tzinfo=None) - start.replace(tzinfo=None)).total_seconds() // 60
    return int(min(wall, MINUTES_IN_A_DAY - (start.hour * 60 + start.minute)))


@dataclass(frozen=True)
class Booking(Stretch):
    """An appointment on the week, with what the week shows of it."""

    appointment_id: int
    client_id: int  # whose record it is, for the access log
    status: str
    client_name: str
    type_name: str

    @property
    def status_label(self) -> str:
        return Appointment.Status(self.status).label


@dataclass(frozen=True)
class Day:
    date: date
    is_today: bool
    is_past: bool
    # Nothing open that day: no weekly hours on its weekday, or an override making it a day off.
    is_day_off: bool
    open: list[Stretch]
    free: list[Stretch]
    bookings: list[Booking]


@dataclass(frozen=True)
class Week:
    provider: Provider
    zone: ZoneInfo
    monday: date
    days: list[Day]

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def previous(self) -> date:
        return self.monday - timedelta(days=7)

    @property
    def next(self) -> date:
        return self.monday + timedelta(days=7)

    @property
    def zone_abbreviations(self) -> list[str]:
        """CST, or CST and CDT for a week with a clock change, in the order they occur."""
        names: list[str] = []
        for day in [*(day.date for day in self.days), self.next]:
            name = day_start(day, self.zone).astimezone(self.zone).tzname() or ""
            if name not in names:
                names.append(name)
        return names

    @property
    def working_hours(self) -> tuple[int, int] | None:
        """
        The hours the week is worked, in whole hours: from the earliest start of its weekly
        hours, date overrides and bookings to the latest end; None for a week with none.
        """
        stretches = [s for day in self.days for s in [*day.open, *day.bookings]]
        if not stretches:
            return None
        first = min(s.start_minute for s in stretches) // 60
        last = -(-max(s.end_minute for s in stretches) // 60)
        return first, max(last, first + 1)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of a local date (in zones whose clocks skip midnight, after the gap)."""
    return day_end_instant(day, time.min, zone)


def _subtract(stretches: list[Interval], busy: list[Interval]) -> list[Interval]:
    free: list[Interval] = []
    for start, end in stretches:
        cursor = start
        for busy_start, busy_end in sorted(busy):
            if busy_end <= cursor or busy_start >= end:
                continue
            if busy_start > cursor:
                free.append((cursor, busy_start))
            cursor = max(cursor, busy_end)
        if cursor < end:
            free.append((cursor, end))
    return free


def _open_intervals(day: date, ranges: list[Hours], zone: ZoneInfo) -> list[Interval]:
    """The day's hours as instants; a time the clock skips moves to the end of the gap."""
    found = []
    for hours in ranges:
        start = day_end_instant(day, hours.start, zone)
        end = day_end_instant(day, hours.end, zone)
        if end > start:
            found.append((start, end))
    return found


def week_schedule(
    *, provider: Provider, monday: date, today: date, now: datetime | None = None
) -> Week:
    """
    The provider's week from `monday` (a Monday) in their zone: three queries whatever the
    number of appointments (weekly hours, the week's overrides, the week's appointments).
    Cancelled appointments are left out: their time is free again. Time before `now` is
    never free: nobody can book it any more.
    """
    zone = provider.zone
    week_start, week_end = day_start(monday, zone), day_start(monday + timedelta(days=7), zone)
    weekly, overrides = provider_hours(provider, monday, monday + timedelta(days=6))
    # The index on (provider, start) serves this: one read for the whole week, of plain
    # values (a full week is hundreds of rows; model instances would cost more than the read).
    appointments = [
        Booking(
            start=start.astimezone(zone),
            end=end.astimezone(zone),
            appointment_id=pk,
            client_id=client_id,
            status=status,
            client_name=User.full_name_of(name, email),
            type_name=type_name,
        )
        for pk, start, end, status, client_id, name, email, type_name in Appointment.objects.filter(
            provider=provider, start__gte=week_start, start__lt=week_end
        )
        .exclude(status=Appointment.Status.CANCELLED)
        .order_by("start")
        .values_list(
            "pk",
            "start",
            "end",
            "status",
            "client_id",
            "client__name",
            "client__email",
            "appointment_type__name",
        )
    ]
    days = []
    day = monday
    for _ in range(7):
        begins, ends = day_start(day, zone), day_start(day + ONE_DAY, zone)
        ranges = overrides[day] if day in overrides else weekly.get(day.weekday(), [])
        open_ = _open_intervals(day, ranges, zone)
        mine = [b for b in appointments if begins <= b.start < ends]
        taken = [(b.start, b.end) for b in mine if b.start < b.end]
        if now is not None:
            taken.append((begins, min(max(now, begins), ends)))
        free = _subtract(open_, taken)
        days.append(
            Day(
                date=day,
                is_today=day == today,
                is_past=day < today,
                is_day_off=not open_,
                open=[_local(Stretch, start, end, zone) for start, end in open_],
                free=[_local(Stretch, start, end, zone) for start, end in free],
                bookings=mine,
            )
        )
        day += ONE_DAY
    return Week(provider=provider, zone=zone, monday=monday, days=days)


def _local(kind, start: datetime, end: datetime, zone: ZoneInfo):
    return kind(start=start.astimezone(zone), end=end.astimezone(zone))

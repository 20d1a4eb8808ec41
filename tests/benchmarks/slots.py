"""
How long the slot engine takes for a provider with 2,000 bookings over a 60-day horizon.

    make benchmark                  # SQLite in a temporary file
    DATABASE_URL=postgres://... make benchmark

Prints the median and 95th percentile of: the pure engine (busy times already in memory),
and open_slots() (the database reads plus the engine), over repeated runs.
"""

import time
from datetime import UTC, datetime, timedelta

import scratch  # Django set up on a scratch database: first
from django.core.management import call_command
from django.db import connection

from appointments import selectors
from appointments.models import (
    Appointment,
    AppointmentType,
    CareTeamMember,
    Provider,
    WeeklyHours,
)
from appointments.slots import bookable_starts
from portal.models import User

BOOKINGS = 2000


def main() -> None:
    call_command("migrate", verbosity=0)
    suffix = str(int(time.time() * 1000))
    provider_user = User.objects.create_user(f"bench-provider-{suffix}@example.com", "x")
    client = User.objects.create_user(f"bench-client-{suffix}@example.com", "x")
    provider = Provider.objects.create(
        user=provider_user, display_name="Bench", time_zone="America/Chicago"
    )
    CareTeamMember.objects.create(provider=provider, client=client)
    # Open every day 07:00-21:00 with 15-minute slots: 2,000 bookings fill about 60% of them.
    WeeklyHours.objects.bulk_create(
        WeeklyHours(provider=provider, weekday=d, start="07:00", end="21:00") for d in range(7)
    )
    provider.slot_step_minutes = 15
    provider.save()
    kind = AppointmentType.objects.create(
        provider=provider, name="Session", duration_minutes=15, modality="phone"
    )
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    free = selectors.open_slots(provider=provider, appointment_type=kind, client=client, now=now)
    chosen = [free[i * len(free) // BOOKINGS] for i in range(BOOKINGS)]
    others = User.objects.bulk_create(
        User(email=f"bench-{suffix}-{i}@example.com", password="!") for i in range(len(chosen))
    )
    Appointment.objects.bulk_create(
        Appointment(
            provider=provider,
            client=who,
            appointment_type=kind,
            start=start,
            end=start + kind.duration,
            booked_by=who,
        )
        for who, start in zip(others, chosen, strict=True)
    )
    weekly, overrides = selectors.provider_hours(
        provider, now.date(), (now + timedelta(days=61)).date()
    )
    busy = list(provider.appointments.values_list("start", "end"))

    engine_median, engine_p95, slots = scratch.timed(
        lambda: bookable_starts(
            rules=provider.booking_rules,
            zone=provider.zone,
            weekly=weekly,
            overrides=overrides,
            busy=busy,
            duration=kind.duration,
            now=now,
            window_start=now,
            window_end=now + timedelta(days=60),
        )
    )
    full_median, full_p95, _ = scratch.timed(
        lambda: selectors.open_slots(
            provider=provider, appointment_type=kind, client=client, now=now
        )
    )
    print(f"database: {connection.vendor}; bookings: {len(busy)}; horizon: 60 days")
    print(f"free start times found: {len(slots)} (of {len(free)} before the bookings)")
    print(f"engine only:       median {engine_median:6.2f} ms   p95 {engine_p95:6.2f} ms")
    print(f"open_slots() total: median {full_median:6.2f} ms   p95 {full_p95:6.2f} ms")


if __name__ == "__main__":
    main()

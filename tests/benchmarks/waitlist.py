"""
How long matching one freed time takes with 1,000 waitlist entries across 50 providers.

    .venv/bin/python tests/benchmarks/waitlist.py                 # SQLite in a temporary file
    DATABASE_URL=postgres://... .venv/bin/python tests/benchmarks/waitlist.py

Prints the queries one match reads (a fixed number: no query per entry) and the median and
95th percentile of find_matches() (reads plus the pure matcher) for a cancel at a provider
with 20 entries, and of the pure matcher alone.
"""

import random
import time
from datetime import UTC, datetime, timedelta
from datetime import time as time_of_day
from zoneinfo import ZoneInfo

import scratch  # Django set up on a scratch database: first
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from appointments import waitlist
from appointments.matching import Schedule, Wish, match
from appointments.models import (
    AppointmentType,
    CareTeamMember,
    Provider,
    WaitlistEntry,
    WaitlistOpening,
    WeeklyHours,
)
from appointments.slots import Hours
from portal.models import User

PROVIDERS = 50
ENTRIES = 1000
ZONES = ["America/Chicago", "Europe/London", "America/New_York", "Asia/Kolkata"]


def main() -> None:
    call_command("migrate", verbosity=0)
    rng = random.Random(14)
    suffix = str(int(time.time() * 1000))
    providers, kinds = [], []
    for p in range(PROVIDERS):
        user = User.objects.create_user(f"bench-wl-provider-{suffix}-{p}@example.com", "x")
        provider = Provider.objects.create(
            user=user,
            display_name=f"Provider {p}",
            time_zone=ZONES[p % len(ZONES)],
            waitlist_enabled=True,
        )
        WeeklyHours.objects.bulk_create(
            WeeklyHours(provider=provider, weekday=d, start="08:00", end="18:00") for d in range(7)
        )
        providers.append(provider)
        kinds.append(
            AppointmentType.objects.create(
                provider=provider, name="Session", duration_minutes=50, modality="phone"
            )
        )
    clients = User.objects.bulk_create(
        User(
            email=f"bench-wl-{suffix}-{i}@example.com",
            password="!",
            time_zone=rng.choice(ZONES),
        )
        for i in range(ENTRIES)
    )
    CareTeamMember.objects.bulk_create(
        CareTeamMember(provider=providers[i % PROVIDERS], client=c) for i, c in enumerate(clients)
    )
    WaitlistEntry.objects.bulk_create(
        WaitlistEntry(
            client=c,
            provider=providers[i % PROVIDERS],
            appointment_type=kinds[i % PROVIDERS],
            weekdays=sorted(rng.sample(range(7), rng.randint(0, 4))),
            parts=sorted(rng.sample(["morning", "afternoon", "evening"], rng.randint(0, 2))),
        )
        for i, c in enumerate(clients)
    )
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    provider = providers[0]
    # 10:00 on the provider's clock in three days: inside their hours.
    day = (now + timedelta(days=3)).astimezone(provider.zone).date()
    start = datetime.combine(day, time_of_day(10), tzinfo=provider.zone).astimezone(UTC)
    opening = WaitlistOpening.objects.create(
        provider=provider, start=start, end=start + timedelta(minutes=50), cause="cancelled"
    )
    with CaptureQueriesContext(connection) as queries:
        matches, _ = waitlist.find_matches(provider, opening, now)
    median, p95, _ = scratch.timed(lambda: waitlist.find_matches(provider, opening, now))
    entries = WaitlistEntry.objects.filter(provider=provider).count()
    print(f"database: {connection.vendor}; entries: {ENTRIES} across {PROVIDERS} providers")
    print(f"entries of the provider whose time opened: {entries}; matched: {len(matches)}")
    print(f"queries for one match: {len(queries)}")
    print(f"find_matches() total: median {median:6.2f} ms   p95 {p95:6.2f} ms")
    # The pure matcher on all 1,000 entries as if they waited for one provider.
    hours = {d: [Hours(time_of_day(8), time_of_day(18))] for d in range(7)}
    schedule = Schedule(provider.booking_rules, provider.zone, hours, {}, [])
    wishes = [
        Wish(i, timedelta(minutes=50), ZoneInfo(rng.choice(ZONES)),
             weekdays=frozenset(rng.sample(range(7), rng.randint(0, 4))))
        for i in range(ENTRIES)
    ]  # fmt: skip
    freed = (start, start + timedelta(minutes=50))
    pure_median, pure_p95, found = scratch.timed(
        lambda: match(schedule, wishes, now=now, freed=freed)
    )
    print(
        f"pure matcher, {ENTRIES} entries: median {pure_median:6.2f} ms   p95 {pure_p95:6.2f} ms"
        f"   (matched {len(found)})"
    )


if __name__ == "__main__":
    main()

"""
Booking a 52-session weekly series and ending it, on PostgreSQL with a million appointments.

    make benchmark-series                        # the data set of tests/benchmarks/bigdata.py
    make benchmark-series ARGS="--rounds 5"      # a quick look

The client `bench-booker-0@example.com` books a weekly series with `bench-provider-2@example.com`
(about 2,000 appointments of their own, a waitlist on, some of the next eight weeks booked) at
a time free every week of the year, and ends it: from its first session themselves
(series_cancel_following, each session under its own terms) or the practice from its first date
(series_end). Each is done with 4 sessions and with 52, in turns with the floor: the same client
booking one appointment at the same time and cancelling it (appointment_book,
appointment_cancel), in the same run. Prints the queries each makes (the same for 4 sessions as
for 52: no query per session), the median time and its ratio to the floor's median; the ratios
mean more than the times on a shared, noisy machine. Everything booked is cancelled again, and
the provider's horizon and type are put back as they were.
"""

import argparse
import statistics
import sys
import time as clock
from collections.abc import Callable
from datetime import datetime, time, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
# First: it sets Django up on the bench database.
from tests.benchmarks import bigdata  # noqa: E402, I001

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from appointments.models import Appointment, AppointmentType, Provider  # noqa: E402
from appointments.recurrence import Repeat  # noqa: E402
from appointments.series import (  # noqa: E402
    SeriesEnd,
    plan_series,
    series_book,
    series_cancel_following,
    series_end,
)
from appointments.services import appointment_book, appointment_cancel  # noqa: E402
from portal.models import User  # noqa: E402

SIZES = (4, 52)
PROVIDER_EMAIL = f"bench-provider-{bigdata.FIRST_BOOKING_PROVIDER}@example.com"
# A year of weeks, and the week before the first.
HORIZON_DAYS = 400


def free_weekly_time(client: User, provider: Provider, kind: AppointmentType) -> datetime:
    """The first hour, a week ahead or more, that is free every week for 52 weeks."""
    today = timezone.now().astimezone(provider.zone).date()
    for days in range(7, 14):
        for hour in range(7, 21):
            start = datetime.combine(today + timedelta(days=days), time(hour), tzinfo=provider.zone)
            plan = plan_series(
                client=client,
                provider=provider,
                appointment_type=kind,
                first_start=start,
                repeat=Repeat.WEEKLY,
                end=SeriesEnd(count=max(SIZES)),
            )
            if not plan.clashes:
                return start
    raise SystemExit(f"{provider} has no hour free every week for a year.")


class Operation:
    """One thing measured: its queries (counted on the first run) and its times."""

    def __init__(self, name: str, floor: "Operation | None" = None):
        self.name = name
        self.floor = floor
        self.queries: int | None = None
        self.samples: list[float] = []

    def run(self, fn: Callable, **arguments):
        with CaptureQueriesContext(connection) as captured:
            began = clock.perf_counter()
            result = fn(**arguments)
            self.samples.append((clock.perf_counter() - began) * 1000)
        if self.queries is None:
            self.queries = len(captured)
        return result

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def vs_floor(self) -> float:
        assert self.floor is not None
        return self.median / self.floor.median


def measure(rounds: int) -> None:
    provider = Provider.objects.get(user__email=PROVIDER_EMAIL)
    client = User.objects.get(email=bigdata.booker_email(0))
    kind = AppointmentType.objects.get(provider=provider, name="Session")
    practice = provider.user
    book_one, cancel_one = Operation("floor: book one"), Operation("floor: cancel it")
    operations = {
        size: {
            "book": Operation("book the series (client)", book_one),
            "following": Operation("end it from the first session (client)", cancel_one),
            "end": Operation("end it from the first date (practice)", cancel_one),
        }
        for size in SIZES
    }
    horizon, repeats = provider.horizon_days, kind.clients_may_repeat
    provider.horizon_days, kind.clients_may_repeat = HORIZON_DAYS, True
    provider.save(update_fields=["horizon_days"])
    kind.save(update_fields=["clients_may_repeat"])
    try:
        start = free_weekly_time(client, provider, kind)
        first_day = start.astimezone(provider.zone).date()

        began = timezone.now()
        schedule = {"client": client, "provider": provider, "appointment_type": kind}

        def book(size: int):
            booked = operations[size]["book"].run(
                series_book,
                **schedule,
                first_start=start,
                repeat=Repeat.WEEKLY,
                end=SeriesEnd(count=size),
                booked_by=client,
            )
            assert len(booked.sessions) == size
            return booked

        for _ in range(rounds):
            one = book_one.run(appointment_book, **schedule, start=start, booked_by=client)
            cancel_one.run(appointment_cancel, appointment=one, actor=client)
            for size in SIZES:
                first = book(size).sessions[0]
                ended = operations[size]["following"].run(
                    series_cancel_following, appointment=first, actor=client
                )
                assert len(ended.cancelled) == size and not ended.fees
                ended = operations[size]["end"].run(
                    series_end, series=book(size).series, actor=practice, from_day=first_day
                )
                assert len(ended.cancelled) == size
        # Everything booked was cancelled again: the times are free for the next run.
        assert not Appointment.objects.active().filter(client=client, created_at__gte=began)
    finally:
        provider.horizon_days, kind.clients_may_repeat = horizon, repeats
        provider.save(update_fields=["horizon_days"])
        kind.save(update_fields=["clients_may_repeat"])
    appointments = Appointment.objects.count()
    own = Appointment.objects.filter(provider=provider).count()
    print(
        f"\n{bigdata.database_name()}: {appointments:,} appointments, {own:,} of the provider's; "
        f"PostgreSQL {connection.pg_version // 10000}; {rounds} rounds in turns; weekly at "
        f"{start.astimezone(provider.zone):%a %H:%M %Z} from {first_day}"
    )
    print(
        f"{'':<40}{'queries':>16}{'median ms':>18}{'vs floor':>16}\n"
        f"{'sessions':<40}" + "".join(f"{size:>8}" for size in SIZES) * 3
    )
    for floor in (book_one, cancel_one):
        print(f"{floor.name:<40}{floor.queries:>8}{'':>8}{floor.median:>8.1f}{'':>8}{1:>8.2f}")
    for key in ("book", "following", "end"):
        row = [operations[size][key] for size in SIZES]
        print(
            f"{row[0].name:<40}"
            + "".join(f"{each.queries:>8}" for each in row)
            + "".join(f"{each.median:>8.1f}" for each in row)
            + "".join(f"{each.vs_floor:>8.2f}" for each in row)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--appointments", type=int, default=bigdata.DEFAULT_APPOINTMENTS)
    parser.add_argument("--rebuild", action="store_true", help="build the data set again")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    bigdata.ensure(args.appointments, rebuild=args.rebuild)
    measure(args.rounds)


if __name__ == "__main__":
    main()

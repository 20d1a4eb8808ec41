"""
The big data set `make benchmark-pages` measures against, bulk-loaded into PostgreSQL with COPY.

    .venv/bin/python tests/benchmarks/bigdata.py [--appointments 1000000] [--rebuild]

The database is the one BENCH_DATABASE_URL names (default
postgres://postgres@127.0.0.1:5432/portal_bench); it is dropped and made again when it does
not hold a data set of the size asked for, and re-used as it is when it does.

At the default size: 500 providers, 50,000 clients, 1,000,000 appointments (about 2 million
history rows, 28,000 fees) and 300,000 chat messages. Everything scales with --appointments
(one provider per 2,000 appointments, one client per 20, twelve messages in every second
client's conversation). Providers book hourly sessions in their own working hours: most of a
year and more behind them, 40% of the next eight weeks ahead. Clients book only with their
first provider, so neither exclusion constraint against double booking is ever broken. Every
provider's policy is free up to a day ahead, then charges; about 3% of past appointments carry
the fee their fate calls for (a late cancellation, a missed session, a session moved late),
with the history entries the services write, most paid or waived since, some pending.

The one client the page benchmark signs in as, `bench-client@example.com`, has 20 upcoming
appointments (from a week ahead, so a data set stays valid for a week), 200 past ones (20
cancelled, 10 missed) with six fees (three for missed sessions, two late cancellations, a late
move; two pending), a conversation of 120 messages with their first provider and one of 30
(two unread) with their second, and a place on their first provider's waitlist (mornings)
with a live offer: that provider's 11:00 on or just after the day of their first upcoming
appointment, freed by another client's cancellation. Half the providers keep a waitlist.

Providers are staff in the practice staff group, as provider_create makes them. The first,
`bench-provider-0@example.com`, whose week the page benchmark opens in the admin, has set up
the second step: an authenticator app and recovery codes.

Sixteen more clients, `bench-booker-<n>@example.com`, have no appointments: the booking run
books as them with four providers whose hours run 07:00 to 21:00 every day. All passwords are
`bench-password-2026`.
"""

import argparse
import json
import os
import random
import secrets
import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
BENCH_DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench"
)
os.environ["DATABASE_URL"] = BENCH_DATABASE_URL
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.project.settings")

import django  # noqa: E402

from portal.project import process  # noqa: E402

# Its COPYs of a million rows run longer than a web request's statement may: it is a command.
# (pages.py, which imports it, only times pages in process, where that changes nothing.)
process.mark_command()
django.setup()

import psycopg  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.management.color import no_style  # noqa: E402
from django.db import DatabaseError, connection, models, transaction  # noqa: E402

from appointments.models import (  # noqa: E402
    Appointment,
    AppointmentEvent,
    AppointmentType,
    CareTeamMember,
    Fee,
    PartOfDay,
    Policy,
    Provider,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistOpening,
    WeeklyHours,
)
from chat.models import Conversation, Message, ReadState  # noqa: E402
from policies.terms import Late, PolicyTerms  # noqa: E402
from portal.models import User  # noqa: E402
from portal.practice import ensure_practice_group  # noqa: E402

DEFAULT_APPOINTMENTS = 1_000_000
PASSWORD = "bench-password-2026"
CLIENT_EMAIL = "bench-client@example.com"
BOOKERS = 16
BOOKING_PROVIDERS = 4
# The special client's providers are 0 and 1; the booking providers follow them.
FIRST_BOOKING_PROVIDER = 2
SESSION_MINUTES = 50
FUTURE_DAYS = 56
FUTURE_SHARE = 0.4
PAST_SHARE = 0.75
MESSAGES_PER_CONVERSATION = 12
ZONES = ["America/Chicago", "America/New_York", "America/Denver", "America/Los_Angeles"]
MARKER = "bench_dataset"
# What the marker says was built. Bump it whenever the build makes different rows: a database
# holding an older data set (of any size) is then built again rather than re-used.
DATASET_VERSION = 6
# Every provider's policy: free up to a day ahead, then fees. Fees are charged under it.
POLICY = PolicyTerms(
    late_cancel=Late.FEE,
    late_cancel_fee=Decimal("75.00"),
    late_reschedule=Late.FEE,
    late_reschedule_fee=Decimal("25.00"),
    no_show_fee=Decimal("100.00"),
    currency="USD",
    text="Cancel or move for free up to a day ahead. Later, a $75 fee to cancel and $25 to "
    "move; a missed session is $100.",
)
FEE_AMOUNTS = {
    Fee.Kind.LATE_CANCEL: POLICY.late_cancel_fee,
    Fee.Kind.LATE_RESCHEDULE: POLICY.late_reschedule_fee,
    Fee.Kind.NO_SHOW: POLICY.no_show_fee,
}
# Which past appointments carry a fee, by status: a late cancellation, a missed session, a
# session moved late (and then held). With 8% cancelled and 4% missed, about 3% of the past.
FEE_CHANCES = {
    Appointment.Status.CANCELLED: (Fee.Kind.LATE_CANCEL, 0.15),
    Appointment.Status.NO_SHOW: (Fee.Kind.NO_SHOW, 0.35),
    Appointment.Status.COMPLETED: (Fee.Kind.LATE_RESCHEDULE, 0.005),
}
# The special client's hour (Chicago) with each of their providers, 0 and 1.
SPECIAL_HOURS = {0: 10, 1: 14}
NO_DETAILS = "{}"


def booker_email(n: int) -> str:
    return f"bench-booker-{n}@example.com"


def database_name() -> str:
    return urlsplit(BENCH_DATABASE_URL).path.lstrip("/")


def maintenance_url() -> str:
    """The same server's `postgres` database, from which the bench database is dropped and made."""
    parts = urlsplit(BENCH_DATABASE_URL)
    return urlunsplit(("postgresql", parts.netloc, "/postgres", parts.query, ""))


def built_size() -> int | None:
    """
    The size of the data set the database holds, if it holds a complete one of this version
    still in date. (A marker without a version column is older still: the SELECT fails.)
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT appointments, version FROM {MARKER}")
            row = cursor.fetchone()
        if row is None or row[1] != DATASET_VERSION:
            return None
        # Upcoming appointments start a week ahead; once the first has passed, rebuild.
        client = User.objects.get(email=CLIENT_EMAIL)
        now = datetime.now(UTC)
        upcoming = Appointment.objects.active().filter(client=client, start__gt=now)
        if upcoming.count() < 20:
            return None
        # The offer the waitlist pages open, still live (it starts after the first upcoming).
        offer = WaitlistOffer.objects.filter(
            entry__client=client, status=WaitlistOffer.Status.OFFERED, start__gt=now
        )
        if not offer.exists():
            return None
    except (DatabaseError, User.DoesNotExist):
        return None
    finally:
        connection.close()
    return row[0]


def is_ours_or_new() -> bool:
    """Whether the database is missing, empty, or one this script made (it has the marker)."""
    try:
        with connection.cursor() as cursor:
            tables = connection.introspection.table_names(cursor)
    except DatabaseError:
        return True  # it does not exist yet
    finally:
        connection.close()
    return not tables or MARKER in tables


def recreate_database() -> None:
    name = database_name()
    # A safety catch: BENCH_DATABASE_URL pointed at a real database must not drop it.
    if not is_ours_or_new():
        raise SystemExit(
            f"{name} holds tables but was not made by this script; refusing to drop it. "
            "Point BENCH_DATABASE_URL at a database of its own (the default is portal_bench)."
        )
    with psycopg.connect(maintenance_url(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        # Made at once, empty, so that a build cut short is still known as this script's.
        cursor.execute(
            f"CREATE TABLE {MARKER} (appointments bigint, version int, built_at timestamptz)"
        )


def copy_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[tuple]) -> int:
    """
    COPY rows into the model's table. `columns` are attnames; every other column gets the
    field's default (the same value for every row), so no NOT NULL column is left out.
    """
    fields = [f for f in model._meta.concrete_fields if f.attname not in columns]
    tail = tuple(f.get_db_prep_save(f.get_default(), connection) for f in fields)
    names = ", ".join(
        connection.ops.quote_name(model._meta.get_field(c).column)
        for c in [*columns, *(f.attname for f in fields)]
    )
    count = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        with raw.copy(f"COPY {model._meta.db_table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row + tail)
                count += 1
    return count


@dataclass(frozen=True)
class Cell:
    """A booked hour the build fixes in advance: whose, what became of it, and its fee."""

    client: int
    status: str
    # (kind, status) of its fee, the status None to let it fall out by age; None for no fee.
    fee: tuple[str, str | None] | None = None
    # When a cancelled one was cancelled, if the build must know.
    cancelled_at: datetime | None = None


class Builder:
    """Writes the data set in table order, handing out ids itself so rows can refer to them."""

    def __init__(self, appointments: int, now: datetime):
        self.target = appointments
        self.now = now
        self.rng = random.Random(13)
        # The random ids rows carry (calendar UIDs, email seeds) draw from their own generator,
        # so that the data set itself stays the same as before they existed. Fees draw from
        # theirs for the same reason: the appointments are those of the versions before fees.
        self.ids = random.Random(29)
        self.fee_rng = random.Random(37)
        self.providers = max(FIRST_BOOKING_PROVIDER + BOOKING_PROVIDERS, appointments // 2000)
        self.clients = max(40, appointments // 20)
        self.password = make_password(PASSWORD)
        self.terms = json.dumps(POLICY.as_json())
        # Ids: provider users first, then the special client, the bookers, the clients.
        self.provider_user = lambda p: 1 + p
        self.special = 1 + self.providers
        self.booker = lambda n: self.special + 1 + n
        self.client_user = lambda c: self.special + 1 + BOOKERS + c
        self.counts: dict[str, int] = {}
        # The time the special client is offered from the waitlist: provider 0's 11:00
        # (Chicago), free for both of them, on the first upcoming appointment's day or after
        # it (so it stays ahead as long as the data set is in date), freed hours ago by another
        # client's cancellation.
        zone = ZoneInfo(ZONES[0])
        day = weekdays(now.astimezone(zone).date() + timedelta(days=8), 1, 1)[0]
        self.opening_start = local(day, 11, zone)
        self.opened_at = now - timedelta(hours=3)

    def session_type(self, p: int) -> int:
        return 2 * p + 1

    def home_clients(self, p: int) -> list[int]:
        return list(range(p, self.clients, self.providers))

    def users(self) -> Iterable[tuple]:
        joined = self.now - timedelta(days=800)
        for p in range(self.providers):
            yield (
                self.provider_user(p),
                self.password,
                f"bench-provider-{p}@example.com",
                f"Dr. Provider {p}",
                ZONES[0 if p < 2 else p % len(ZONES)],
                True,
                joined,
            )
        yield (
            self.special,
            self.password,
            CLIENT_EMAIL,
            "Bench Client",
            "America/Chicago",
            False,
            joined,
        )
        for n in range(BOOKERS):
            yield (
                self.booker(n),
                self.password,
                booker_email(n),
                f"Booker {n}",
                "America/New_York",
                False,
                joined,
            )
        for c in range(self.clients):
            yield (
                self.client_user(c),
                self.password,
                f"bench-client-{c}@example.com",
                f"Client {c}",
                ZONES[c % len(ZONES)],
                False,
                joined,
            )

    def zone(self, p: int) -> str:
        return ZONES[0 if p < 2 else p % len(ZONES)]

    def is_booking_provider(self, p: int) -> bool:
        return FIRST_BOOKING_PROVIDER <= p < FIRST_BOOKING_PROVIDER + BOOKING_PROVIDERS

    def provider_rows(self) -> Iterable[tuple]:
        for p in range(self.providers):
            yield (
                1 + p,
                self.provider_user(p),
                f"Provider {p}",
                "LMFT",
                self.zone(p),
                timedelta(hours=2),
                60,
                timedelta(0),
                timedelta(0),
                30,
                p % 2 == 0,  # half the practices keep a waitlist, the special client's first's
            )

    def weekly_hours(self) -> Iterable[tuple]:
        pk = 0
        for p in range(self.providers):
            # The booking providers work every day, long hours: room for many booking runs.
            days, hours = (
                (range(7), ("07:00", "21:00"))
                if self.is_booking_provider(p)
                else (range(5), ("09:00", "17:00"))
            )
            for weekday in days:
                pk += 1
                yield (pk, 1 + p, weekday, *hours)

    def appointment_types(self) -> Iterable[tuple]:
        for p in range(self.providers):
            yield (
                self.session_type(p),
                1 + p,
                "Session",
                SESSION_MINUTES,
                "video",
                "https://video.example.org/room",
                True,
                True,
            )
            yield (self.session_type(p) + 1, 1 + p, "Intro call", 20, "phone", "", True, True)

    def care_team(self) -> Iterable[tuple]:
        pk = 0
        for c in range(self.clients):
            pk += 1
            yield (pk, c % self.providers + 1, self.client_user(c))
            if c % 5 == 0:  # a fifth of the clients see a second provider
                pk += 1
                yield (pk, (c + 1) % self.providers + 1, self.client_user(c))
        for p in (0, 1, 2):
            pk += 1
            yield (pk, 1 + p, self.special)
        for n in range(BOOKERS):
            pk += 1
            yield (pk, 1 + FIRST_BOOKING_PROVIDER + n % BOOKING_PROVIDERS, self.booker(n))

    def cells(self, p: int, count: int, skip: set[datetime]) -> Iterable[tuple[datetime, bool]]:
        """
        (start, is_future) of `count` booked hours, none of them in `skip`: ahead at 40%,
        then back from today at 75%.
        """
        zone = ZoneInfo(self.zone(p))
        today = self.now.astimezone(zone).date()
        given = 0
        for offset in range(1, FUTURE_DAYS + 1):
            day = today + timedelta(days=offset)
            if day.weekday() < 5:
                for hour in range(9, 17):
                    start = local(day, hour, zone)
                    if given < count and start not in skip and self.rng.random() < FUTURE_SHARE:
                        given += 1
                        yield start, True
        day = today
        while given < count:
            day -= timedelta(days=1)
            if day.weekday() < 5:
                for hour in range(16, 8, -1):
                    start = local(day, hour, zone)
                    if given < count and start not in skip and self.rng.random() < PAST_SHARE:
                        given += 1
                        yield start, False

    def fixed_cells(self) -> dict[tuple[int, datetime], Cell]:
        """
        The special client's hours: 10:00 with provider 0, 14:00 with provider 1 (Chicago).
        Their fees are fixed here, a share like everyone's (6 of 200 past): (provider, n-th
        weekday back) -> (kind, status). And the cancelled hour their waitlist offer is for.
        """
        fees = {
            (0, 5): (Fee.Kind.NO_SHOW, Fee.Status.PENDING),
            (0, 13): (Fee.Kind.LATE_CANCEL, Fee.Status.PAID),
            (0, 56): (Fee.Kind.NO_SHOW, Fee.Status.PAID),
            (1, 22): (Fee.Kind.NO_SHOW, Fee.Status.WAIVED),
            (1, 33): (Fee.Kind.LATE_CANCEL, Fee.Status.PENDING),
            (1, 40): (Fee.Kind.LATE_RESCHEDULE, Fee.Status.PAID),
        }
        zone = ZoneInfo(ZONES[0])
        today = self.now.astimezone(zone).date()
        cells = {}
        for p, hour in SPECIAL_HOURS.items():
            for day in weekdays(today + timedelta(days=7), 1, 10):
                cells[(p, local(day, hour, zone))] = Cell(
                    self.special, Appointment.Status.SCHEDULED
                )
            for n, day in enumerate(weekdays(today - timedelta(days=1), -1, 100)):
                status = Appointment.Status.COMPLETED
                if n % 10 == 3:
                    status = Appointment.Status.CANCELLED
                elif n % 17 == 5:
                    status = Appointment.Status.NO_SHOW
                fee = fees.get((p, n))
                assert fee is None or FEE_CHANCES[status][0] == fee[0], (p, n)
                cells[(p, local(day, hour, zone))] = Cell(self.special, status, fee)
        cancelled = Appointment.Status.CANCELLED
        opened = Cell(self.client_user(0), cancelled, cancelled_at=self.opened_at)
        cells[(0, self.opening_start)] = opened
        return cells

    def appointments(self) -> Iterable[tuple]:
        """Appointments; their history rows and fees are gathered on the side for later COPYs."""
        fixed = self.fixed_cells()
        self.events: list[tuple] = []
        self.fees: list[tuple] = []
        pk = 0
        remaining = self.target
        for p in range(self.providers):
            count = remaining // (self.providers - p)
            mine = {start: cell for (q, start), cell in fixed.items() if q == p}
            starts = dict(self.cells(p, count - len(mine), set(mine)))
            starts.update({start: start > self.now for start in mine})
            clients = self.home_clients(p)
            provider_user = self.provider_user(p)
            # Every hour the provider ever had booked, the times moved from included.
            held = set(starts)
            for start in sorted(starts):
                pk += 1
                remaining -= 1
                if start in mine:
                    cell = mine[start]
                else:
                    client = self.client_user(self.rng.choice(clients))
                    status = self.generic_status(starts[start])
                    cell = Cell(client, status, None if starts[start] else self.generic_fee(status))
                lead = timedelta(days=self.rng.randint(3, 30))
                # Never booked after the build: a time weeks ahead was booked in the last days.
                booked_at = min(start - lead, self.now - lead / 10)
                first = start
                moved = cell.fee is not None and cell.fee[0] == Fee.Kind.LATE_RESCHEDULE
                if moved:  # booked days before the time it had first, and moved late from it
                    first = self.free_hour_before(p, held, start, cell.client)
                    held.add(first)
                    booked_at = min(booked_at, first - timedelta(days=2))
                end = start + timedelta(minutes=SESSION_MINUTES)
                yield (
                    pk,
                    1 + p,
                    cell.client,
                    self.session_type(p),
                    start,
                    end,
                    cell.status,
                    booked_at,
                    cell.client,
                    self.terms,
                    f"appointment-{self.random_id()}@bench.invalid",
                    int(moved),
                    int(moved),
                )
                self.history(pk, cell, provider_user, booked_at, first, start, end)

    def generic_status(self, future: bool) -> str:
        roll = self.rng.random()
        if future:
            return Appointment.Status.CANCELLED if roll < 0.08 else Appointment.Status.SCHEDULED
        if roll < 0.08:
            return Appointment.Status.CANCELLED
        return Appointment.Status.NO_SHOW if roll < 0.12 else Appointment.Status.COMPLETED

    def generic_fee(self, status: str) -> tuple[str, None] | None:
        """A fee's kind for a past appointment of this status, or None; its status comes later."""
        kind, chance = FEE_CHANCES[status]
        return (kind, None) if self.fee_rng.random() < chance else None

    def free_hour_before(self, p: int, held: set, start: datetime, client: int) -> datetime:
        """
        An hour within two weeks before `start` that the provider (`held` are all the hours
        they ever had booked) and the client had free: where a session moved late to `start`
        was first booked.
        """
        zone = ZoneInfo(self.zone(p))
        wall = start.astimezone(zone)
        busy = set(SPECIAL_HOURS.values()) if client == self.special else set()
        for back in range(1, 15):
            day = wall.date() - timedelta(days=back)
            if day.weekday() < 5:
                for hour in sorted(range(9, 17), key=lambda hour: abs(hour - wall.hour)):
                    candidate = local(day, hour, zone)
                    if candidate not in held and hour not in busy:
                        return candidate
        raise RuntimeError(f"provider {p} had no free hour in the two weeks before {start}")

    def history(
        self, pk: int, cell: Cell, provider_user: int, booked_at, first, start, end
    ) -> None:
        """
        The entries the services would have written, fees and their settling included;
        `first` is the time it was booked for, before a late move to `start`.
        """
        kind, client = AppointmentEvent.Kind, cell.client
        fee_kind = cell.fee[0] if cell.fee else None
        if first != start:
            self.event(pk, kind.BOOKED, client, booked_at, new_start=first)
            moved_at = first - self.late()
            self.event(pk, kind.RESCHEDULED, client, moved_at, old_start=first, new_start=start)
            self.charge(pk, cell, provider_user, client, moved_at)
        else:
            self.event(pk, kind.BOOKED, client, booked_at, new_start=start)
        if cell.status == Appointment.Status.COMPLETED:
            self.event(pk, kind.COMPLETED, None, end + timedelta(minutes=10))
        elif cell.status == Appointment.Status.CANCELLED:
            # A free cancellation came a day after booking, or sooner when that is still ahead.
            soon = min(timedelta(days=1), (min(start, self.now) - booked_at) / 2)
            at = start - self.late() if fee_kind else cell.cancelled_at or booked_at + soon
            self.event(pk, kind.CANCELLED, client, at)
            if fee_kind:
                self.charge(pk, cell, provider_user, client, at)
        elif cell.status == Appointment.Status.NO_SHOW:
            at = end + timedelta(hours=1)
            self.event(pk, kind.NO_SHOW, provider_user, at)
            if fee_kind:
                self.charge(pk, cell, provider_user, provider_user, at)

    def late(self) -> timedelta:
        """How long before the start a late change came: inside the policy's day."""
        return timedelta(minutes=self.fee_rng.randint(30, 23 * 60))

    def event(self, pk: int, kind: str, actor, at, *, old_start=None, new_start=None, details=None):
        self.events.append((pk, kind, actor, at, old_start, new_start, details or NO_DETAILS))

    def charge(self, pk: int, cell: Cell, provider_user: int, actor: int, at: datetime) -> None:
        """
        The fee of the cell's appointment, applied at `at` by `actor` (the client who changed
        it late, or the practice marking it missed), and paid or waived later, if it was.
        """
        assert cell.fee is not None
        kind, status = cell.fee
        settled_at = at + timedelta(days=3)
        if status is None:  # as it fell out: settled within six weeks, or still pending
            settled_at = at + timedelta(days=self.fee_rng.randint(1, 45))
            roll = self.fee_rng.random()
            if settled_at >= self.now or roll < 0.05:
                status = Fee.Status.PENDING
            else:
                status = Fee.Status.WAIVED if roll < 0.25 else Fee.Status.PAID
        fee_pk = len(self.fees) + 1
        amount = FEE_AMOUNTS[kind]
        self.fees.append((fee_pk, pk, cell.client, kind, amount, POLICY.currency, status, at))
        money = {"fee_id": fee_pk, "amount": str(amount), "currency": POLICY.currency}
        applied = json.dumps({"fee_id": fee_pk, "kind": kind} | money)
        self.event(pk, AppointmentEvent.Kind.FEE_APPLIED, actor, at, details=applied)
        if status != Fee.Status.PENDING:
            settled = {
                Fee.Status.PAID: AppointmentEvent.Kind.FEE_PAID,
                Fee.Status.WAIVED: AppointmentEvent.Kind.FEE_WAIVED,
            }[status]
            self.event(pk, settled, provider_user, settled_at, details=json.dumps(money))

    def event_rows(self) -> Iterable[tuple]:
        for pk, row in enumerate(self.events, start=1):
            yield (pk, *row, self.random_id())

    def random_id(self) -> uuid.UUID:
        return uuid.UUID(int=self.ids.getrandbits(128), version=4)

    def conversations(self) -> Iterable[tuple]:
        """(conversation row) while gathering its messages and read states on the side."""
        self.messages: list[tuple] = []
        self.read_states: list[tuple] = []
        threads = [(self.special, 0, 120, 0), (self.special, 1, 30, 2)]
        threads += [
            (self.client_user(c), c % self.providers, MESSAGES_PER_CONVERSATION, 0)
            for c in range(0, self.clients, 2)
        ]
        message_pk = 0
        for pk, (client, p, count, unread) in enumerate(threads, start=1):
            first = self.now - timedelta(days=count + 1)
            at = first
            for n in range(count):
                message_pk += 1
                at = first + timedelta(days=n, minutes=self.rng.randint(0, 600))
                sender = client if n % 2 == 0 else self.provider_user(p)
                if n >= count - unread:
                    sender = self.provider_user(p)
                body = f"Message {n + 1} of {count}: " + BODIES[n % len(BODIES)]
                key = uuid.UUID(int=self.rng.getrandbits(128))
                self.messages.append((message_pk, pk, sender, body, at, key))
            last = message_pk
            self.read_states.append((pk, client, last - unread))
            self.read_states.append((pk, self.provider_user(p), last))
            yield (pk, 1 + p, client, first, at)

    def practice_staff(self) -> list[tuple]:
        """Every provider in the practice staff group, as provider_create puts them."""
        # Read before the COPY starts: no other statement can run on its connection meanwhile.
        group = ensure_practice_group()
        return [(1 + p, self.provider_user(p), group.pk) for p in range(self.providers)]

    def second_factor(self) -> None:
        """
        The provider whose week is measured signs in to the admin with a second factor, as
        staff must: an authenticator app set up, and its recovery codes (pages.py adds one of
        its own to them for each run).
        """
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from portal.two_factor import new_recovery_codes

        user = User.objects.get(pk=self.provider_user(0))
        TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
        new_recovery_codes(user)

    def read_state_rows(self) -> Iterable[tuple]:
        for pk, row in enumerate(self.read_states, start=1):
            yield (pk, *row)

    def waitlist(self) -> int:
        """
        The special client waits for a morning with provider 0, and was offered the time
        another client's cancellation opened, as appointments.waitlist.make_offers offers it
        in the provider's mode (everyone at once, so no hold that runs out). Returns how many
        rows it wrote.
        """
        entry = WaitlistEntry.objects.create(
            client_id=self.special,
            provider_id=1,
            appointment_type_id=self.session_type(0),
            parts=[PartOfDay.MORNING],
            joined_at=self.now - timedelta(days=20),
        )
        opening = WaitlistOpening.objects.create(
            provider_id=1,
            start=self.opening_start,
            end=self.opening_start + timedelta(minutes=SESSION_MINUTES),
            cause=WaitlistOpening.Cause.CANCELLED,
            opened_at=self.opened_at,
            offered_at=self.opened_at,
        )
        WaitlistOffer.objects.create(
            entry=entry,
            opening=opening,
            start=self.opening_start,
            token=secrets.token_urlsafe(32),
            created_at=self.opened_at,
        )
        return 3

    def load(self) -> None:
        started = time.perf_counter()

        def step(label: str, model, columns, rows) -> None:
            began = time.perf_counter()
            self.counts[label] = copy_rows(model, columns, rows)
            took = time.perf_counter() - began
            print(f"  {label:<22} {self.counts[label]:>10,} rows  {took:6.1f} s", flush=True)

        with transaction.atomic():
            step(
                "users",
                User,
                ["id", "password", "email", "name", "time_zone", "is_staff", "date_joined"],
                self.users(),
            )
            step(
                "providers",
                Provider,
                [
                    "id",
                    "user_id",
                    "display_name",
                    "title",
                    "time_zone",
                    "min_notice",
                    "horizon_days",
                    "buffer_before",
                    "buffer_after",
                    "slot_step_minutes",
                    "waitlist_enabled",
                ],
                self.provider_rows(),
            )
            step(
                "weekly hours",
                WeeklyHours,
                ["id", "provider_id", "weekday", "start", "end"],
                self.weekly_hours(),
            )
            step(
                "practice staff",
                User.groups.through,
                ["id", "user_id", "group_id"],
                self.practice_staff(),
            )
            self.second_factor()
            step(
                "appointment types",
                AppointmentType,
                [
                    "id",
                    "provider_id",
                    "name",
                    "duration_minutes",
                    "modality",
                    "video_link",
                    "bookable_online",
                    "is_active",
                ],
                self.appointment_types(),
            )
            step(
                "policies",
                Policy,
                [
                    "id",
                    "provider_id",
                    "late_cancel",
                    "late_cancel_fee",
                    "late_reschedule",
                    "late_reschedule_fee",
                    "no_show_fee",
                    "currency",
                    "text",
                ],
                (
                    (
                        p + 1,
                        p + 1,
                        POLICY.late_cancel,
                        POLICY.late_cancel_fee,
                        POLICY.late_reschedule,
                        POLICY.late_reschedule_fee,
                        POLICY.no_show_fee,
                        POLICY.currency,
                        POLICY.text,
                    )
                    for p in range(self.providers)
                ),
            )
            step(
                "care team links",
                CareTeamMember,
                ["id", "provider_id", "client_id"],
                self.care_team(),
            )
            step(
                "appointments",
                Appointment,
                [
                    "id",
                    "provider_id",
                    "client_id",
                    "appointment_type_id",
                    "start",
                    "end",
                    "status",
                    "created_at",
                    "booked_by_id",
                    "policy_terms",
                    "calendar_uid",
                    "ics_sequence",
                    "client_reschedules",
                ],
                self.appointments(),
            )
            step(
                "history",
                AppointmentEvent,
                [
                    "id",
                    "appointment_id",
                    "kind",
                    "actor_id",
                    "at",
                    "old_start",
                    "new_start",
                    "details",
                    "email_seed",
                ],
                self.event_rows(),
            )
            self.events.clear()
            step(
                "fees",
                Fee,
                [
                    "id",
                    "appointment_id",
                    "client_id",
                    "kind",
                    "amount",
                    "currency",
                    "status",
                    "created_at",
                ],
                self.fees,
            )
            step(
                "conversations",
                Conversation,
                ["id", "provider_id", "client_id", "created_at", "last_message_at"],
                self.conversations(),
            )
            step(
                "chat messages",
                Message,
                ["id", "conversation_id", "sender_id", "body", "created_at", "client_key"],
                self.messages,
            )
            step(
                "read states",
                ReadState,
                ["id", "conversation_id", "user_id", "last_read_id"],
                self.read_state_rows(),
            )
            began = time.perf_counter()
            self.counts["waitlist"] = self.waitlist()
            took = time.perf_counter() - began
            print(f"  {'waitlist':<22} {self.counts['waitlist']:>10,} rows  {took:6.1f} s")
            tables = [
                User,
                User.groups.through,
                Provider,
                WeeklyHours,
                AppointmentType,
                Policy,
                CareTeamMember,
                Appointment,
                AppointmentEvent,
                Fee,
                Conversation,
                Message,
                ReadState,
            ]
            with connection.cursor() as cursor:
                # Ids were handed out here; the sequences must carry on after them.
                for sql in connection.ops.sequence_reset_sql(no_style(), tables):
                    cursor.execute(sql)
                cursor.execute(
                    f"INSERT INTO {MARKER} VALUES (%s, %s, %s)",
                    [self.target, DATASET_VERSION, self.now],
                )
        began = time.perf_counter()
        connection.close()
        # Plans like production's need statistics; VACUUM also sets the visibility map.
        with psycopg.connect(connection_url(), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
        print(f"  {'vacuum analyze':<22} {'':>10}       {time.perf_counter() - began:6.1f} s")
        print(f"built in {time.perf_counter() - started:.0f} s", flush=True)


BODIES = [
    "Thanks for today, see you next week.",
    "Could we move Thursday to the afternoon?",
    "Of course. 3pm works; I have changed it.",
    "I have a question about the exercises you gave me.",
    "Happy to go through them at the start of our next session.",
    "Running five minutes late, sorry!",
]


def connection_url() -> str:
    parts = urlsplit(BENCH_DATABASE_URL)
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))


def local(day: date, hour: int, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=zone).astimezone(UTC)


def weekdays(start: date, step: int, count: int) -> list[date]:
    """`count` Mondays to Fridays from `start` on (step 1) or back (step -1)."""
    days: list[date] = []
    day = start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=step)
    return days


def ensure(appointments: int = DEFAULT_APPOINTMENTS, *, rebuild: bool = False) -> None:
    """Make sure the bench database holds a data set of this size: re-use it, or build it."""
    if connection.vendor != "postgresql":
        raise SystemExit("BENCH_DATABASE_URL must name a PostgreSQL database (COPY is used).")
    if not rebuild and built_size() == appointments:
        print(f"Re-using {database_name()}: it holds the data set of {appointments:,}.")
        # A data set built before the newest migrations gets them (new columns come with
        # their defaults), so the pages measured are the code's, not the build's.
        call_command("migrate", verbosity=0)
        return
    print(f"Building {appointments:,} appointments into {database_name()} ...", flush=True)
    began = time.perf_counter()
    recreate_database()
    print(f"  {'migrate':<22} {'':>10}       {time.perf_counter() - began:6.1f} s", flush=True)
    Builder(appointments, datetime.now(UTC).replace(microsecond=0)).load()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1].strip())
    parser.add_argument("--appointments", type=int, default=DEFAULT_APPOINTMENTS)
    parser.add_argument("--rebuild", action="store_true", help="build even if it is there")
    args = parser.parse_args(argv)
    ensure(args.appointments, rebuild=args.rebuild)


if __name__ == "__main__":
    main()

"""
A client's pages take the same time however long their history: a client with 10,000
appointments and 3,000 fees (with as many of someone else's in the tables) waits at most twice
what a client with 200 waits, on the overview and on the first and last page of every list.

Times are medians of requests taken in turns, the long history's and the short one's, so that
a drift in the machine's load hits both alike; the queries must be the very same number. At
the size a test can build, a page's own work hides much of the database's, so the database's
work is counted too, exactly: the virtual machine steps SQLite takes, the buffers PostgreSQL
touches in each statement's plan. Reading a list by OFFSET, or a client's fees through their
appointments, multiplies it by the history's length.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, CareTeamMember, Fee
from tests.factories import AppointmentTypeFactory, UserFactory
from tests.timing import queries, ratio_of_medians

pytestmark = pytest.mark.django_db

LONG, SHORT = 10_000, 200
UPCOMING = 40  # booked ahead, whatever the history behind
RUNS = 15
PAGES = [
    reverse("appointments:list"),
    *(
        f"{reverse(f'appointments:{name}')}{query}"
        for name in ["upcoming", "past", "cancelled", "fees"]
        for query in ["", "?page=last"]
    ),
]


def history(client, kind, size: int) -> None:
    """
    `size` appointments an hour apart, most behind (one in seven cancelled, one in fifty
    missed), UPCOMING ahead; a fee on three in ten of those behind.
    """
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    appointments = []
    for number in range(size):
        ahead = number < UPCOMING
        start = now + timedelta(hours=number + 2) if ahead else now - timedelta(hours=number)
        status = "scheduled" if ahead else "completed"
        if not ahead and number % 7 == 0:
            status = "cancelled"
        elif not ahead and number % 50 == 1:
            status = "no_show"
        appointments.append(
            Appointment(
                provider=kind.provider,
                client=client,
                booked_by=client,
                appointment_type=kind,
                start=start,
                end=start + kind.duration,
                status=status,
                created_at=start - timedelta(days=7),
            )
        )
    Appointment.objects.bulk_create(appointments, batch_size=1000)
    behind = appointments[UPCOMING:]
    kinds = {"cancelled": "late_cancel", "no_show": "no_show", "completed": "late_reschedule"}
    Fee.objects.bulk_create(
        [
            Fee(
                appointment=appointment,
                kind=kinds[appointment.status],
                amount=25 + number % 4 * 10,
                currency="USD",
                status=["pending", "paid", "waived"][number % 3],
                created_at=appointment.start,
            )
            for number, appointment in enumerate(behind)
            if number % 10 < 3
        ],
        batch_size=1000,
    )


def signed_in(size: int) -> tuple[Client, object]:
    client = UserFactory()
    kind = AppointmentTypeFactory()
    CareTeamMember.objects.create(provider=kind.provider, client=client)
    history(client, kind, size)
    browser = Client()
    browser.force_login(client)
    return browser, client


def database_work(browser: Client, url: str) -> int:
    """
    How much the database does for a page's reads, each run again to its last row: SQLite's
    virtual machine steps, PostgreSQL's buffers. Sums of a client's fees are left out: they
    read each fee summed, as any sum must (the time test holds them to the goal).
    """
    with CaptureQueriesContext(connection) as captured:
        browser.get(url)
    reads = [
        query["sql"]
        for query in captured.captured_queries
        if query["sql"].lstrip().startswith("SELECT") and "SUM(" not in query["sql"]
    ]
    steps = [0]

    def step() -> int:
        steps[0] += 1
        return 0  # go on

    with connection.cursor() as cursor:
        for sql in reads:  # as the database ran it, its values in place
            if connection.vendor == "sqlite":
                connection.connection.set_progress_handler(step, 1)
                try:
                    cursor.execute(sql).fetchall()
                finally:
                    connection.connection.set_progress_handler(None, 0)
            else:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}")
                plan = cursor.fetchone()[0][0]["Plan"]
                steps[0] += plan.get("Shared Hit Blocks", 0) + plan.get("Shared Read Blocks", 0)
    return steps[0]


def test_a_long_history_costs_the_database_no_more_than_twice_a_short_ones():
    signed_in(LONG)  # someone else's history, in the same tables
    (long, _), (short, _) = signed_in(LONG), signed_in(SHORT)
    analyze()
    work = {}
    for url in PAGES:
        long.get(url), short.get(url)  # first visits: sessions, hint bits
        work[url] = (database_work(long, url), database_work(short, url))
    assert {url: pair for url, pair in work.items() if pair[0] > 2 * pair[1]} == {}


def analyze() -> None:
    if connection.vendor == "postgresql":  # as autovacuum would after a load this size
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Appointment._meta.db_table}, {Fee._meta.db_table}")


def test_a_long_history_costs_no_more_time_than_twice_a_short_ones():
    signed_in(LONG)  # someone else's history, in the same tables
    (long, client), (short, _) = signed_in(LONG), signed_in(SHORT)
    assert Fee.objects.of_client(client).count() > 2_900
    analyze()
    slow = {}
    for url in PAGES:
        assert queries(long, url) == queries(short, url), url
        ratio = ratio_of_medians(long, short, url, RUNS)
        if ratio > 2:
            slow[url] = round(ratio, 2)
    assert slow == {}, f"pages over twice the short history's time: {slow}"

"""
Twenty clients book weekly series that share one session, at one instant: in threads of this
process, across two processes of their own as two app servers would, and as signed-in
clients posting the review page's confirm to two gunicorn servers, ten each, against the
configured database (PostgreSQL in CI, and SQLite on a file). One series gets the shared
session; every other client is told that date clashed, and nothing of theirs is saved.
"""

from datetime import date, datetime, time, timedelta

import pytest
from django.db import connection
from django.db.models import Exists, OuterRef
from django.utils import timezone

from appointments.models import Appointment, AppointmentSeries, CareTeamMember
from appointments.recurrence import Repeat
from appointments.selectors import Clash
from tests.factories import UserFactory
from tests.series_race import Outcome, SeriesRequest, run_here, run_in_processes
from tests.series_race_http import Browsers, ServerProcess
from tests.workers import database_url

pytestmark = pytest.mark.django_db(transaction=True)
RACERS = 20


@pytest.fixture
def shared_day(provider) -> date:
    """A Tuesday two weeks ahead or more, on the provider's clock."""
    day = timezone.now().astimezone(provider.zone).date() + timedelta(weeks=2)
    return day + timedelta(days=(1 - day.weekday()) % 7)


@pytest.fixture
def requests(provider, session_type, shared_day) -> list[SeriesRequest]:
    """
    Client i's weekly series starts on the shared Tuesday at 10:00 and has one more session,
    i + 1 weeks later (the weeks between left out), so every two series share exactly one
    session: the first.
    """
    provider.horizon_days = 400
    provider.save()
    session_type.clients_may_repeat = True
    session_type.save()
    clients = UserFactory.create_batch(RACERS)
    CareTeamMember.objects.bulk_create(CareTeamMember(provider=provider, client=c) for c in clients)
    first = datetime.combine(shared_day, time(10), tzinfo=provider.zone)
    return [
        SeriesRequest(
            client=client.pk,
            provider=provider.pk,
            appointment_type=session_type.pk,
            first_start=first.isoformat(),
            repeat=Repeat.WEEKLY,
            count=i + 2,
            skip=[(shared_day + timedelta(weeks=w)).isoformat() for w in range(1, i + 1)],
        )
        for i, client in enumerate(clients)
    ]


def overlapping_pairs(provider) -> int:
    """Live appointments of the provider that overlap another live one: none, ever."""
    live = Appointment.objects.active().filter(provider=provider)
    others = live.exclude(pk=OuterRef("pk")).filter(
        start__lt=OuterRef("end"), end__gt=OuterRef("start")
    )
    return live.filter(Exists(others)).count()


def on(day: date, provider) -> list[Appointment]:
    starts_that_day = datetime.combine(day, time.min, tzinfo=provider.zone)
    return list(
        Appointment.objects.active().filter(
            provider=provider,
            start__gte=starts_that_day,
            start__lt=starts_that_day + timedelta(days=1),
        )
    )


def assert_one_series_holds_the_shared_day(outcomes, requests, provider, shared_day):
    assert all(isinstance(each, Outcome) for each in outcomes), outcomes
    winners = [n for n, each in enumerate(outcomes) if each.series is not None]
    assert len(winners) == 1, outcomes
    winner = outcomes[winners[0]]
    held = on(shared_day, provider)
    assert [each.series_id for each in held] == [winner.series]
    assert overlapping_pairs(provider) == 0
    # Every other client is told the shared date clashed, and only it.
    losers = [each for n, each in enumerate(outcomes) if n not in winners]
    assert [each.clashes for each in losers] == [{shared_day.isoformat(): Clash.TAKEN}] * (
        RACERS - 1
    )
    # Nothing of theirs was saved: no series, no session.
    assert list(AppointmentSeries.objects.values_list("pk", flat=True)) == [winner.series]
    saved = set(Appointment.objects.values_list("client_id", flat=True))
    assert saved == {requests[winners[0]].client}
    assert Appointment.objects.count() == 2


def test_twenty_clients_racing_in_threads_give_the_shared_session_to_one_series(
    requests, provider, shared_day
):
    outcomes = run_here("service", requests)
    assert_one_series_holds_the_shared_day(outcomes, requests, provider, shared_day)


def test_twenty_clients_racing_from_two_processes_give_the_shared_session_to_one_series(
    requests, provider, shared_day
):
    outcomes = run_in_processes("service", requests, database_url())
    assert_one_series_holds_the_shared_day(outcomes, requests, provider, shared_day)


def assert_the_race_was_seen(outcomes, provider, shared_day):
    held = on(shared_day, provider)
    if connection.vendor == "postgresql":
        # The exclusion constraint lets one series in at most. On a loaded machine it may let
        # none: writers queued behind one another past the statement timeout are all cancelled.
        assert len(held) <= 1
        assert overlapping_pairs(provider) == 0
        assert any(
            isinstance(each, Outcome) and each.stopped_by_the_database for each in outcomes
        ), outcomes
    else:
        assert len(held) > 1, "without the service, overlapping series got in"
        assert overlapping_pairs(provider) > 1


def test_the_race_is_real_in_threads_a_naive_check_then_write_double_books_or_hits_the_constraint(
    requests, provider, shared_day
):
    assert_the_race_was_seen(run_here("naive", requests), provider, shared_day)


def test_the_race_is_real_across_processes_a_naive_check_then_write_double_books_or_hits_it(
    requests, provider, shared_day
):
    outcomes = run_in_processes("naive", requests, database_url(), processes=2)
    assert_the_race_was_seen(outcomes, provider, shared_day)
    # And the processes raced each other: in each (it had every other request), a write got
    # past the check before the other's landed, and booked or was stopped by the database.
    for share in (outcomes[0::2], outcomes[1::2]):
        assert any(each.series or each.stopped_by_the_database for each in share), outcomes


@pytest.fixture
def two_servers():
    """Two gunicorn processes on the test database, each answering ten requests at once."""
    started: list[ServerProcess] = []

    def start(writer: str = "service") -> list[ServerProcess]:
        pair = [ServerProcess(database_url(), writer=writer) for _ in range(2)]
        started.extend(pair)
        return [each.wait_until_answering() for each in pair]

    yield start
    for each in started:
        each.close()


def test_twenty_signed_in_clients_posting_to_two_servers_give_the_shared_session_to_one_series(
    requests, provider, shared_day, two_servers
):
    browsers = Browsers(requests, two_servers())
    outcomes = run_here(browsers, requests)
    assert_one_series_holds_the_shared_day(outcomes, requests, provider, shared_day)
    # Each loser's page answers the lost race and names the date, in the words of the page.
    day = f"{shared_day:%a} {shared_day.day} {shared_day:%b %Y}"
    said = f"This date is not free: {day} (already booked). Nothing was booked."
    losers = [each for each in outcomes if each.series is None]
    assert [(each.status, said in each.said) for each in losers] == [(409, True)] * (RACERS - 1)
    # And they raced: the twenty confirms were in the servers together.
    assert browsers.sent_while_half_waited(), (browsers.sent, browsers.answered)


def test_the_race_over_http_is_real_naive_writers_behind_two_servers_double_book_or_hit_it(
    requests, provider, shared_day, two_servers
):
    outcomes = run_here(Browsers(requests, two_servers("naive")), requests)
    assert_the_race_was_seen(outcomes, provider, shared_day)
    past_the_check = [each.series is not None or each.stopped_by_the_database for each in outcomes]
    # Each server (it had every other request) let a write past the check before the other
    # server's landed: the two processes raced each other.
    assert any(past_the_check[0::2]) and any(past_the_check[1::2]), outcomes
    # And more got past than there are servers: each answered several confirms at once, where
    # servers taking one request at a time would have let one each through.
    assert sum(past_the_check) > 2, outcomes

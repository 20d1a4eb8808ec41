"""
A database that cannot answer is a clean 503 with Retry-After, within a timeout, never a hang:
a statement that waits past the statement timeout (PostgreSQL) or the busy timeout (SQLite), a
server that refuses or never answers a new connection, a file that cannot be opened. The
failure may come from a view or from a middleware (the session and the user are read and saved
there). Any other error stays a 500. Each database gets its own ways of failing, for real: a
lock held by another connection, a closed port, a server that accepts and says nothing.
"""

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.db import DataError, IntegrityError, InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path, reverse

from appointments import selectors
from appointments.models import Appointment, AppointmentEvent
from portal import database
from portal.middleware import SESSION_SEEN_KEY
from portal.models import Email, UserSession
from portal.project import urls as project_urls
from tests.database_down import (
    MARGIN,
    POSTGRES,
    UNREACHABLE,
    WAIT,
    another_connection,
    short_waits,
    unreachable,
    writes_locked,
)
from tests.factories import open_slots_after

PROJECT_DIR = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db(transaction=True)


def timed(request: Callable[[], HttpResponse]) -> tuple[HttpResponse, float]:
    began = time.monotonic()
    response = request()
    return response, time.monotonic() - began


def assert_unavailable(response: HttpResponse) -> None:
    """The 503: Retry-After, never stored, the whole policy, in the portal's look."""
    assert response.status_code == 503, response.content[:500]
    assert response["Retry-After"] == "30"
    assert "no-store" in response["Cache-Control"]
    nonce = re.search(r"script-src 'nonce-([^']+)'", response["Content-Security-Policy"])
    assert nonce, response["Content-Security-Policy"]
    text = response.content.decode()
    assert "We can't reach your records right now" in text
    assert "/static/portal/portal.css" in text
    scripts = re.findall(r"<script\b[^>]*>", text)
    assert scripts and all(f'nonce="{nonce[1]}"' in tag for tag in scripts), scripts


@pytest.fixture
def browser(client_user) -> Client:
    """Signed in; an error in a request is answered, not raised into the test."""
    browser = Client(raise_request_exception=False)
    browser.force_login(client_user)
    return browser


# --- A statement that waits too long ------------------------------------------------------------


def test_a_change_blocked_by_another_connection_answers_503_within_the_wait_and_saves_nothing(
    browser, client_user
):
    form = {"name": "Jordan Changed", "time_zone": "Europe/London"}
    # PostgreSQL: the user's row is locked, so the session and the user are read in the
    # middleware as usual and the view's UPDATE waits. SQLite: the file's write lock is held.
    row_lock = f"SELECT id FROM portal_user WHERE id = {client_user.pk} FOR UPDATE"
    with another_connection(*([row_lock] if POSTGRES else [])), short_waits():
        response, took = timed(lambda: browser.post(reverse("account:detail"), form))
        assert_unavailable(response)
        assert WAIT <= took < WAIT + MARGIN
        # Closed, so the next request starts on a fresh connection.
        assert connection.connection is None
    client_user.refresh_from_db()
    assert client_user.name == "Jordan Lee"
    assert browser.get(reverse("account:detail")).status_code == 200


def test_a_session_that_cannot_be_saved_answers_503_from_the_middleware(browser):
    session = browser.session
    session[SESSION_SEEN_KEY] = time.time() - 60  # so this request records the visit
    session.save()
    with writes_locked(UserSession._meta.db_table), short_waits():
        response, took = timed(lambda: browser.get(reverse("account:detail")))
    # The page was drawn; SessionMiddleware's save, on the way out, could not happen.
    assert_unavailable(response)
    assert WAIT <= took < WAIT + MARGIN
    assert browser.get(reverse("account:detail")).status_code == 200


def test_a_booking_that_runs_out_of_time_books_nothing(
    browser, client_user, provider, session_type
):
    start = open_slots_after(client_user, provider, session_type, days=2)[0]
    url = reverse("appointments:book-review", args=[provider.pk, session_type.pk])
    terms = selectors.terms_in_force(provider, session_type).token
    # PostgreSQL: the appointment is written, then its history entry waits and runs out, so
    # the appointment must be rolled back with it.
    with writes_locked(AppointmentEvent._meta.db_table), short_waits():
        data = {"start": start.isoformat(), "expected_terms": terms}
        response, took = timed(lambda: browser.post(url, data))
    if POSTGRES:
        assert_unavailable(response)
        assert WAIT <= took < WAIT + MARGIN
    else:
        # SQLite waits for the one write lock before the change begins, and another change
        # holding it is what a busy schedule is (appointments.services.waited_too_long).
        assert response.status_code == 409
        assert "Someone else is changing this schedule" in response.content.decode()
    assert not Appointment.objects.exists()
    assert not AppointmentEvent.objects.exists()
    assert not Email.objects.exists()


# --- A database that cannot be reached -----------------------------------------------------------


@pytest.mark.parametrize("how", UNREACHABLE)
def test_a_database_that_cannot_be_reached_answers_503_within_the_connect_timeout(browser, how):
    with unreachable(how) as limit:
        # The first read is the session's, in a middleware.
        response, took = timed(lambda: browser.get(reverse("appointments:list")))
        assert_unavailable(response)
        assert took < limit
        if how == "silent":
            # It waited for the server as long as DATABASE_CONNECT_TIMEOUT allows, no longer.
            assert took >= settings.DATABASE_CONNECT_TIMEOUT
    assert browser.get(reverse("appointments:list")).status_code == 200


def test_an_htmx_request_gets_the_same_503(browser):
    with unreachable(UNREACHABLE[0]):
        response = browser.get(reverse("chat:list"), headers={"HX-Request": "true"})
    assert_unavailable(response)


def test_an_admin_page_offers_the_way_back_to_the_workspace(client, provider_user):
    browser = Client(raise_request_exception=False)
    browser.force_login(provider_user)
    with unreachable(UNREACHABLE[0]):
        response = browser.get(reverse("admin:index"))
    assert_unavailable(response)
    assert f'href="{reverse("admin:index")}"' in response.content.decode()


# --- Any other error stays a 500 -----------------------------------------------------------------


def a_bug(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a mistake in the code")


def a_statement_the_database_refuses(request: HttpRequest) -> HttpResponse:
    # An OperationalError of a database that answers: a limit of PostgreSQL's (54000), a
    # table SQLite does not have.
    sql = "SELECT array_fill(1, ARRAY[1000000000])" if POSTGRES else "SELECT * FROM no_such_table"
    with connection.cursor() as cursor:
        cursor.execute(sql)
    return HttpResponse()


@pytest.fixture
def failing_urls(settings):
    settings.ROOT_URLCONF = type(
        "urls",
        (),
        {
            "urlpatterns": [
                path("a-bug/", a_bug),
                path("a-refused-statement/", a_statement_the_database_refuses),
            ],
            "handler500": project_urls.handler500,
        },
    )


@pytest.mark.parametrize("url", ["/a-bug/", "/a-refused-statement/"])
def test_any_other_error_is_still_a_500(failing_urls, url):
    response = Client(raise_request_exception=False).get(url)
    assert response.status_code == 500
    assert "Retry-After" not in response
    assert "Something went wrong on our side" in response.content.decode()


# --- Which errors mean the database cannot answer -------------------------------------------------


def raised(sql: str, *, holding: str | None = None) -> Exception:
    """The error running `sql` raises here, while another connection holds `holding`."""
    with another_connection(*([holding] if holding else [])), short_waits():
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql)
        except Exception as error:  # noqa: BLE001  (the error is what the test looks at)
            return error
    raise AssertionError(f"{sql} did not fail")


LOCKED = "LOCK TABLE portal_user IN ACCESS EXCLUSIVE MODE"
CAUSES: dict[str, tuple[Callable[[], Exception], bool]] = (
    {
        "statement timeout": (lambda: raised("SELECT pg_sleep(5)"), True),
        "waiting for a lock past the statement timeout": (
            lambda: raised("SELECT count(*) FROM portal_user", holding=LOCKED),
            True,
        ),
        "lock timeout": (
            lambda: raised(
                "SELECT set_config('lock_timeout', '100ms', false), count(*) FROM portal_user",
                holding=LOCKED,
            ),
            True,
        ),
        "a limit of the server's": (
            lambda: raised("SELECT array_fill(1, ARRAY[1000000000])"),
            False,
        ),
        "a syntax error": (lambda: raised("SELEKT 1"), False),
        "a division by zero": (lambda: raised("SELECT 1 / 0"), False),
    }
    if POSTGRES
    else {
        "database is locked": (
            lambda: raised(
                "INSERT INTO django_session (session_key, session_data, expire_date) "
                "VALUES ('x', '', '2030-01-01')"
            ),
            True,
        ),
        "a missing table": (lambda: raised("SELECT * FROM no_such_table"), False),
        "a syntax error": (lambda: raised("SELEKT 1"), False),
    }
)


@pytest.mark.parametrize("cause", CAUSES)
def test_only_a_database_that_cannot_answer_counts_as_unavailable(cause):
    make, expected = CAUSES[cause]
    assert database.unavailable(make()) is expected


def test_a_closed_connection_counts_and_a_broken_rule_or_a_bare_error_does_not():
    assert database.unavailable(InterfaceError("connection already closed"))
    assert not database.unavailable(OperationalError("no driver's error beneath"))
    assert not database.unavailable(IntegrityError("duplicate key"))
    assert not database.unavailable(DataError("value too long"))
    assert not database.unavailable(ValueError("not the database's"))


def test_a_full_sqlite_disk_counts_as_unavailable(tmp_path):
    """SQLite's own error, raised for real on a file allowed no more pages than it has."""
    import sqlite3

    raw = sqlite3.connect(tmp_path / "full.sqlite3", isolation_level=None)
    raw.execute("CREATE TABLE t (x)")
    pages = raw.execute("PRAGMA page_count").fetchone()[0]
    raw.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(sqlite3.OperationalError, match="full") as full:
        for _ in range(100):
            raw.execute("INSERT INTO t VALUES (randomblob(1000))")
    raw.close()
    # As Django raises it: its own OperationalError, caused by the driver's.
    error = OperationalError(*full.value.args)
    error.__cause__ = full.value
    assert database.unavailable(error)

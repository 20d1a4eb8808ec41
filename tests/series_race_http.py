"""
The series race over HTTP: signed-in clients posting the confirm of the series review page
(appointments:book-repeat) to real server processes, gunicorn on the test database as the
portal is deployed, each answering several requests at once. `Browsers` is an attempt of
tests/series_race.py like the others (a SeriesRequest in, an Outcome out: here what the page
told the client), so the harness races it as it races the service.

A server started with writer="naive" books series with series_race.naive_series_book in
place of the service: the control that shows two servers racing can double-book.
"""

import http.client
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from html import unescape
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

from tests.series_race import PROJECT, Outcome, SeriesRequest, environment, naive_series_book

NAIVE_PAUSE = 0.5


def served(writer: str = "service"):
    """The portal's WSGI application, as gunicorn loads it (`tests.series_race_http:served()`)."""
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()
    if writer == "naive":
        from appointments import series

        # In this server process only: the view calls series.series_book and meets the control.
        # It waits longer than in threads: one server process can fall 50 ms and more behind
        # the other (its ten threads take turns at one interpreter lock, and the two servers
        # and the clients share the machine's cores), and the control asks both to get past.
        setattr(series, "series_book", partial(naive_series_book, pause=NAIVE_PAUSE))  # noqa: B010
    return application


class ServerProcess:
    """
    gunicorn on the test database: one worker process answering up to `threads` requests at
    once, its output kept for when it fails.
    """

    def __init__(self, database_url: str, *, writer: str = "service", threads: int = 10):
        from tests.smtp import free_port

        self.port = free_port()
        self.output = tempfile.TemporaryFile()  # noqa: SIM115  (closed by close())
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                f"tests.series_race_http:served({writer!r})",
                "--workers",
                "1",
                "--threads",
                str(threads),
                "--bind",
                self.address,
            ],
            cwd=PROJECT,
            env=environment(database_url),
            stdout=self.output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def wait_until_answering(self) -> "ServerProcess":
        from tests.workers import eventually

        eventually(self._answers, within=30)
        return self

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"gunicorn stopped ({self.process.returncode}): {self.log()}")
        try:
            exchange(connect(self.address), "GET", "/sign-in/", {})
        except OSError:
            return False
        return True

    def log(self) -> str:
        self.output.seek(0)
        return self.output.read().decode(errors="replace")

    def close(self) -> None:
        from tests.benchmarks.processes import stop

        stop(self.process)
        self.output.close()


@dataclass(frozen=True)
class Answer:
    status: int
    location: str
    page: str
    sent: float  # time.monotonic() once the request was all sent
    answered: float  # and once the whole answer was read


def connect(address: str) -> http.client.HTTPConnection:
    host, port = address.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    connection.connect()
    return connection


def exchange(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    cookies: dict[str, str],
    form: dict | None = None,
) -> Answer:
    """One request, and the connection closed; the cookies the answer sets are kept."""
    headers = {"Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items())}
    body = None
    if form is not None:
        body = urlencode(form, doseq=True)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=body, headers=headers)
        sent = time.monotonic()
        response = connection.getresponse()
        page = response.read().decode()
        answered = time.monotonic()
    finally:
        connection.close()
    for value in response.headers.get_all("Set-Cookie") or []:
        cookies.update((name, morsel.value) for name, morsel in SimpleCookie(value).items())
    return Answer(response.status, response.headers.get("Location", ""), page, sent, answered)


class Browsers:
    """
    The clients of the requests, each a browser of its own, sent to the servers in turn
    (request n to server n mod 2). Each is signed in by a session made in the database as
    Django's sign-in makes one (Client.force_login: no password form, so no sign-in throttle
    to slow twenty sign-ins), and has read the review page of its first session, which gave
    it the CSRF cookie and the form's hidden fields (the start, the policy terms shown).
    Called with a request, it posts that client's confirm as the form does.
    """

    def __init__(self, requests: list[SeriesRequest], servers: list[ServerProcess]):
        from django.conf import settings
        from django.test import Client
        from django.urls import reverse

        from portal.models import User

        self.address: dict[int, str] = {}
        self.cookies: dict[int, dict[str, str]] = {}
        self.path: dict[int, str] = {}
        for n, request in enumerate(requests):
            browser = Client()
            browser.force_login(User.objects.get(pk=request.client))
            session = browser.cookies[settings.SESSION_COOKIE_NAME].value
            self.cookies[request.client] = {settings.SESSION_COOKIE_NAME: session}
            self.address[request.client] = servers[n % len(servers)].address
            self.path[request.client] = reverse(
                "appointments:book-repeat", args=[request.provider, request.appointment_type]
            )
        # The pages read all at once, so that every thread of each server has opened its
        # database connection before the race, as on a server that has been up a while.
        with ThreadPoolExecutor(len(requests)) as pool:
            self.forms = dict(pool.map(self._review, requests))
        # Each client's connection to its server, opened once every page is read (a server
        # taking one connection at a time would wait on an idle one): on the instant, only
        # the confirm is sent.
        self.connection = {client: connect(address) for client, address in self.address.items()}
        # When each confirm was all sent, and when its answer came back (time.monotonic()).
        self.sent: dict[int, float] = {}
        self.answered: dict[int, float] = {}

    def _review(self, request: SeriesRequest) -> tuple[int, dict]:
        """The review page read; the confirm its form would post."""
        client, path = request.client, self.path[request.client]
        start = datetime.fromisoformat(request.first_start).astimezone(UTC).isoformat()
        review = exchange(
            connect(self.address[client]),
            "GET",
            f"{path}?{urlencode({'start': start})}",
            self.cookies[client],
        )
        if review.status != 200:
            raise AssertionError(f"the review page answered {review.status}: {review.page}")
        return client, hidden_fields(review.page, path) | {
            "repeat": request.repeat,
            "ends": "count",
            "count": str(request.count),
            "skip": request.skip,
        }

    def __call__(self, request: SeriesRequest) -> Outcome:
        client = request.client
        answer = exchange(
            self.connection[client],
            "POST",
            self.path[client],
            self.cookies[client],
            self.forms[client],
        )
        self.sent[client], self.answered[client] = answer.sent, answer.answered
        return told(answer.status, answer.location, answer.page)

    def sent_while_half_waited(self) -> bool:
        """
        The last confirm was sent before half of all of them had their answers: every one was
        in a server while ten others at least were still there. (Not "before the first answer":
        on two busy cores, a thread released at the instant is sometimes that late.)
        """
        answered = sorted(self.answered.values())
        return max(self.sent.values()) < answered[len(answered) // 2]


def hidden_fields(page: str, action: str) -> dict[str, str]:
    """The hidden fields of the page's form that posts to `action`."""
    form = re.search(rf'<form method="post" action="{re.escape(action)}".*?</form>', page, re.S)
    if form is None:
        raise AssertionError(f"no form posts to {action}")
    return {
        name: unescape(value)
        for name, value in re.findall(
            r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group()
        )
    }


def told(status: int, location: str, page: str) -> Outcome:
    """
    What the answer told the client: the series booked (a redirect to its page), or the
    page's message and the dates its list shows as not free, with why, that stop the series
    (those not already left out).
    """
    from django.urls import Resolver404, resolve

    from appointments.series import CLASH_WORDS

    if status == 302:
        try:
            match = resolve(urlsplit(location).path)
        except Resolver404:
            match = None
        if match is not None and match.view_name == "appointments:series":
            return Outcome(series=int(match.kwargs["pk"]), status=status)
        return Outcome(status=status, said=f"sent on to {location}")
    why_of = {words: str(clash) for clash, words in CLASH_WORDS.items()}
    clashes = {}
    for item in re.findall(r'<li class="series-date series-date--clash">(.*?)</li>', page, re.S):
        why = re.search(r'<span class="series-date-why">Not free: ([^<]+)</span>', item)
        day = re.search(r'name="skip" value="([0-9-]+)"( checked)?', item)
        assert why and day, item
        # A date the client already left out is listed as not free, ticked: not in the way.
        if not day.group(2):
            clashes[day.group(1)] = why_of[unescape(why.group(1))]
    alerts = re.findall(r'role="alert"><p>(.*?)</p>', page, re.S)
    # DEBUG's page for an exception names it in its title: the database's refusal, in the
    # control, where nothing turns it into words for the client.
    stopped = re.search(r"<title>(IntegrityError|OperationalError)\s+at ", page)
    return Outcome(
        clashes=clashes,
        stopped_by_the_database=stopped is not None,
        status=status,
        said=" ".join(unescape(" ".join(alerts)).split()),
    )

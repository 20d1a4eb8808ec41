"""
Clients booking recurring series at one instant, in threads of the test's process or across
processes of their own running the real code against the test database, as two app servers
would. Each attempt is a function of a SeriesRequest (plain values, what a booking form posts)
that returns an Outcome (plain values, what the answer tells the person), so the harness runs
it wherever it is sent and cares nothing for how it reaches the database.

A process is started as `python tests/series_race.py`, reads {"attempt": name, "requests":
[...]} on its standard input, says "ready", waits for the instant (seconds since the epoch, on
the next line) and prints its outcomes as JSON: tests/appointments/test_series_race.py.
tests/series_race_http.py makes the attempt an HTTP request to real servers.
"""

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.project.settings")

PROJECT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class SeriesRequest:
    """One client's series: what they would post."""

    client: int
    provider: int
    appointment_type: int
    first_start: str  # ISO 8601, with its offset
    repeat: str
    count: int
    skip: list[str] = field(default_factory=list)  # ISO dates left out


@dataclass(frozen=True)
class Outcome:
    """What the client was told: the series booked, or the dates that clashed, and why."""

    series: int | None = None
    clashes: dict[str, str] = field(default_factory=dict)  # ISO date: selectors.Clash
    # Only the control's naive writer meets this: the database turned the write away.
    stopped_by_the_database: bool = False
    # Over HTTP (tests/series_race_http.py): the status the server answered, and the words
    # its page put in front of the client.
    status: int | None = None
    said: str = ""


def _parts(request: SeriesRequest):
    from appointments.models import AppointmentType, Provider
    from appointments.series import SeriesEnd
    from portal.models import User

    return {
        "client": User.objects.get(pk=request.client),
        "provider": Provider.objects.get(pk=request.provider),
        "appointment_type": AppointmentType.objects.get(pk=request.appointment_type),
        "first_start": datetime.fromisoformat(request.first_start),
        "repeat": request.repeat,
        "end": SeriesEnd(count=request.count),
    }


def _refused(clashes: dict) -> Outcome:
    return Outcome(clashes={day.isoformat(): str(why) for day, why in clashes.items()})


def book_with_the_service(request: SeriesRequest) -> Outcome:
    """The client books the series as the portal books it: appointments.series.series_book."""
    from appointments.series import SeriesClashes, series_book

    parts = _parts(request)
    try:
        booked = series_book(
            **parts,
            booked_by=parts["client"],
            skip={date.fromisoformat(day) for day in request.skip},
        )
    except SeriesClashes as refused:
        return _refused(refused.clashes)
    return Outcome(series=booked.series.pk)


def naive_series_book(
    *,
    client,
    provider,
    appointment_type,
    first_start: datetime,
    repeat: str,
    end,
    booked_by,
    skip=(),
    pause: float = 0.3,
    **_terms,
):
    """
    The control's stand-in for appointments.series.series_book, called as it is: check every
    date without a lock or a transaction, wait `pause` seconds as a loaded server would, then
    write without checking again. A harness that cannot see this double-book (or, on
    PostgreSQL, run into the exclusion constraint) cannot see a race at all.
    """
    from django.db import transaction

    from appointments.models import Appointment, AppointmentSeries
    from appointments.series import SeriesBooked, SeriesClashes, plan_series

    plan = plan_series(
        client=client,
        provider=provider,
        appointment_type=appointment_type,
        first_start=first_start,
        repeat=repeat,
        end=end,
    )
    unexpected = {day: why for day, why in plan.clashes.items() if day not in skip}
    if unexpected:
        raise SeriesClashes(unexpected)
    time.sleep(pause)
    first = plan.sessions[0]
    with transaction.atomic():
        series = AppointmentSeries.objects.create(
            provider=provider,
            client=client,
            appointment_type=appointment_type,
            repeat=repeat,
            time_zone=provider.time_zone,
            first_date=first.day,
            start_time=first.start.astimezone(provider.zone).time(),
            count=end.count,
            booked_through=plan.sessions[-1].day,
            booked_by=booked_by,
        )
        sessions = Appointment.objects.bulk_create(
            Appointment(
                provider=provider,
                client=client,
                appointment_type=appointment_type,
                start=each.start,
                end=each.start + appointment_type.duration,
                booked_by=booked_by,
                series=series,
                occurrence=each.start,
            )
            for each in plan.free
            if each.day not in skip
        )
    return SeriesBooked(series, sessions, sorted(skip))


def book_naively(request: SeriesRequest) -> Outcome:
    """The client books the series with the control's writer."""
    from django.db import IntegrityError, OperationalError

    from appointments.series import SeriesClashes

    parts = _parts(request)
    try:
        booked = naive_series_book(
            **parts,
            booked_by=parts["client"],
            skip={date.fromisoformat(day) for day in request.skip},
        )
    except SeriesClashes as refused:
        return _refused(refused.clashes)
    except (IntegrityError, OperationalError):
        # The exclusion constraint, or PostgreSQL breaking a deadlock between two writers
        # checking it: either way the database stopped the overlap.
        return Outcome(stopped_by_the_database=True)
    return Outcome(series=booked.series.pk)


ATTEMPTS = {"service": book_with_the_service, "naive": book_naively}


def outcome_of(result: tuple[str, object]) -> Outcome | str:
    """tests.concurrency.race's ("ok", Outcome) as the Outcome; anything else as its repr."""
    kind, value = result
    return value if kind == "ok" and isinstance(value, Outcome) else f"{kind}: {value!r}"


def run_here(
    attempt: str | Callable[[SeriesRequest], Outcome], requests: list[SeriesRequest]
) -> list[Outcome | str]:
    """Every request at once, each in a thread with its own connection, in this process."""
    from tests.concurrency import race

    book = ATTEMPTS[attempt] if isinstance(attempt, str) else attempt
    return [
        outcome_of(each) for each in race(lambda i: book(requests[i]), len(requests), refusals=())
    ]


def environment(database_url: str) -> dict[str, str]:
    """What a process of the race runs with: the portal's development settings on that database."""
    return {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": database_url,
        "EMAIL_URL": "consolemail://",
        "PYTHONUNBUFFERED": "1",
    }


class RacingProcess:
    """A process of its own booking its share of the requests, each in a thread."""

    def __init__(self, attempt: str, requests: list[SeriesRequest], database_url: str):
        env = environment(database_url)
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve())],
            cwd=PROJECT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdin is not None
        payload = {"attempt": attempt, "requests": [asdict(each) for each in requests]}
        self.process.stdin.write(json.dumps(payload) + "\n")
        self.process.stdin.flush()

    def ready(self) -> None:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if line.strip() != "ready":
            raise AssertionError(f"the process did not start: {line}{self.errors()}")

    def release_at(self, instant: float) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{instant}\n")
        self.process.stdin.flush()

    def outcomes(self, timeout: float = 120) -> list[Outcome | str]:
        output, errors = self.process.communicate(timeout=timeout)
        if self.process.returncode != 0:
            raise AssertionError(f"the process failed ({self.process.returncode}): {errors}")
        return [
            Outcome(**each) if isinstance(each, dict) else each
            for each in json.loads(output.strip().splitlines()[-1])
        ]

    def errors(self) -> str:
        self.process.kill()
        return self.process.communicate()[1]

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


def run_in_processes(
    attempt: str, requests: list[SeriesRequest], database_url: str, processes: int = 2
) -> list[Outcome | str]:
    """
    The requests shared out among `processes` processes, all released at one instant once
    every one is ready; the outcomes in the order of the requests.
    """
    shares = [requests[n::processes] for n in range(processes)]
    racing = [RacingProcess(attempt, share, database_url) for share in shares]
    try:
        for each in racing:
            each.ready()
        # Far enough ahead for every process to read it and start its threads.
        instant = time.time() + 0.5
        for each in racing:
            each.release_at(instant)
        results = [each.outcomes() for each in racing]
    finally:
        for each in racing:
            each.close()
    outcomes: list[Outcome | str] = [""] * len(requests)
    for n, result in enumerate(results):
        outcomes[n::processes] = result
    return outcomes


def _serve() -> None:
    """The racing process: read the work, say ready, wait for the instant, book, report."""
    import django

    django.setup()
    from django.db import connection

    from tests.concurrency import race

    work = json.loads(sys.stdin.readline())
    book = ATTEMPTS[work["attempt"]]
    requests = [SeriesRequest(**each) for each in work["requests"]]
    connection.ensure_connection()  # the database answers before the process says so
    connection.close()
    print("ready", flush=True)
    instant = float(sys.stdin.readline())

    def attempt(i: int) -> Outcome:
        time.sleep(max(0.0, instant - time.time()))
        return book(requests[i])

    outcomes = [outcome_of(each) for each in race(attempt, len(requests), refusals=())]
    print(json.dumps([asdict(each) if isinstance(each, Outcome) else each for each in outcomes]))


if __name__ == "__main__":
    _serve()

"""
Every kind of task survives its worker: the real `db_worker` process is killed (SIGKILL) in the
middle of each kind, or its database connection is cut (pg_terminate_backend), and each task's
effect still happens exactly once, counted where it lands (offers made, emails accepted by a
real SMTP server by Message-ID). On PostgreSQL a row lock from another connection holds the
worker inside the task; on SQLite, which has none, the worker is frozen there (SIGSTOP).
"""

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from time import monotonic, sleep

import pytest
from django.db import connection, transaction
from django.db.models import Exists, Q
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from appointments import series, services, waitlist
from appointments.emails import email_key
from appointments.models import (
    AppointmentEvent,
    CareTeamMember,
    DateOverride,
    Provider,
    WaitlistOffer,
    WaitlistOpening,
)
from appointments.recurrence import Repeat
from appointments.series_emails import series_email_key
from portal.mail import queue_email
from portal.models import Email, TaskRecord, WorkerLane
from portal.worker import RETRY_PRIORITY, Lane
from tests.factories import UserFactory, book
from tests.proxy import TcpProxy
from tests.smtp import SmtpSink, mailer_settings
from tests.tasks import run_worker
from tests.workers import (
    WorkerProcess,
    a_lease_later,
    database_url,
    eventually,
    paused,
    running,
)

pytestmark = pytest.mark.django_db(transaction=True)

POSTGRES = connection.vendor == "postgresql"


@pytest.fixture
def sink():
    server = SmtpSink().up()
    yield server
    server.down()


@pytest.fixture
def workers(sink):
    """Start workers on the test database, delivering to the sink; all killed at the end."""
    started: list[WorkerProcess] = []

    def start(pause_in: str | None = None, **env) -> WorkerProcess:
        env = {"EMAIL_URL": f"smtp://127.0.0.1:{sink.port}", "EMAIL_TIMEOUT": 10, **env}
        worker = WorkerProcess(pause_in=pause_in, **env).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()
        print(f"--- worker {worker.pid} ---\n{worker.log()}")  # shown when a test fails
        worker.close()


@contextlib.contextmanager
def held(lock: Callable[[], object]) -> Iterator[None]:
    """`lock()` runs in a transaction of another connection, kept open until the block ends."""
    locked, release = threading.Event(), threading.Event()
    failure: list[BaseException] = []

    def hold():
        try:
            with transaction.atomic():
                lock()
                locked.set()
                release.wait(60)
        except BaseException as error:  # noqa: BLE001  (reported to the test below)
            failure.append(error)
            locked.set()
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    locked.wait(30)
    assert not failure, failure
    try:
        yield
    finally:
        release.set()
        thread.join(30)


def waiting_on_a_lock() -> list[int]:
    """The backends of the test database that wait for a lock: the held worker's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )
        return [pid for (pid,) in cursor.fetchall()]


def quiet() -> bool:
    """
    Nothing due or running, and every email sent: asked in one statement, so in one snapshot.
    Asked one by one, a task given back between the question "running?" and "due?" was
    neither, and the test read it before any worker had run it again. (The task table is never
    empty here: the task under test stays in it.)
    """
    unsent = Email.objects.filter(status__in=["queued", "sending"])
    busy = DBTaskResult.objects.filter(
        Q(status="RUNNING")
        | Q(pk__in=DBTaskResult.objects.ready().values("pk"))
        | Q(Exists(unsent))
    )
    return not busy.exists()


# --- The kinds of task, each with what it does and how it is held in the middle --------------


def at_nine(provider: Provider, days: int = 3) -> datetime:
    day = timezone.now().astimezone(provider.zone).date() + timedelta(days=days)
    return datetime.combine(day, time(9), tzinfo=provider.zone)


def team_member(provider: Provider):
    person = UserFactory()
    CareTeamMember.objects.create(provider=provider, client=person)
    return person


def join(person, provider, kind):
    return waitlist.entry_save(
        client=person,
        provider=provider,
        appointment_type=kind,
        weekdays=[],
        parts=[],
        not_after=None,
        actor=person,
    )


def cancel_someone_at_nine(provider, kind):
    other = team_member(provider)
    booked = services.appointment_book(
        client=other,
        provider=provider,
        appointment_type=kind,
        start=at_nine(provider),
        booked_by=other,
    )
    services.appointment_cancel(appointment=booked, actor=other)
    return booked


@dataclass
class Kind:
    path: str
    prepare: Callable[..., dict]
    effect: Callable[[dict, SmtpSink], None]
    # How a worker is held in the middle of it: a row lock on PostgreSQL, a pause point (the
    # function where tests/worker_harness.py stops it) on SQLite; the mail server for emails.
    hold: Callable[[dict], Callable[[], object]] | None = None
    pause_in: str = ""


def offers_prepare(on, session_type, client_user) -> dict:
    entry = join(client_user, on, session_type)
    cancel_someone_at_nine(on, session_type)
    return {"entry": entry, "provider": on}


def offers_effect(context, sink) -> None:
    offers = WaitlistOffer.objects.filter(entry=context["entry"])
    assert offers.count() == 1
    (email,) = Email.objects.filter(kind="waitlist-offer")
    assert offers.get().token in email.body
    assert sink.message_ids().count(f"<{email.key}@client-portal.invalid>") == 1


def hold_prepare(on, session_type, client_user) -> dict:
    on.waitlist_mode, on.waitlist_hold_minutes = "one", 20
    on.save()
    first = join(client_user, on, session_type)
    second = join(team_member(on), on, session_type)
    cancel_someone_at_nine(on, session_type)
    run_worker()  # the first offer is made here; its hold ends in 20 minutes
    offer = WaitlistOffer.objects.get(entry=first)
    # As if the 20 minutes had passed.
    WaitlistOffer.objects.filter(pk=offer.pk).update(expires_at=timezone.now())
    ends = DBTaskResult.objects.filter(task_path="appointments.tasks.end_offer_hold")
    ends.update(run_after=timezone.now())
    return {"offer": offer, "second": second}


def hold_effect(context, sink) -> None:
    context["offer"].refresh_from_db()
    assert context["offer"].status == "expired"
    assert WaitlistOpening.objects.filter(cause="hold_ended").count() == 1
    assert WaitlistOffer.objects.filter(entry=context["second"]).count() == 1


def recheck_prepare(on, session_type, client_user) -> dict:
    join(client_user, on, session_type)
    cancel_someone_at_nine(on, session_type)
    run_worker()
    offer = WaitlistOffer.objects.get()
    # A day off on the offer's date: the offer can no longer be had.
    DateOverride.objects.create(provider=on, date=offer.start.astimezone(on.zone).date())
    return {"offer": offer}


def recheck_effect(context, sink) -> None:
    context["offer"].refresh_from_db()
    assert context["offer"].status == "expired"


def series_prepare(on, session_type, client_user) -> dict:
    """Two clients on the waitlist; a practice ends a three-session series: three openings."""
    entries = [join(client_user, on, session_type), join(team_member(on), on, session_type)]
    booked = series.series_book(
        client=team_member(on),
        provider=on,
        appointment_type=session_type,
        first_start=at_nine(on),
        repeat=Repeat.WEEKLY,
        end=series.SeriesEnd(count=3),
        booked_by=on.user,
    )
    series.series_end(series=booked.series, actor=on.user, from_day=booked.series.first_date)
    return {"entries": entries, "openings": list(WaitlistOpening.objects.order_by("pk"))}


def series_effect(context, sink) -> None:
    openings = WaitlistOpening.objects.filter(pk__in=[o.pk for o in context["openings"]])
    assert sorted(opening.offered_at is not None for opening in openings) == [True] * 3
    offers = WaitlistOffer.objects.filter(entry__in=context["entries"])
    made = offers.count()
    assert made >= len(context["entries"])
    emails = Email.objects.filter(kind="waitlist-offer")
    assert emails.count() == made  # one email per offer, none written twice
    ids = sink.message_ids()
    assert all(ids.count(f"<{email.key}@client-portal.invalid>") == 1 for email in emails)


def offer_row(context) -> Callable[[], object]:
    return lambda: list(WaitlistOffer.objects.select_for_update().filter(pk=context["offer"].pk))


def write_prepare(on, session_type, client_user) -> dict:
    appointment = book(client_user, on, session_type, days=2)
    return {"event": AppointmentEvent.objects.get(appointment=appointment)}


def write_effect(context, sink) -> None:
    keys = [email_key(context["event"], audience) for audience in ("client", "provider")]
    assert Email.objects.filter(key__in=keys).count() == 2
    assert Email.objects.count() == 2
    ids = sink.message_ids()
    for key in keys:
        assert ids.count(f"<{key}@client-portal.invalid>") == 1


def series_write_prepare(on, session_type, client_user) -> dict:
    booked = series.series_book(
        client=client_user,
        provider=on,
        appointment_type=session_type,
        first_start=at_nine(on),
        repeat=Repeat.WEEKLY,
        end=series.SeriesEnd(count=4),
        booked_by=on.user,
    )
    return {"change": booked.series.changes.get()}


def series_write_effect(context, sink) -> None:
    change = context["change"]
    keys = [series_email_key(change, audience) for audience in ("client", "provider")]
    assert Email.objects.filter(key__in=keys).count() == 2
    assert Email.objects.count() == 2  # one to each side for the whole series
    ids = sink.message_ids()
    for key in keys:
        assert ids.count(f"<{key}@client-portal.invalid>") == 1


def lock_the_email_table() -> None:
    with connection.cursor() as cursor:
        cursor.execute("LOCK TABLE portal_email IN EXCLUSIVE MODE")


def deliver_prepare(on, session_type, client_user) -> dict:
    context = {"recipient": None, "link": "https://portal.example/chat/1/", "portal_name": "P"}
    return {"email": queue_email("new-message", context, to=client_user.email)}


def deliver_effect(context, sink) -> None:
    email = context["email"]
    email.refresh_from_db()
    assert email.status == "sent"
    assert sink.message_ids() == [f"<{email.key}@client-portal.invalid>"]


KINDS = {
    "offer_opening": Kind(
        "appointments.tasks.offer_opening",
        offers_prepare,
        offers_effect,
        hold=lambda c: lambda: Provider.objects.select_for_update().get(pk=c["provider"].pk),
        # Inside its transaction, its offers made and their emails not yet written.
        pause_in="appointments.waitlist:queue_offer_email",
    ),
    "offer_openings": Kind(
        "appointments.tasks.offer_openings",
        series_prepare,
        series_effect,
        hold=lambda c: (
            lambda: Provider.objects.select_for_update().get(pk=c["openings"][0].provider_id)
        ),
        # Inside the first opening's transaction, its offers made and their emails not yet written.
        pause_in="appointments.waitlist:queue_offer_email",
    ),
    "end_offer_hold": Kind(
        "appointments.tasks.end_offer_hold",
        hold_prepare,
        hold_effect,
        hold=offer_row,
        # Inside its transaction, the offer expired and the time not yet passed on.
        pause_in="appointments.waitlist:pass_on",
    ),
    "recheck_offers": Kind(
        "appointments.tasks.recheck_offers",
        recheck_prepare,
        recheck_effect,
        hold=offer_row,
        pause_in="appointments.waitlist:expire",
    ),
    "write_appointment_emails": Kind(
        "appointments.emails.write_appointment_emails",
        write_prepare,
        write_effect,
        hold=lambda c: lock_the_email_table,
        # Inside its transaction, the client's email written and the provider's not yet.
        pause_in="appointments.emails:queue_email#2",
    ),
    "write_series_emails": Kind(
        "appointments.series_emails.write_series_emails",
        series_write_prepare,
        series_write_effect,
        hold=lambda c: lock_the_email_table,
        # Inside its transaction, the client's email written and the provider's not yet.
        pause_in="appointments.series_emails:queue_email#2",
    ),
    # Held by the mail server, before the email is claimed: see its own test below.
    "deliver_email": Kind("portal.mail.deliver_email", deliver_prepare, deliver_effect),
}
HELD_BY_A_ROW = [name for name, kind in KINDS.items() if kind.hold is not None]


@pytest.fixture
def scenario(request, on, session_type, client_user):
    kind = KINDS[request.param]
    return kind, kind.prepare(on, session_type, client_user)


def finish_with_a_new_worker(workers, dead: WorkerProcess, sink: SmtpSink) -> WorkerProcess:
    """What a process manager does: a new worker, which gives the dead one's task again."""
    sink.mode = "accept"
    a_lease_later(dead.pid)
    fresh = workers()
    eventually(quiet, within=30)
    return fresh


# --- Killed in the middle ---------------------------------------------------------------------


@pytest.mark.parametrize("scenario", HELD_BY_A_ROW, indirect=True)
def test_a_worker_killed_inside_each_kind_of_task_leaves_its_effect_done_once(
    scenario, workers, sink
):
    kind, context = scenario
    # Only the lane of this kind dies with it: an email killed in the middle of being handed
    # over is, rightly, never sent again (at most once), which is another test's subject.
    if POSTGRES:
        with held(kind.hold(context)):
            worker = workers(lanes="default")
            eventually(lambda: running(kind.path) and waiting_on_a_lock())
            worker.kill()
    else:
        worker = workers(lanes="default", pause_in=kind.pause_in)
        eventually(lambda: paused(worker))
        worker.kill()
    task = DBTaskResult.objects.get(task_path=kind.path, status="RUNNING")  # left by the dead
    finish_with_a_new_worker(workers, worker, sink)
    task.refresh_from_db()
    assert task.status == "SUCCESSFUL", task.traceback
    assert TaskRecord.objects.get(task=task).given_again == 1
    assert "stopped answering" not in task.traceback  # cleared when it succeeded
    kind.effect(context, sink)


@pytest.mark.parametrize("scenario", ["deliver_email"], indirect=True)
def test_a_worker_killed_while_the_mail_server_keeps_it_waiting_sends_the_email_once(
    scenario, workers, sink
):
    kind, context = scenario
    sink.mode, sink.stall = "stall-at-rcpt", 30
    worker = workers()
    eventually(lambda: sink.attempts >= 1)
    worker.kill()
    assert context["email"].__class__.objects.get(pk=context["email"].pk).status == "queued"
    finish_with_a_new_worker(workers, worker, sink)
    kind.effect(context, sink)


# --- The database fails in the middle -----------------------------------------------------------


def email_row(context) -> Callable[[], object]:
    return lambda: list(Email.objects.select_for_update().filter(pk=context["email"].pk))


KINDS["deliver_email"].hold = email_row  # its claim waits on the row


def retried(path: str) -> DBTaskResult | None:
    return DBTaskResult.objects.filter(
        task_path=path, status="READY", priority=RETRY_PRIORITY
    ).first()


def cut_inside(kind: Kind, context: dict, workers) -> WorkerProcess:
    """PostgreSQL: the worker's connection terminated while the task waits on a row lock."""
    assert kind.hold is not None
    with held(kind.hold(context)):
        worker = workers()
        blocked = eventually(lambda: running(kind.path) and waiting_on_a_lock())
        with connection.cursor() as cursor:
            for pid in blocked:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
        eventually(lambda: retried(kind.path))
    return worker


@contextlib.contextmanager
def sqlite_write_lock() -> Iterator[None]:
    """Another connection holds SQLite's one write lock; this one gives up waiting at once."""
    usual = int(connection.settings_dict["OPTIONS"]["timeout"] * 1000)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout = 200")
    try:
        with held(lambda: Email.objects.filter(pk=-1).update(kind="")):  # any write takes it
            yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA busy_timeout = {usual}")


def locked_inside(kind: Kind) -> None:
    """
    SQLite: the real lane claims the task, then finds the database locked by another writer
    while it runs it (in this process: no connection of a worker can be cut from outside).
    """
    lane = Lane(["default", "email"])
    lane.register(timezone.now())
    while (row := lane.claim()) is not None and row.task_path != kind.path:
        lane.record(row, lane.run(row))  # what was queued before it, as usual
    assert row is not None
    with sqlite_write_lock():
        outcome = lane.run(row)
    assert outcome.status == "retry" and "locked" in str(outcome.error)
    assert lane.record(row, outcome)
    assert retried(kind.path)


@pytest.mark.parametrize("scenario", list(KINDS), indirect=True)
def test_a_database_failure_inside_each_kind_of_task_retries_it_and_the_effect_happens_once(
    scenario, workers, sink, settings
):
    kind, context = scenario
    if POSTGRES:
        worker = cut_inside(kind, context, workers)
    else:
        settings.MAILERS = mailer_settings(sink.port)
        locked_inside(kind)
        worker = workers()
    task = retried(kind.path)
    assert (
        "OperationalError" in task.exception_class_path
        and "Attempt 1 lost the database" in task.traceback
    )
    DBTaskResult.objects.filter(pk=task.pk).update(run_after=timezone.now())  # its time came
    eventually(quiet, within=30)
    assert worker.alive, worker.log()
    task.refresh_from_db()
    assert task.status == "SUCCESSFUL" and TaskRecord.objects.get(task=task).retries == 1
    kind.effect(context, sink)


# --- The database away ----------------------------------------------------------------------


def test_a_worker_waits_out_a_database_that_went_away_and_then_does_what_was_queued(
    workers, sink, client_user
):
    """
    PostgreSQL restarting (every connection hung up, new ones refused, through a proxy); SQLite
    locked by another writer for longer than the worker waits for it. The worker logs, waits
    and carries on; what was queued meanwhile is done once the database is back.
    """
    context = {"recipient": None, "link": "https://portal.example/chat/1/", "portal_name": "P"}
    first = queue_email("new-message", context, to=client_user.email)
    if POSTGRES:
        proxy = TcpProxy(int(connection.settings_dict["PORT"] or 5432)).up()
        worker = workers(DATABASE_URL=database_url(port=proxy.port))
        eventually(lambda: Email.objects.get(pk=first.pk).status == "sent")
        proxy.down()
        second = queue_email("new-message", context, to=client_user.email)
        eventually(lambda: "could not" in worker.log().lower() or "connection" in worker.log())
        sleep(3)  # several tries at a database that is not there
        assert worker.alive
        proxy.up()
    else:
        worker = workers(DATABASE_URL=database_url() + "?timeout=0.2")
        eventually(lambda: Email.objects.get(pk=first.pk).status == "sent")
        queued = []
        # Queued by the writer that holds the lock: it is there once the lock is let go.
        with held(lambda: queued.append(queue_email("new-message", context, to="x@example.com"))):
            eventually(lambda: "locked" in worker.log())
            sleep(1)
            assert worker.alive
        second = queued[0]
    eventually(lambda: Email.objects.get(pk=second.pk).status == "sent", within=60)
    assert worker.alive
    assert sorted(sink.message_ids()) == sorted(  # each once
        f"<{email.key}@client-portal.invalid>" for email in (first, second)
    )


# --- Stopping, and the deadline ---------------------------------------------------------------


def test_on_sigterm_the_worker_finishes_the_email_in_hand_then_stops(workers, sink, client_user):
    sink.mode, sink.stall = "slow", 0.5  # two seconds an email
    context = {"recipient": None, "link": "https://portal.example/chat/1/", "portal_name": "P"}
    email = queue_email("new-message", context, to=client_user.email)
    worker = workers(EMAIL_TIMEOUT=5)
    eventually(lambda: sink.attempts >= 1)
    started = monotonic()
    worker.terminate()
    assert worker.wait(10) == 0
    assert monotonic() - started < 5  # the email's own time, not the unit's 90 s
    email.refresh_from_db()
    assert email.status == "sent" and len(sink.received) == 1
    assert not WorkerLane.objects.filter(pid=worker.pid, stopped_at__isnull=True).exists()


def test_a_stop_never_waits_longer_than_one_email_attempt_may_take(workers, sink, client_user):
    sink.mode, sink.stall = "slow", 3  # far slower than an attempt may be
    context = {"recipient": None, "link": "https://portal.example/chat/1/", "portal_name": "P"}
    email = queue_email("new-message", context, to=client_user.email)
    worker = workers(EMAIL_TIMEOUT=2)
    eventually(lambda: DBTaskResult.objects.filter(status="RUNNING").exists())
    started = monotonic()
    worker.terminate()
    assert worker.wait(10) == 0
    assert monotonic() - started < 3
    email.refresh_from_db()
    # Cut off before the server had the message: retried later, not "outcome unknown".
    assert email.status == "queued" and "Timed out" in email.last_error


def test_a_task_that_runs_past_the_deadline_is_given_back_and_the_worker_exits_for_a_new_one(
    workers,
):
    from tests.worker_tasks import sleeps

    result = sleeps.enqueue(60)
    worker = workers(TASK_DEADLINE=4, EMAIL_TIMEOUT=1)
    assert worker.wait(30) == 3  # the process manager starts a fresh one
    task = DBTaskResult.objects.get(pk=result.id)
    assert task.status == "READY" and task.exception_class_path == "portal.worker.DeadlinePassed"
    assert "ran past the 4 s a task may take" in task.traceback
    assert TaskRecord.objects.get(task=task).given_again == 1


# --- Fresh work is never starved ------------------------------------------------------------


@pytest.mark.parametrize(
    "lanes, seconds",
    [
        ("default,email", (0, 3)),  # the worker's lanes: fresh work at once
        ("default+email", (5, 30)),  # control: one lane for both waits out the mail server
    ],
)
def test_a_stalled_mail_server_holds_up_no_fresh_work(
    workers, sink, on, session_type, client_user, lanes, seconds
):
    """
    Thirty emails are retrying on a mail server that stalls eight seconds on each; a cancellation's
    emails are written and its waitlist offer made within seconds all the same. The control
    runs everything in one lane, as the worker used to, and shows the test can tell.
    """
    sink.mode, sink.stall = "stall-at-rcpt", 8
    context = {"recipient": None, "link": "https://portal.example/chat/1/", "portal_name": "P"}
    for i in range(30):
        queue_email("new-message", context, to=f"waiting{i}@example.com")
    # Retrying, as after failures: due, and behind fresh work.
    DBTaskResult.objects.update(priority=RETRY_PRIORITY, run_after=timezone.now())
    entry = join(client_user, on, session_type)
    workers(lanes=lanes)
    eventually(lambda: sink.attempts >= 1)  # an attempt has just begun to stall
    started = monotonic()
    cancel_someone_at_nine(on, session_type)

    def done():
        written = Email.objects.filter(kind="appointment-cancelled").count() == 2
        return written and WaitlistOffer.objects.filter(entry=entry).exists()

    eventually(done, within=30)
    low, high = seconds
    assert low <= monotonic() - started < high


# --- Each kind run twice ------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", list(KINDS), indirect=True)
def test_each_kind_of_task_run_twice_has_its_effect_once(scenario, sink, settings):
    """What a lease cannot always prevent: the same task run again after it did its work."""
    kind, context = scenario
    settings.MAILERS = mailer_settings(sink.port)
    row = DBTaskResult.objects.get(task_path=kind.path, status="READY")
    for _ in range(2):
        row.task.call(*row.args_kwargs["args"], **row.args_kwargs["kwargs"])
    run_worker()  # the rest: what was queued with it, and the deliveries
    kind.effect(context, sink)

"""
The background worker (`manage.py db_worker`): it runs the tasks the portal queues, and loses
none of them.

django-tasks-db keeps the queue: one row per task in our own database, written in the
transaction of the change that queues it. Its own worker runs a task and records how it ended;
but it exits on the first database error, and a task whose worker died stays RUNNING for ever.
This worker runs the same rows, and adds what "nothing is lost" needs, for every kind of task:

- **Lanes.** A process runs one thread per lane, and a lane takes tasks from its queues only.
  Work on our own database (writing a change's emails, waitlist offers, holds, rechecks) is
  the `default` lane; handing emails to the mail server, which may stall each attempt up to
  EMAIL_TIMEOUT, is the `email` lane. A stalled mail server never holds up fresh work. In a
  lane, fresh tasks come before retries: a retry is put back at RETRY_PRIORITY.
- **A lease.** Each lane has a row (`WorkerLane`) naming the task in its hands, set in the
  transaction that claims it, and renewed by a heartbeat every HEARTBEAT. A RUNNING task that
  no lane seen within LEASE holds was lost with its worker (killed, out of memory, machine
  gone): every worker gives such tasks again, at start and every RESCUE_EVERY, and so does
  `requeue_lost_work` from the crontab. The lease is on the lane, not the task, so a task
  that legitimately waits needs no deadline of its own to renew, and the same heartbeat tells
  whether any worker is alive. A task lost MOST_TIMES_LOST times fails for good: by then it is
  likelier the cause of its workers' deaths than their victim.
- **Passing failures.** A task that fails because the database went away, was cut off or
  timed out (OperationalError, InterfaceError) runs again later, backing off as an email does,
  for TASK_RETRY_HOURS from when it was queued; a task asks for the same by raising `Retry`.
  Any other error is a bug: the task fails for good, with its traceback, for a person to read.
- **Staying up.** A database error outside a task (claiming, the heartbeat, recording how a
  task ended) is logged and waited out, backing off; the task in hand is recorded once the
  database answers again, before the lane takes another.
- **One deadline.** No task runs longer than TASK_DEADLINE. One that does is given back and
  the process exits with status 3 for the process manager to start a fresh one: a stuck thread
  cannot be stopped any other way. On SIGTERM each lane finishes the task in hand, so a stop
  takes at most TASK_DEADLINE, and the process manager is told to wait longer than that.

Every task's effect is idempotent (a unique key, a conditional update, a claimed row): running
one twice, which no lease can always prevent, changes nothing the first run did not.

**The access log.** Each task runs as a unit of work (`portal.audit.buffer.gathering`) by the
system (`portal.audit.scope.system`, origin `task:<its path>`): what it notes of client records
is written in one INSERT when it ends well, and dropped when it fails or is retried. So a run
logs what that run did. An effect that happens once however often its task runs notes its entry
only when it wins the claim or conditional update that makes it happen, and writes it in that
update's transaction (`buffer.flush_now`): an email is logged as sent once, by the run that
marked it sent, and a rerun that finds it sent logs nothing. A task that only reads, run
twice, is logged twice: it read twice.
"""

import contextlib
import json
import logging
import os
import random
import signal
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import (
    DatabaseError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.tasks import TaskContext, TaskResultStatus
from django.tasks.signals import task_finished, task_started
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, DBTaskResultQuerySet
from django_tasks_db.utils import exclusive_transaction

from portal.audit import buffer, scope
from portal.models import WORKER_LEASE, TaskRecord, WorkerLane

logger = logging.getLogger(__name__)

# Failures that pass: the database went away, cut the connection, or timed the statement out.
TRANSIENT: tuple[type[Exception], ...] = (OperationalError, InterfaceError)
# Fresh tasks (priority 0) are taken before retries, oldest retry first.
RETRY_PRIORITY = -10
HEARTBEAT = timedelta(seconds=5)
LEASE = WORKER_LEASE
RESCUE_EVERY = timedelta(seconds=30)
MOST_TIMES_LOST = 3
# Lanes that have not been seen for this long are forgotten.
FORGET_LANES_AFTER = timedelta(days=1)
# Retries wait 30 s, 1 min, 2 min, ... up to an hour between tries, each shortened by a random
# part of up to half, so that work that failed together does not all come back together.
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
# The lanes a worker runs unless told otherwise, each a list of queues.
DEFAULT_LANES = (("default",), ("email",))
EXIT_DEADLINE = 3


class Retry(Exception):  # noqa: N818  (an instruction, not an error)
    """Raised by a task that should run again at `at`; the message is recorded as the reason."""

    def __init__(self, reason: str, *, at: datetime) -> None:
        super().__init__(reason)
        self.at = at


class WorkerLost(Exception):  # noqa: N818
    """Recorded as the reason on a task given again after its worker stopped answering."""


class DeadlinePassed(Exception):  # noqa: N818
    """Recorded as the reason on a task that ran past TASK_DEADLINE."""


def retry_delay(failed_attempts: int) -> timedelta:
    ceiling = min(LONGEST_WAIT, FIRST_RETRY * 2 ** min(max(failed_attempts, 1) - 1, 20))
    return ceiling * random.uniform(0.5, 1.0)


@dataclass(frozen=True)
class Outcome:
    status: str  # "done", "retry" or "failed"
    value: Any = None
    error: BaseException | None = None
    at: datetime | None = None
    note: str = ""

    @property
    def reason(self) -> str:
        if self.error is None or isinstance(self.error, Retry):
            return self.note
        text = "".join(traceback.format_exception(self.error))
        return f"{self.note}\n\n{text}" if self.note else text


def error_path(error: BaseException | type[BaseException]) -> str:
    kind = error if isinstance(error, type) else type(error)
    return f"{kind.__module__}.{kind.__qualname__}"


def backoff_seconds(attempt: int, *, most: float = 30.0) -> float:
    """Waits between tries at the database: 1, 2, 4 ... seconds, at most `most`."""
    return min(most, 2.0 ** min(attempt, 10))


def reset_connection() -> None:
    """
    After a database error, start the next statement on a fresh connection. Inside a
    transaction (the tests run the worker inside theirs) the connection is left alone.
    """
    if connection.in_atomic_block:
        return
    try:
        connection.close()
    except DatabaseError:
        logger.debug("Closing a broken connection failed", exc_info=True)


# --- Lost tasks -------------------------------------------------------------------------------


def live_holder(now: datetime) -> Exists:
    """A lane seen within the lease holds this task."""
    return Exists(WorkerLane.objects.alive(now).filter(task_id=OuterRef("pk")))


def lost_tasks(now: datetime) -> QuerySet[DBTaskResult]:
    """RUNNING, and no lane alive says it is running it: its worker died with it in hand."""
    return DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).exclude(live_holder(now))


def give_back(task_id: Any, reason: str, now: datetime, *, error: type[Exception]) -> str | None:
    """
    Put a task whose run ended with no outcome back in the queue, to run at once; or, lost too
    often, fail it for good. Only while it is still lost, so two workers (or a worker and the
    crontab) giving back the same task give it back once. Returns "ready", "failed" or None.
    """
    with transaction.atomic():
        task = (
            lost_tasks(now).select_for_update().filter(pk=task_id).only("pk", "worker_ids").first()
        )
        if task is None:
            return None
        record, _ = TaskRecord.objects.get_or_create(task_id=task.pk)
        record.given_again += 1
        record.save(update_fields=["given_again"])
        worker = task.worker_ids[-1] if task.worker_ids else "unknown"
        if record.given_again > MOST_TIMES_LOST:
            status = TaskResultStatus.FAILED
            text = f"Not given again: {reason} (worker {worker}), {record.given_again} times."
            changes: dict[str, Any] = {"finished_at": now}
        else:
            status = TaskResultStatus.READY
            text = f"Given again: {reason} (worker {worker})."
            changes = {"run_after": now}
        DBTaskResult.objects.filter(pk=task.pk).update(
            status=status, exception_class_path=error_path(error), traceback=text, **changes
        )
        WorkerLane.objects.filter(task_id=task.pk).update(task=None, task_started_at=None)
    logger.warning("Task id=%s given back: %s", task_id, text)
    return "ready" if status == TaskResultStatus.READY else "failed"


def give_back_lost(now: datetime | None = None, *, dry_run: bool = False) -> int:
    """Every task lost with its worker, given again (or failed for good); how many."""
    now = now or timezone.now()
    ids = list(lost_tasks(now).values_list("pk", flat=True))
    if dry_run:
        return len(ids)
    reason = "its worker stopped answering while running it"
    given = sum(give_back(pk, reason, now, error=WorkerLost) is not None for pk in ids)
    WorkerLane.objects.filter(
        Q(seen_at__lt=now - FORGET_LANES_AFTER) | Q(stopped_at__lt=now - FORGET_LANES_AFTER)
    ).delete()
    return given


def reason_of(task: DBTaskResult) -> tuple[str, str]:
    """The recorded reason: the worker's own note, and the error (a traceback's last line)."""
    lines = [line for line in task.traceback.splitlines() if line.strip()]
    note = lines[0] if lines and not lines[0].startswith("Traceback") else ""
    error = lines[-1] if any(line.startswith("Traceback") for line in lines) else ""
    return note, error


def task_state(task: DBTaskResult, now: datetime) -> str:
    """What became of a task, in words for the superuser's task list."""
    # A missing one-to-one row raises an AttributeError: None then.
    record: TaskRecord | None = getattr(task, "record", None)
    retries = record.retries if record else 0
    given_again = record.given_again if record else 0
    history = ", ".join(
        part
        for part in (
            f"retried {retries}×" if retries else "",
            f"given again {given_again}× after its worker stopped" if given_again else "",
        )
        if part
    )
    if task.status == TaskResultStatus.SUCCESSFUL:
        return f"Done ({history})" if history else "Done"
    note, error = reason_of(task)
    if task.status == TaskResultStatus.FAILED:
        return f"Failed for good: {note} {error}".replace("  ", " ").strip()
    if task.status == TaskResultStatus.RUNNING:
        holder: WorkerLane | None = getattr(task, "holder", None)
        if holder is None or not holder.is_alive(now):
            return "Lost: its worker stopped answering; it will be given again"
        return f"Running on {holder.hostname} (process {holder.pid})"
    if task.traceback and task.run_after > now:
        when = timezone.localtime(task.run_after)
        return f"Retrying at {when:%d %b %H:%M:%S %Z}: {error or note}"
    if task.traceback:
        return f"Waiting for a worker ({history or error or note})"
    return "Waiting for a worker"


# --- A lane -----------------------------------------------------------------------------------


def lane_id(queues: Iterable[str]) -> str:
    """Unique among every worker: host, process, queues and a random part, at most 64 long."""
    name = "+".join(queues)
    host = socket.gethostname()[:24]
    return f"{host}:{os.getpid()}:{name[:16]}:{uuid.uuid4().hex[:8]}"


class Lane:
    """Takes the tasks of its queues one at a time, runs each, and records how it ended."""

    def __init__(self, queues: Iterable[str], *, backend: str = "default") -> None:
        self.queues = list(queues)
        self.backend = backend
        self.id = lane_id(self.queues)
        self.stopping = threading.Event()
        self.in_hand: DBTaskResult | None = None
        self.started: float | None = None  # time.monotonic() when the task in hand started

    # Registering and claiming ---------------------------------------------------------------
    def register(self, now: datetime) -> None:
        WorkerLane.objects.update_or_create(
            pk=self.id,
            defaults={"seen_at": now, "stopped_at": None},
            create_defaults={
                "hostname": socket.gethostname()[:255],
                "pid": os.getpid(),
                "queues": ",".join(self.queues),
                "started_at": now,
                "seen_at": now,
            },
        )

    def ready(self) -> DBTaskResultQuerySet:
        return DBTaskResult.objects.ready().filter(
            backend_name=self.backend, queue_name__in=self.queues
        )

    def claim(self) -> DBTaskResult | None:
        """The next task, marked RUNNING in this lane's hands, in one transaction."""
        tasks = self.ready()
        # Exclusive on SQLite: two workers never read the same task as free.
        with exclusive_transaction(tasks.db):
            task = tasks.get_locked()
            if task is None:
                return None
            task.claim(self.id)
            now = timezone.now()
            held = WorkerLane.objects.filter(pk=self.id).update(
                task=task, task_started_at=task.started_at, seen_at=now, stopped_at=None
            )
            if not held:  # forgotten while the database was away: be known again
                self.register(now)
                WorkerLane.objects.filter(pk=self.id).update(
                    task=task, task_started_at=task.started_at
                )
        return task

    # Running --------------------------------------------------------------------------------
    def run(self, row: DBTaskResult) -> Outcome:
        try:
            task = row.task
            result = row.task_result
        except Exception as error:  # a task that no longer exists, or names no task
            return Outcome("failed", error=error)
        backend = type(task.get_backend())
        task_started.send(sender=backend, task_result=result)
        try:
            with scope.acting(scope.system(row.task_path)), buffer.gathering() as unit:
                if task.takes_context:
                    value = task.call(
                        TaskContext(task_result=result), *result.args, **result.kwargs
                    )
                else:
                    value = task.call(*result.args, **result.kwargs)
                json.dumps(value)  # recorded as JSON: find out now, not while recording it
                # What it read of client records, in one INSERT, only once it ended well: a
                # run that failed or asked to be retried logs nothing, and its rerun notes
                # what that run does. A database error here is a passing failure like any.
                buffer.flush(unit)
        except Retry as retry:
            return Outcome("retry", error=retry, at=retry.at, note=str(retry))
        except TRANSIENT as error:
            reset_connection()
            return self._retry_later(row, error)
        except Exception as error:
            return Outcome("failed", error=error)
        return Outcome("done", value=value)

    def _retry_later(self, row: DBTaskResult, error: BaseException) -> Outcome:
        # Decided without the database, which may be what just failed. Every run of the task
        # added a worker id: that many attempts so far.
        now = timezone.now()
        attempts = len(row.worker_ids)
        tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
        if now - row.enqueued_at >= settings.PORTAL_TASK_RETRY_FOR:
            note = f"Gave up after {tries} that lost the database."
            return Outcome("failed", error=error, note=note)
        at = now + retry_delay(attempts)
        note = f"Attempt {attempts} lost the database; the next is at {at:%Y-%m-%d %H:%M:%S} UTC."
        return Outcome("retry", error=error, at=at, note=note)

    # Recording ------------------------------------------------------------------------------
    def record(self, row: DBTaskResult, outcome: Outcome) -> bool:
        """
        How the task ended, written only while it is still in this lane's hands (if the lease
        lapsed and another worker gave it again, that run records its own). A database that
        is away is waited for: the lane takes nothing else meanwhile. False when not recorded.
        """
        attempt = 0
        while True:
            try:
                return self._record(row, outcome)
            except TRANSIENT:
                attempt += 1
                logger.warning(
                    "Could not record task id=%s (attempt %d); the database is away",
                    row.pk,
                    attempt,
                    exc_info=True,
                )
                reset_connection()
                if self.stopping.wait(backoff_seconds(attempt)) and attempt >= 3:
                    # Stopping, and the database still away: the lease will give it again.
                    return False

    @staticmethod
    def _changes(outcome: Outcome, now: datetime) -> dict[str, Any]:
        """The task's row as the outcome leaves it."""
        if outcome.status == "done":
            return {
                "status": TaskResultStatus.SUCCESSFUL,
                "finished_at": now,
                "return_value": outcome.value,
                "exception_class_path": "",
                "traceback": "",
            }
        assert outcome.error is not None
        why = {"exception_class_path": error_path(outcome.error), "traceback": outcome.reason}
        if outcome.status == "retry":
            return {
                "status": TaskResultStatus.READY,
                "run_after": outcome.at,
                "priority": RETRY_PRIORITY,
                **why,
            }
        return {"status": TaskResultStatus.FAILED, "finished_at": now, "return_value": None, **why}

    def _record(self, row: DBTaskResult, outcome: Outcome) -> bool:
        now = timezone.now()
        changes = self._changes(outcome, now)
        with transaction.atomic():
            recorded = DBTaskResult.objects.filter(
                pk=row.pk, status=TaskResultStatus.RUNNING, holder__id=self.id
            ).update(**changes)
            if recorded and outcome.status == "retry":
                record, _ = TaskRecord.objects.get_or_create(task_id=row.pk)
                record.retries += 1
                record.save(update_fields=["retries"])
            WorkerLane.objects.filter(pk=self.id).update(
                task=None, task_started_at=None, seen_at=now
            )
        if not recorded:
            logger.warning(
                "Task id=%s was given to another worker meanwhile; this run's outcome (%s) "
                "is not recorded",
                row.pk,
                outcome.status,
            )
            return False
        for name, value in changes.items():
            setattr(row, name, value)
        if outcome.status == "retry":
            logger.warning("Task id=%s path=%s retried: %s", row.pk, row.task_path, outcome.note)
        else:
            try:
                task_finished.send(sender=type(row.task.get_backend()), task_result=row.task_result)
            except Exception:  # the outcome is recorded; a log line is not worth more
                logger.exception("Task id=%s path=%s: %s", row.pk, row.task_path, outcome.status)
        return True

    # One step, and the loop ----------------------------------------------------------------
    def step(self) -> bool:
        """Claim, run and record one task; False when none was due."""
        row = self.claim()
        if row is None:
            return False
        self.in_hand, self.started = row, time.monotonic()
        try:
            self.record(row, self.run(row))
        except BaseException:
            # Not recorded: let go of it, so that the lease gives it again.
            self.let_go()
            raise
        finally:
            self.in_hand, self.started = None, None
        return True

    def let_go(self) -> None:
        try:
            WorkerLane.objects.filter(pk=self.id).update(task=None, task_started_at=None)
        except DatabaseError:
            logger.warning("Lane %s could not let go of its task", self.id, exc_info=True)

    def loop(self, interval: float) -> None:
        """Until told to stop: take what is due, wait `interval` when nothing is."""
        failures = 0
        while not self.stopping.is_set():
            try:
                close_old_connections()
                worked = self.step()
                failures = 0
            except Exception:
                # The database is away, or full, or cut us off: wait it out, never exit.
                failures += 1
                logger.warning(
                    "Lane %s could not take a task (attempt %d); waiting",
                    self.id,
                    failures,
                    exc_info=True,
                )
                reset_connection()
                self.stopping.wait(backoff_seconds(failures))
                continue
            if not worked:
                self.stopping.wait(interval)
        with contextlib.suppress(DatabaseError):
            connection.close()


# --- The process ------------------------------------------------------------------------------


class Worker:
    """
    The lanes of one process, each in a thread of its own, and the main thread's heartbeat,
    rescue of lost tasks and deadline. `run()` returns the process's exit status.
    """

    def __init__(
        self,
        lanes: Iterable[Iterable[str]] = DEFAULT_LANES,
        *,
        interval: float = 1.0,
        backend: str = "default",
    ) -> None:
        self.lanes = [Lane(queues, backend=backend) for queues in lanes]
        self.interval = interval
        self.stopping = threading.Event()
        self.deadline = settings.PORTAL_TASK_DEADLINE.total_seconds()
        self._signals = 0
        self.hard_stop = False

    # Signals --------------------------------------------------------------------------------
    def on_signal(self, signum: int, frame: Any) -> None:
        # Only flags: the main thread may be inside a statement on its connection right now.
        self._signals += 1
        if self._signals > 1:
            self.hard_stop = True
        logger.warning(
            "%s: %s",
            signal.strsignal(signum),
            "giving back the tasks in hand and stopping now"
            if self.hard_stop
            else "finishing the tasks in hand, then stopping (again to stop at once)",
        )
        self.stop()

    def configure_signals(self) -> None:
        for name in ("SIGINT", "SIGTERM", "SIGQUIT"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), self.on_signal)

    def stop(self) -> None:
        self.stopping.set()
        for lane in self.lanes:
            lane.stopping.set()

    # Database chores, each waited out when the database is away -----------------------------
    def _chore(self, name: str, fn, *args) -> bool:
        try:
            fn(*args)
        except Exception:
            logger.warning("Worker %s failed; trying again later", name, exc_info=True)
            reset_connection()
            return False
        return True

    def _register(self) -> None:
        now = timezone.now()
        for lane in self.lanes:
            lane.register(now)

    def heartbeat(self) -> None:
        now = timezone.now()
        ids = [lane.id for lane in self.lanes]
        seen = WorkerLane.objects.filter(pk__in=ids, stopped_at__isnull=True).update(seen_at=now)
        if seen < len(ids):
            known = set(WorkerLane.objects.filter(pk__in=ids).values_list("pk", flat=True))
            for lane in self.lanes:
                if lane.id not in known:
                    lane.register(now)

    def give_back_in_hand(self, reason: str, error: type[Exception] = WorkerLost) -> None:
        """Best effort, on the way out: the lease gives them again anyway."""
        ids = [lane.id for lane in self.lanes]
        try:
            now = timezone.now()
            WorkerLane.objects.filter(pk__in=ids).update(stopped_at=now)
            for lane in self.lanes:
                row = lane.in_hand
                if row is not None:
                    give_back(row.pk, reason, now, error=error)
        except Exception:
            logger.warning("Could not give back the tasks in hand", exc_info=True)

    def mark_stopped(self) -> None:
        WorkerLane.objects.filter(pk__in=[lane.id for lane in self.lanes]).update(
            stopped_at=timezone.now(), task=None, task_started_at=None
        )

    def overdue(self) -> Lane | None:
        now = time.monotonic()
        for lane in self.lanes:
            started = lane.started
            if started is not None and now - started > self.deadline:
                return lane
        return None

    # The main loop ---------------------------------------------------------------------------
    def run(self) -> int:
        logger.info(
            "Worker starting: lanes %s", "; ".join(",".join(lane.queues) for lane in self.lanes)
        )
        attempt = 0
        while not self._chore("registering", self._register):
            attempt += 1
            if self.stopping.wait(backoff_seconds(attempt)):
                return 0
        self._chore("giving back lost tasks", give_back_lost)
        threads = [
            threading.Thread(target=lane.loop, args=(self.interval,), name=lane.id, daemon=True)
            for lane in self.lanes
        ]
        for thread in threads:
            thread.start()
        next_beat = next_rescue = time.monotonic()
        while any(thread.is_alive() for thread in threads):
            if not self.stopping.is_set() and not all(thread.is_alive() for thread in threads):
                logger.error("A lane stopped by itself: exiting for a fresh process")
                self.give_back_in_hand("a lane of its worker stopped by itself")
                return 1
            if self.hard_stop:
                self.give_back_in_hand("its worker was stopped while running it")
                return 1
            lane = self.overdue()
            if lane is not None:
                logger.error(
                    "Task id=%s ran past the %s s a task may take: giving it back and exiting",
                    lane.in_hand.pk if lane.in_hand else "?",
                    self.deadline,
                )
                self.give_back_in_hand(
                    f"it ran past the {self.deadline:.0f} s a task may take",
                    DeadlinePassed,
                )
                return EXIT_DEADLINE
            now = time.monotonic()
            if now >= next_beat:  # also while stopping: the lanes still hold their tasks
                next_beat = now + HEARTBEAT.total_seconds()
                self._chore("heartbeat", self.heartbeat)
            if now >= next_rescue and not self.stopping.is_set():
                next_rescue = now + RESCUE_EVERY.total_seconds()
                self._chore("giving back lost tasks", give_back_lost)
            if self.stopping.is_set():
                time.sleep(0.2)  # short naps: leave as soon as the lanes are done
            else:
                self.stopping.wait(1.0)
        self._chore("stopping", self.mark_stopped)
        logger.info("Worker stopped")
        return 0

    def run_due(self) -> int:
        """
        Run every task that is due, lane after lane, until none is, in this thread; how many
        ran. For `db_worker --batch` and the tests (which run it inside their transaction).
        """
        self._register()
        ran = 0
        worked = True
        while worked:
            worked = False
            for lane in self.lanes:
                while lane.step():
                    ran += 1
                    worked = True
        self.mark_stopped()
        return ran

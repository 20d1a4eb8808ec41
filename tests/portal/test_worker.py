"""
The worker's rules, one at a time, with its real code in this process: what it does with a
task that fails on the database, with a bug, or asks to wait; which task comes first; and how
a task lost with its worker is given again. tests/portal/test_worker_process.py kills and cuts
real worker processes.
"""

import re
import shlex
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from portal.models import TaskRecord, WorkerLane
from portal.worker import (
    LEASE,
    MOST_TIMES_LOST,
    RETRY_PRIORITY,
    Lane,
    Worker,
    give_back_lost,
    lost_tasks,
)
from tests import worker_tasks
from tests.tasks import run_worker

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def calls():
    worker_tasks.CALLS.clear()
    return worker_tasks.CALLS


def task_row(result) -> DBTaskResult:
    return DBTaskResult.objects.get(pk=result.id)


def make_due(row: DBTaskResult) -> None:
    DBTaskResult.objects.filter(pk=row.pk).update(run_after=timezone.now())


def claimed_by_a_lane(result) -> tuple[Lane, DBTaskResult]:
    lane = Lane(["default"])
    lane.register(timezone.now())
    row = lane.claim()
    assert row is not None and str(row.pk) == str(result.id)
    return lane, row


def lane_gone_quiet(lane: Lane) -> None:
    WorkerLane.objects.filter(pk=lane.id).update(
        seen_at=timezone.now() - LEASE - timedelta(seconds=1)
    )


# --- Failures --------------------------------------------------------------------------------


def test_a_task_that_loses_the_database_runs_again_later_with_a_longer_wait_each_time():
    row = task_row(worker_tasks.loses_the_database.enqueue())
    waits = []
    for attempt in (1, 2, 3):
        before = timezone.now()
        run_worker()
        row.refresh_from_db()
        assert row.status == "READY" and row.priority == RETRY_PRIORITY
        assert row.exception_class_path == "django.db.utils.OperationalError"
        assert f"Attempt {attempt} lost the database; the next is at" in row.traceback
        assert "server closed the connection" in row.traceback
        assert TaskRecord.objects.get(task=row).retries == attempt
        waits.append((row.run_after - before).total_seconds())
        make_due(row)
    # 30 s, 1 min, 2 min ceilings, each shortened by up to half.
    assert 15 <= waits[0] <= 30 and 30 <= waits[1] <= 60 and 60 <= waits[2] <= 120


def test_a_task_that_keeps_losing_the_database_fails_for_good_after_the_retry_window():
    row = task_row(worker_tasks.loses_the_database.enqueue())
    past = timezone.now() - settings.PORTAL_TASK_RETRY_FOR
    DBTaskResult.objects.filter(pk=row.pk).update(enqueued_at=past)
    run_worker()
    row.refresh_from_db()
    assert row.status == "FAILED" and "Gave up after 1 attempt that lost" in row.traceback


def test_a_bug_fails_the_task_for_good_with_its_traceback():
    row = task_row(worker_tasks.has_a_bug.enqueue())
    run_worker()
    row.refresh_from_db()
    assert row.status == "FAILED" and row.exception_class_path == "builtins.ValueError"
    assert "a bug" in row.traceback and not TaskRecord.objects.filter(task=row).exists()


def test_a_task_that_asks_to_wait_is_put_back_for_then_with_its_reason():
    row = task_row(worker_tasks.asks_to_wait.enqueue(600))
    run_worker()
    row.refresh_from_db()
    assert row.status == "READY" and row.traceback == "Not yet"
    assert timedelta(seconds=590) < row.run_after - timezone.now() <= timedelta(seconds=600)


def test_a_task_that_succeeds_after_retrying_loses_the_old_reason_but_keeps_its_count(calls):
    row = task_row(worker_tasks.records.enqueue("once"))
    DBTaskResult.objects.filter(pk=row.pk).update(traceback="an old reason", priority=-10)
    TaskRecord.objects.create(task=row, retries=2)
    run_worker()
    row.refresh_from_db()
    assert (row.status, row.traceback, row.return_value) == ("SUCCESSFUL", "", "once")
    assert calls == ["once"] and row.record.retries == 2


# --- Order and lanes -------------------------------------------------------------------------


def test_fresh_tasks_are_taken_before_retries_that_are_due(calls):
    retry = task_row(worker_tasks.records.enqueue("a retry"))
    DBTaskResult.objects.filter(pk=retry.pk).update(
        priority=RETRY_PRIORITY, run_after=timezone.now() - timedelta(minutes=5)
    )
    worker_tasks.records.enqueue("fresh")
    run_worker()
    assert calls == ["fresh", "a retry"]


def test_a_lane_takes_only_the_tasks_of_its_queues(calls):
    worker_tasks.records.enqueue("work")
    email_lane = Worker([["email"]])
    assert email_lane.run_due() == 0 and calls == []
    assert Worker([["default"]]).run_due() == 1 and calls == ["work"]


def test_deliveries_go_to_the_email_lane_and_everything_else_to_the_default_one():
    from appointments.emails import write_appointment_emails
    from appointments.tasks import end_offer_hold, offer_opening, recheck_offers
    from portal.mail import deliver_email

    assert deliver_email.queue_name == "email"
    for other in (write_appointment_emails, offer_opening, end_offer_hold, recheck_offers):
        assert other.queue_name == "default"


# --- Lost with its worker ---------------------------------------------------------------------


def test_a_task_in_the_hands_of_a_live_lane_is_not_given_again():
    lane, row = claimed_by_a_lane(worker_tasks.records.enqueue("x"))
    assert give_back_lost() == 0
    row.refresh_from_db()
    assert row.status == "RUNNING" and WorkerLane.objects.get(pk=lane.id).task_id == row.pk


def test_a_task_whose_lane_stopped_answering_is_given_again_once(calls):
    lane, row = claimed_by_a_lane(worker_tasks.records.enqueue("x"))
    lane_gone_quiet(lane)
    assert give_back_lost() == 1
    assert give_back_lost() == 0  # a second worker, or the crontab, right after
    row.refresh_from_db()
    assert row.status == "READY" and row.record.given_again == 1
    assert row.exception_class_path == "portal.worker.WorkerLost"
    assert lane.id in row.traceback and "stopped answering" in row.traceback
    assert WorkerLane.objects.get(pk=lane.id).task_id is None
    run_worker()
    assert calls == ["x"]
    row.refresh_from_db()
    assert row.status == "SUCCESSFUL"


def test_the_lane_of_a_worker_that_lost_its_task_cannot_record_it_after_all(calls):
    lane, row = claimed_by_a_lane(worker_tasks.records.enqueue("x"))
    outcome = lane.run(row)
    lane_gone_quiet(lane)
    give_back_lost()
    assert lane.record(row, outcome) is False  # the run given again records its own
    row.refresh_from_db()
    assert row.status == "READY"


def test_a_task_lost_more_than_three_times_fails_for_good():
    result = worker_tasks.records.enqueue("x")
    for _ in range(MOST_TIMES_LOST + 1):
        lane, row = claimed_by_a_lane(result)
        lane_gone_quiet(lane)
        give_back_lost()
    row.refresh_from_db()
    assert row.status == "FAILED" and row.record.given_again == MOST_TIMES_LOST + 1
    assert "Not given again: its worker stopped answering" in row.traceback
    assert not lost_tasks(timezone.now()).exists()


def test_a_running_task_nobody_holds_is_lost_even_from_a_worker_of_old():
    """A task left RUNNING by django-tasks-db's own worker, before this one, is found too."""
    row = task_row(worker_tasks.records.enqueue("x"))
    DBTaskResult.objects.filter(pk=row.pk).update(status="RUNNING", worker_ids=["old"])
    assert give_back_lost() == 1


def test_lanes_not_seen_for_a_day_are_forgotten():
    lane = Lane(["default"])
    lane.register(timezone.now() - timedelta(days=2))
    WorkerLane.objects.filter(pk=lane.id).update(seen_at=timezone.now() - timedelta(days=2))
    live = Lane(["default"])
    live.register(timezone.now())
    give_back_lost()
    assert list(WorkerLane.objects.values_list("pk", flat=True)) == [live.id]


# --- The deadline and the process manager ------------------------------------------------------


def test_the_readmes_unit_gives_the_worker_longer_to_stop_than_a_task_may_take():
    """
    On SIGTERM the worker finishes the tasks in hand; no task runs longer than TASK_DEADLINE
    and no email attempt longer than EMAIL_TIMEOUT. systemd must wait longer than both.
    """
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    unit = readme[readme.index("[Service]") : readme.index("[Install]")]
    stop = int(re.search(r"^\s*TimeoutStopSec=(\d+)$", unit, re.MULTILINE).group(1))
    deadline = settings.PORTAL_TASK_DEADLINE.total_seconds()
    assert settings.PORTAL_EMAIL_TIMEOUT < deadline < stop
    assert "db_worker" in unit and "Restart=always" in unit


# --- What the operator sees -----------------------------------------------------------------


def test_a_superuser_sees_what_became_of_each_task_and_why(staff_browser, db):
    from django.urls import reverse

    from tests.factories import UserFactory

    root = UserFactory(is_staff=True, is_superuser=True)
    task_row(worker_tasks.loses_the_database.enqueue())
    task_row(worker_tasks.has_a_bug.enqueue())
    task_row(worker_tasks.records.enqueue("fine"))
    run_worker()
    lane, lost = claimed_by_a_lane(worker_tasks.records.enqueue("lost"))
    lane_gone_quiet(lane)
    browser = staff_browser(root)
    tasks = reverse("admin:django_tasks_database_dbtaskresult_changelist")
    page = browser.get(tasks).text
    assert "Retrying at " in page and "server closed the connection unexpectedly" in page
    assert "Failed for good: ValueError: a bug" in page
    assert "Lost: its worker stopped answering; it will be given again" in page
    assert ">Done<" in page
    assert "loses_the_database" not in browser.get(tasks + "?happened=failed").text
    assert "has_a_bug" in browser.get(tasks + "?happened=failed").text
    give_back_lost()
    given = browser.get(tasks + "?happened=given-again").text
    assert "Waiting for a worker (given again 1× after its worker stopped)" in given
    assert "loses_the_database" in browser.get(tasks + "?happened=retried").text
    detail = browser.get(reverse("admin:django_tasks_database_dbtaskresult_change", args=[lost.pk]))
    assert "stopped answering" in detail.text and lane.id in detail.text
    workers = browser.get(reverse("admin:portal_workerlane_changelist")).text
    assert lane.id in workers and 'alt="False"' in workers


def crontab(command: str) -> list[str]:
    """The arguments the README's crontab gives a command."""
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    line = next(line for line in readme.splitlines() if f"manage.py {command}" in line)
    return shlex.split(line.split(f"manage.py {command}", 1)[1])


@pytest.mark.parametrize("queue", ["default", "email"])
def test_a_task_its_dead_worker_left_running_is_finished_and_in_time_pruned(queue, calls):
    """What the crontab runs: requeue_lost_work, then prune_db_task_results, as written there."""
    from io import StringIO

    from django.core.management import call_command

    lane = Lane([queue])
    lane.register(timezone.now())
    worker_tasks.records.using(queue_name=queue).enqueue("x")
    row = lane.claim()
    lane_gone_quiet(lane)
    out = StringIO()
    call_command("requeue_lost_work", *crontab("requeue_lost_work"), stdout=out)
    assert "1 task left running by a stopped worker was given again." in out.getvalue()
    run_worker()
    row.refresh_from_db()
    assert row.status == "SUCCESSFUL" and calls == ["x"]
    DBTaskResult.objects.filter(pk=row.pk).update(finished_at=timezone.now() - timedelta(days=15))
    call_command("prune_db_task_results", *crontab("prune_db_task_results"), stdout=out)
    assert not DBTaskResult.objects.filter(pk=row.pk).exists()
    assert not TaskRecord.objects.exists()


def test_a_lane_is_alive_by_the_same_rule_in_the_database_and_in_python():
    now = timezone.now()
    lanes = []
    for seen in (timedelta(0), LEASE - timedelta(seconds=1), LEASE, LEASE + timedelta(seconds=1)):
        for stopped in (None, now):
            lane = Lane(["default"])
            lane.register(now)
            WorkerLane.objects.filter(pk=lane.id).update(seen_at=now - seen, stopped_at=stopped)
            lanes.append(WorkerLane.objects.get(pk=lane.id))
    alive = set(WorkerLane.objects.alive(now).values_list("pk", flat=True))
    assert alive == {lane.pk for lane in lanes if lane.is_alive(now)}
    assert len(alive) == 3  # seen now, a second inside the lease, and at its very end

"""Run queued tasks with the real worker of django-tasks-db, as `manage.py db_worker` does."""

from unittest import mock

from django.core import mail
from django.db import connection
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult


def run_worker(*, worker_id: str = "test-worker", max_tasks: int | None = None) -> None:
    """
    Run every task that is due, then return (the worker's batch mode). Inside a test's
    transaction the worker must not drop the connection between tasks, as it does in
    production to pick up a fresh one: that would throw the test's own transaction away.
    """
    worker = db_worker.Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=max_tasks,
        worker_id=worker_id,
        excluded_queue_names=[],
    )
    if connection.in_atomic_block:
        with mock.patch.object(db_worker, "close_old_connections", lambda: None):
            worker.run()
    else:
        worker.run()


def sent_mail() -> list:
    """Deliver what is queued (to the test mailbox), and return everything delivered so far."""
    run_worker()
    return mail.outbox


def queued_task_count() -> int:
    return DBTaskResult.objects.ready().count()

"""Run queued tasks with the portal's real worker (portal/worker.py), as `db_worker --batch`."""

from django.core import mail
from django_tasks_db.models import DBTaskResult

from portal.worker import Worker


def run_worker() -> int:
    """
    Run every task that is due in every lane, then return how many ran. Inside a test's
    transaction the worker keeps its connection (it only drops it after a database error
    outside a transaction), so the test's own transaction stays.
    """
    return Worker().run_due()


def sent_mail() -> list:
    """Deliver what is queued (to the test mailbox), and return everything delivered so far."""
    run_worker()
    return mail.outbox


def queued_task_count() -> int:
    return DBTaskResult.objects.ready().count()

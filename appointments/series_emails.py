"""
A series' emails: one to the client and one to the provider for the series as a whole (booked,
ended, its time changed, dates left out when it was booked further ahead), never one per
session, each with the series' calendar file. Written by the worker from the SeriesChange, as
appointments/emails.py writes a single appointment's from its history entry: the keys follow
from the change's random seed, so a task run twice writes them once.
"""

from django.db import transaction
from django.tasks import task

from appointments.models import SeriesChange


def queue_series_emails(change: SeriesChange) -> None:
    """Call it inside the change's transaction: the worker writes and sends the emails."""
    with transaction.atomic(savepoint=False):
        write_series_emails.enqueue(change.pk)


@task
def write_series_emails(change_id: int) -> int:
    """The change's two emails; how many were written (none when they already were)."""
    raise NotImplementedError

"""Tasks that exist only for the worker's tests: each does one thing a real task may do."""

import time
from datetime import timedelta

from django.db import OperationalError
from django.tasks import task
from django.utils import timezone

from portal.worker import Retry

# What `records` was called with, in this process, in order.
CALLS: list[str] = []


@task
def records(name: str) -> str:
    CALLS.append(name)
    return name


@task
def loses_the_database() -> None:
    raise OperationalError("server closed the connection unexpectedly")


@task
def has_a_bug() -> None:
    raise ValueError("a bug")


@task
def asks_to_wait(seconds: int) -> None:
    raise Retry("Not yet", at=timezone.now() + timedelta(seconds=seconds))


@task
def sleeps(seconds: float) -> None:
    time.sleep(seconds)


@task
def reads_records(client_ids: list[int]) -> int:
    """Notes that it read each client's record, one at a time, as a task showing them would."""
    from portal.audit import buffer, scope

    for client in client_ids:
        buffer.note(scope.entry("viewed", client_id=client, records=[f"x.y:{client}"]))
    return len(client_ids)


@task
def reads_records_then_fails(client_id: int, error: str) -> None:
    from portal.audit import buffer, scope

    buffer.note(scope.entry("viewed", client_id=client_id))
    if error == "database":
        raise OperationalError("server closed the connection unexpectedly")
    if error == "retry":
        raise Retry("Not yet", at=timezone.now() + timedelta(seconds=60))
    raise ValueError("a bug")

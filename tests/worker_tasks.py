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

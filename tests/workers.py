"""
The real worker as a separate process (`manage.py db_worker`), on the test database, for tests
that kill it, cut its connection or take its database away: what happens to a process cannot
be tested inside the test's own.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from portal.models import WorkerLane
from portal.worker import LEASE

PROJECT = Path(__file__).resolve().parents[1]


def database_url(*, host: str | None = None, port: int | None = None) -> str:
    """The test database as a DATABASE_URL, optionally reached through another address."""
    config = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{config['NAME']}"
    user = config["USER"] or "postgres"
    password = f":{config['PASSWORD']}" if config["PASSWORD"] else ""
    address = f"{host or config['HOST'] or '127.0.0.1'}:{port or config['PORT'] or 5432}"
    return f"postgres://{user}{password}@{address}/{config['NAME']}"


def eventually(check: Callable[[], object], *, within: float = 15.0, every: float = 0.05):
    """The first true answer of `check`, asked until `within` seconds pass; fails after."""
    deadline = time.monotonic() + within
    while True:
        answer = check()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"Not so after {within} s: {check}")
        time.sleep(every)


class WorkerProcess:
    """`manage.py db_worker` in a process of its own, its output kept in a file."""

    def __init__(
        self, *, lanes: str | None = None, pause_in: str | None = None, **env: object
    ) -> None:
        self.paused_file = Path(tempfile.mkdtemp(prefix="worker-")) / "paused"
        self.env = {
            **os.environ,
            "DEBUG": "true",
            "DATABASE_URL": database_url(),
            "EMAIL_URL": "consolemail://",
            "PYTHONUNBUFFERED": "1",
            **{name: str(value) for name, value in env.items()},
        }
        self.args = [sys.executable, "manage.py", "db_worker", "--interval", "0.05"]
        if pause_in:
            # tests/worker_harness.py: the same command, paused inside `pause_in` when called.
            self.env |= {"PAUSE_IN": pause_in, "PAUSED_FILE": str(self.paused_file)}
            self.args[1] = "tests/worker_harness.py"
        if lanes:
            self.args += ["--lanes", lanes]
        # Open for the life of the process; close() closes it.
        self.output = (self.paused_file.parent / "output.log").open("wb")  # noqa: SIM115
        self.process: subprocess.Popen | None = None

    def start(self) -> "WorkerProcess":
        self.process = subprocess.Popen(
            self.args, cwd=PROJECT, env=self.env, stdout=self.output, stderr=subprocess.STDOUT
        )
        eventually(lambda: WorkerLane.objects.filter(pid=self.pid).exists(), within=30)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: the process ends wherever it is, without a word to anyone."""
        if self.alive:
            os.kill(self.pid, signal.SIGKILL)
            self.wait()

    def terminate(self) -> None:
        os.kill(self.pid, signal.SIGTERM)

    def wait(self, timeout: float = 30) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def log(self) -> str:
        return (self.paused_file.parent / "output.log").read_text(errors="replace")

    def close(self) -> None:
        self.kill()
        self.output.close()
        shutil.rmtree(self.paused_file.parent, ignore_errors=True)


def a_lease_later(pid: int) -> None:
    """As if the lease of a dead worker's lanes ran out: they were last seen that long ago."""
    WorkerLane.objects.filter(pid=pid).update(seen_at=timezone.now() - LEASE - timedelta(seconds=1))


def running(task_path: str) -> DBTaskResult | None:
    return DBTaskResult.objects.filter(task_path=task_path, status="RUNNING").first()


def paused(worker: WorkerProcess) -> bool:
    """The worker reached its pause point (tests/worker_harness.py)."""
    return worker.paused_file.exists()

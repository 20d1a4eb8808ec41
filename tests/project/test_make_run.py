"""
`make run` as a developer runs it, on a database of its own: the worker beside the server is
started again when it dies, and stopped with the server on Ctrl-C.
"""

import os
import signal
import sqlite3
import subprocess
from pathlib import Path

from tests.smtp import free_port
from tests.workers import PROJECT, eventually


def worker_pids(database: Path) -> set[int]:
    """The processes whose worker lanes are alive, read straight from the file."""
    if not database.exists():
        return set()
    try:
        with sqlite3.connect(database, timeout=5) as db:
            rows = db.execute("SELECT pid FROM portal_workerlane WHERE stopped_at IS NULL")
            return {pid for (pid,) in rows}
    except sqlite3.OperationalError:  # not migrated yet
        return set()


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_make_run_starts_a_dead_worker_again_and_stops_it_with_the_server(tmp_path):
    database = tmp_path / "run.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "EMAIL_URL": "consolemail://",
        "MAKEFLAGS": "",
    }
    output = (tmp_path / "make.log").open("wb")
    make = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"PORT={free_port()}"],
        cwd=PROJECT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as a terminal gives a command
    )
    try:
        first = eventually(lambda: worker_pids(database), within=120)
        (pid,) = first
        os.kill(pid, signal.SIGKILL)  # the worker dies by itself
        (new,) = eventually(lambda: worker_pids(database) - first, within=30)
        assert gone(pid)
        os.killpg(make.pid, signal.SIGINT)  # Ctrl-C
        assert make.wait(30) is not None
        eventually(lambda: gone(new), within=30)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
        output.close()
    log = (tmp_path / "make.log").read_text()
    assert "The worker exited (status 137); starting it again in 2 s." in log, log

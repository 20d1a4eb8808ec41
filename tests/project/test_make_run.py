"""
`make run` as a developer runs it, on a database of its own: the worker beside the server is
started again when it dies, and stopped with the server on Ctrl-C.
"""

import os
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest

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


def make_run(tmp_path: Path, *args: str, env_file: str | None = None, **environ: str) -> dict:
    """
    What the server, the worker and the demo data of `make run` would be given as
    PORTAL_BASE_URL: the project's Makefile run in a copy of the project's top with a stand-in
    Python that records each call instead of running it.
    """
    top = tmp_path / "top"
    (top / "venv" / "bin").mkdir(parents=True)
    for name in ("Makefile", "pyproject.toml"):
        (top / name).write_bytes((PROJECT / name).read_bytes())
    if env_file is not None:
        (top / ".env").write_text(env_file)
    calls = top / "calls.log"
    python = top / "venv" / "bin" / "python"
    # The server waits for the worker to start beside it (it stops the worker when it ends).
    python.write_text(
        f'#!/bin/sh\necho "$2 ${{PORTAL_BASE_URL-unset}}" >> {calls}\n'
        f'[ "$2" = runserver ] && for i in $(seq 100); do grep -q db_worker {calls} && break; '
        "sleep 0.1; done\nexit 0\n"
    )
    python.chmod(0o755)
    (top / "venv" / ".installed").touch()
    clean = {k: v for k, v in os.environ.items() if k not in {"PORTAL_BASE_URL", "HOST", "PORT"}}
    subprocess.run(
        ["make", "--no-print-directory", "run", "VENV=venv", *args],
        cwd=top,
        env={**clean, "MAKEFLAGS": "", **environ},
        check=True,
        capture_output=True,
        timeout=60,
    )
    lines = [line.split(" ", 1) for line in calls.read_text().splitlines()]
    return {call: url for call, url in lines if call}


def test_make_run_sends_links_in_emails_to_the_host_and_port_it_serves(tmp_path):
    given = make_run(tmp_path, "HOST=192.168.1.20", "PORT=8101")
    assert given == {
        command: "http://192.168.1.20:8101"
        for command in ("migrate", "seed_demo", "db_worker", "runserver")
    }


@pytest.mark.parametrize(
    ("args", "url"),
    [
        ((), "http://127.0.0.1:8000"),
        (("PORT=8101",), "http://127.0.0.1:8101"),
        (("HOST=0.0.0.0", "PORT=9000"), "http://127.0.0.1:9000"),
        (("HOST=::1", "PORT=8101"), "http://[::1]:8101"),
        (("HOST=localhost", "PORT=8101", "PORTAL_BASE_URL=https://x.test"), "https://x.test"),
    ],
)
def test_make_run_builds_the_link_base_from_host_and_port(tmp_path, args, url):
    assert make_run(tmp_path, *args)["db_worker"] == url


def test_make_run_leaves_a_base_url_the_environment_sets(tmp_path):
    given = make_run(tmp_path, "PORT=8101", PORTAL_BASE_URL="https://portal.example.org")
    assert set(given.values()) == {"https://portal.example.org"}


@pytest.mark.parametrize("line", ["PORTAL_BASE_URL=https://x.test", "export PORTAL_BASE_URL=x"])
def test_make_run_leaves_a_base_url_set_in_dot_env_to_the_settings(tmp_path, line):
    given = make_run(tmp_path, "PORT=8101", env_file=f"DEBUG=true\n{line}\n")
    assert set(given.values()) == {"unset"}  # settings read it from .env

"""
How long a statement may run on PostgreSQL, chosen by the kind of process: a web process (gunicorn
through wsgi.py, runserver) the short DATABASE_STATEMENT_TIMEOUT, a manage.py command the longer
DATABASE_COMMAND_STATEMENT_TIMEOUT. Each is looked at in a new process of its own, as deployed;
on PostgreSQL, in force on a real connection too.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from portal.project import process

POSTGRES = connection.vendor == "postgresql"
PROJECT_DIR = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def database_url() -> str:
    """The test database as a URL on PostgreSQL; on SQLite one that is never opened."""
    if not POSTGRES:
        return "postgres://portal@127.0.0.1:1/portal"
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


# Prints the libpq options and connect timeout the settings ask for and, on PostgreSQL, the
# statement timeout in force (on SQLite the URL names no server: only the settings are read).
REPORT = (
    "from django.conf import settings\n"
    "options = settings.DATABASES['default']['OPTIONS']\n"
    "print(options['options'], options['connect_timeout'])\n"
)
if POSTGRES:
    REPORT += (
        "from django.db import connection\n"
        "with connection.cursor() as cursor:\n"
        "    cursor.execute('SHOW statement_timeout')\n"
        "    print(cursor.fetchone()[0])\n"
    )


def run(*argv: str, **env: str) -> subprocess.CompletedProcess:
    """`python *argv` in a new process, the timeouts set to 7 and 70 s, connecting to 4."""
    env = {
        "DEBUG": "true",
        "DATABASE_URL": database_url(),
        "DATABASE_STATEMENT_TIMEOUT": "7",
        "DATABASE_COMMAND_STATEMENT_TIMEOUT": "70",
        "DATABASE_CONNECT_TIMEOUT": "4",
    } | env
    return subprocess.run(
        [sys.executable, *argv],
        cwd=PROJECT_DIR,
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def report_of(*argv: str, **env: str) -> list[str]:
    result = run(*argv, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


AS_COMMAND = ["manage.py", "shell", "--no-imports", "-c", REPORT]
AS_WEB = ["-c", "import portal.project.wsgi\n" + REPORT]
# What manage.py does for `db_worker`, then the report (the worker itself never returns).
AS_WORKER = [
    "-c",
    "import os, sys, django\n"
    "os.environ['DJANGO_SETTINGS_MODULE'] = 'portal.project.settings'\n"
    "from portal.project import process\n"
    "process.mark(process.kind_of(['manage.py', 'db_worker']))\n"
    "django.setup()\n" + REPORT,
]


@pytest.mark.parametrize(
    "argv, seconds",
    [(AS_COMMAND, 70), (AS_WEB, 7), (AS_WORKER, 10)],
    ids=["a manage.py command", "a process serving WSGI", "the worker: half TASK_DEADLINE"],
)
def test_each_kind_of_process_gets_its_own_statement_timeout(argv, seconds):
    printed = report_of(*argv, TASK_DEADLINE="20")
    assert printed[:3] == ["-c", f"statement_timeout={seconds}s", "4"]
    if POSTGRES:
        assert printed[3:] == [f"{seconds}s"]


def test_options_the_database_url_carries_are_kept():
    printed = report_of(*AS_WEB, DATABASE_URL=database_url() + "?options=-c%20work_mem%3D8MB")
    assert printed[:5] == ["-c", "work_mem=8MB", "-c", "statement_timeout=7s", "4"]


@pytest.mark.parametrize(
    "name, value, message",
    [
        (
            "DATABASE_STATEMENT_TIMEOUT",
            "-1",
            "DATABASE_STATEMENT_TIMEOUT must be 0 seconds or more",
        ),
        ("DATABASE_CONNECT_TIMEOUT", "1", "DATABASE_CONNECT_TIMEOUT must be 2 seconds or more"),
    ],
)
def test_a_timeout_out_of_range_is_refused_at_start(name, value, message):
    result = run("manage.py", "check", **{name: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_a_manage_py_server_answers_web_requests_and_keeps_their_timeout():
    assert process.serves_requests(["manage.py", "runserver", "0:8000"])
    assert not process.serves_requests(["manage.py", "db_worker"])
    assert not process.serves_requests(["manage.py", "migrate"])
    assert not process.serves_requests(["manage.py"])
    assert process.kind_of(["manage.py", "db_worker"]) == "worker"
    assert process.kind_of(["manage.py", "migrate"]) == "command"
    assert process.kind_of(["manage.py", "runserver"]) == "web"


def test_a_mark_made_after_the_settings_were_read_is_refused():
    with pytest.raises(RuntimeError, match="before the settings are read"):
        process.mark_command()
    assert not process.is_command()

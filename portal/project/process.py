"""
What kind of process this is, which decides how long one statement may run on the database.

A web request must give up quickly, answer 503 and free its worker; a command (a migration, a
crontab job) may wait longer; the background worker waits at most half a task's deadline, so
that a statement stuck behind a lock fails as a database error, which the worker retries later,
instead of keeping the task past its deadline, which ends the worker. manage.py marks its
process as a command or the worker before the settings are read, and the settings choose the
statement timeout from the mark.
Anything unmarked (gunicorn through wsgi.py, the tests, a script) is a web process, so an entry
point that forgets the mark gets the short timeout and fails loudly instead of hanging.

A mark in the process, not an environment variable: a variable would be inherited by every
process a command starts, a web server included, and could be left in a `.env` file.
"""

from collections.abc import Sequence

# manage.py subcommands that answer web requests themselves: they keep the web timeout.
SERVERS = frozenset({"runserver", "testserver"})
WORKERS = frozenset({"db_worker"})

_kind = "web"


def serves_requests(argv: Sequence[str]) -> bool:
    """Whether `manage.py <argv[1]>` is a web server rather than a command."""
    return len(argv) > 1 and argv[1] in SERVERS


def kind_of(argv: Sequence[str]) -> str:
    """ "web", "worker" or "command": what `manage.py <argv[1]>` is."""
    if serves_requests(argv):
        return "web"
    return "worker" if len(argv) > 1 and argv[1] in WORKERS else "command"


def mark(kind: str) -> None:
    """Mark this process. Only before the settings are read: they read the mark."""
    from django.conf import settings

    if settings.configured:
        raise RuntimeError("Mark the process before the settings are read; now it changes nothing.")
    global _kind
    _kind = kind


def mark_command() -> None:
    mark("command")


def is_command() -> bool:
    """A command or the worker: anything but a web process."""
    return _kind != "web"


def is_worker() -> bool:
    return _kind == "worker"

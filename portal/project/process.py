"""
What kind of process this is, which decides how long one statement may run on the database.

A web request must give up quickly, answer 503 and free its worker; a command (a migration, a
crontab job, the background worker) may wait longer. manage.py marks its process as a command
before the settings are read, and the settings choose the statement timeout from the mark.
Anything unmarked (gunicorn through wsgi.py, the tests, a script) is a web process, so an entry
point that forgets the mark gets the short timeout and fails loudly instead of hanging.

A mark in the process, not an environment variable: a variable would be inherited by every
process a command starts, a web server included, and could be left in a `.env` file.
"""

from collections.abc import Sequence

# manage.py subcommands that answer web requests themselves: they keep the web timeout.
SERVERS = frozenset({"runserver", "testserver"})

_command = False


def serves_requests(argv: Sequence[str]) -> bool:
    """Whether `manage.py <argv[1]>` is a web server rather than a command."""
    return len(argv) > 1 and argv[1] in SERVERS


def mark_command() -> None:
    """Mark this process as a command. Only before the settings are read: they read the mark."""
    from django.conf import settings

    if settings.configured:
        raise RuntimeError("Mark the process before the settings are read; now it changes nothing.")
    global _command
    _command = True


def is_command() -> bool:
    return _command

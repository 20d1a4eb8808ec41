"""
Ways for the test database to fail, for real, for the request the test client makes next (it
handles requests in the test's thread, on the test's connection): a lock another connection
holds, short waits, a closed port, a server that accepts and never answers, a missing file.
"""

import copy
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

from tests.smtp import SilentServer, free_port

POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
# How long a statement may wait in these tests, and what a loaded machine may add to it.
WAIT = 0.5
MARGIN = 1.5
# The ways a database can be out of reach: a server's, or SQLite's file.
UNREACHABLE = ["refused", "silent"] if POSTGRES else ["missing-file"]


@contextmanager
def reconnected_with(**changes) -> Iterator[None]:
    """
    This thread's connection, opened again with these settings (OPTIONS merged), then as it
    was. The test client handles requests in this thread, on this connection.
    """
    saved = copy.deepcopy(connection.settings_dict)
    connection.close()
    options = {**saved["OPTIONS"], **changes.pop("OPTIONS", {})}
    connection.settings_dict.update(changes, OPTIONS=options)
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def short_waits() -> AbstractContextManager[None]:
    """A statement gives up after WAIT: PostgreSQL's statement timeout, SQLite's busy timeout."""
    if POSTGRES:
        return reconnected_with(OPTIONS={"options": f"-c statement_timeout={int(WAIT * 1000)}"})
    return reconnected_with(OPTIONS={"timeout": WAIT})


@contextmanager
def another_connection(*statements: str) -> Iterator[BaseDatabaseWrapper]:
    """A second connection that runs `statements` in a transaction it holds open until the end."""
    other = connection.copy()
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN" if POSTGRES else "BEGIN IMMEDIATE")
            for sql in statements:
                cursor.execute(sql)
        yield other
    finally:
        with other.cursor() as cursor:
            cursor.execute("ROLLBACK")
        other.close()


def writes_locked(table: str) -> AbstractContextManager[BaseDatabaseWrapper]:
    """
    Another connection keeps this request from writing `table` (and, on SQLite, any table:
    it has one write lock for the whole file), while reads go on.
    """
    if POSTGRES:
        return another_connection(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
    return another_connection()


@contextmanager
def unreachable(how: str) -> Iterator[float]:
    """The database made unreachable `how`; yields how long a request may take to find out."""
    if how == "refused":
        with reconnected_with(HOST="127.0.0.1", PORT=str(free_port())):
            yield MARGIN
    elif how == "silent":
        server = SilentServer()
        try:
            with reconnected_with(HOST="127.0.0.1", PORT=str(server.port)):
                yield settings.DATABASE_CONNECT_TIMEOUT + MARGIN
        finally:
            server.close()
    else:  # SQLite: the file's folder is gone
        missing = Path(settings.BASE_DIR) / "no-such-folder" / "portal.sqlite3"
        with reconnected_with(NAME=str(missing)):
            yield MARGIN

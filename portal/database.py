"""
Which database errors mean "the database cannot answer right now": it is away (refused, never
answered, the connection was lost), or a statement waited past its timeout, or the server is
out of room. Those are answered with a 503 and Retry-After (portal.views.server_error); every
other error, a mistake in a statement included, stays a 500, so a bug is never passed off as an
outage.
"""

import sqlite3

import psycopg
from django.db import InterfaceError, OperationalError, connections

# PostgreSQL's SQLSTATE classes for a server that cannot serve the statement now: 08 connection
# exceptions (PgBouncer's refusals too), 53 insufficient resources (disk full, out of memory,
# too many connections), 57 operator intervention (57014: cancelled, by statement_timeout among
# others; the server shutting down or still starting), 58 system errors (I/O).
UNAVAILABLE_CLASSES = frozenset({"08", "53", "57", "58"})
# lock_not_available: a lock_timeout ran out while another transaction held the lock.
UNAVAILABLE_STATES = frozenset({"55P03"})
# Deadlocks and serialization failures (class 40) are left out: where the code expects them (two
# bookings checking one exclusion constraint) it turns them into a lost race itself, and
# anywhere else one is a bug to see as a 500, not an outage.

# SQLite's primary result codes for the same: another connection kept the write lock past the
# busy timeout, the disk is full or failing, the file cannot be opened, memory ran out.
SQLITE_UNAVAILABLE = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_NOMEM,
    }
)


def unavailable(error: BaseException) -> bool:
    """Whether `error` (as Django raises it) says the database could not answer now."""
    if isinstance(error, InterfaceError):
        return True  # the connection is closed or unusable
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__
    if isinstance(cause, sqlite3.Error):
        # The extended code's low byte is the primary code (SQLITE_BUSY_SNAPSHOT is a BUSY).
        return (getattr(cause, "sqlite_errorcode", -1) & 0xFF) in SQLITE_UNAVAILABLE
    if isinstance(cause, psycopg.Error):
        if cause.sqlstate is None:
            return True  # psycopg's own: no server answered (refused, timed out, lost)
        return cause.sqlstate[:2] in UNAVAILABLE_CLASSES or cause.sqlstate in UNAVAILABLE_STATES
    return False  # no driver's error beneath: nothing says the database is away


def unavailable_beneath(error: BaseException) -> bool:
    """
    Whether `error` was raised while handling a database that could not answer, however many
    errors deep (Django turns a session it could not save into SessionInterrupted that way).
    """
    beneath = error.__cause__ or error.__context__
    while beneath is not None:
        if unavailable(beneath):
            return True
        beneath = beneath.__cause__ or beneath.__context__
    return False


def close_connections() -> None:
    """
    Close every connection this thread opened, so the next request starts on a fresh one
    instead of one left in an unknown state (a statement cancelled, a socket half dead).
    """
    for connection in connections.all(initialized_only=True):
        connection.close()

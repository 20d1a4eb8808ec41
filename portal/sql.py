"""
Statements of the shared kernel that the ORM cannot write, and the cursor every hand-written
statement runs on.

The transaction lock below mirrors no ORM read, so it has no twin to be tested against; its
test is the race it exists for (tests/portal/test_throttle_races.py).
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from django.db import NotSupportedError, connections
from django.db.backends.utils import CursorWrapper
from django.db.transaction import TransactionManagementError


@contextmanager
def statement_cursor(using: str = "default") -> Iterator[CursorWrapper]:
    """
    The cursor for the apps' hand-written statements. On PostgreSQL it binds values on the
    server, so that each statement is planned once per connection and then only executed
    (`DATABASE_PREPARED_STATEMENTS`, on unless a pooler forbids it; see the README); the ORM's
    cursors keep binding on the client. Queries run on it are counted and logged like any.

    What it buys: PostgreSQL spent longer planning the pages' joined statements than running
    them (the overview's lists 0.72 ms against 0.33 ms, the client's waitlist 0.64 against
    0.12, at 1,000,000 appointments).
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = cast(Any, ServerBindingCursor)(connection.connection)
    cursor = (
        connection.make_debug_cursor(raw)
        if connection.queries_logged
        else connection.make_cursor(raw)
    )
    with cursor:
        yield cursor


def lock_names_for_transaction(names: Iterable[str], *, using: str = "default") -> None:
    """
    Hold a lock on each name until the current transaction ends; a transaction that asks for
    one of them meanwhile waits. Names are locked in sorted order, so two transactions that
    share several never wait on each other in a circle.

    What it buys: a lock on something that may have no row yet (SELECT ... FOR UPDATE needs
    one), such as an email and address's first failed sign-in. Two names with one 64-bit hash
    only wait on each other now and then; nothing else changes.
    """
    connection = connections[using]
    if not connection.in_atomic_block:
        # Outside a transaction the lock would end with the statement that takes it.
        raise TransactionManagementError("Transaction locks need a transaction.")
    if connection.vendor == "sqlite":
        # Nothing to add: transactions begin IMMEDIATE (settings.py), holding SQLite's single
        # write lock, so no other transaction writes until this one ends.
        return
    if connection.vendor != "postgresql":
        raise NotSupportedError(f"No transaction locks on {connection.vendor}.")
    with connection.cursor() as cursor:
        for name in sorted(set(names)):
            # Ended by commit or rollback: safe behind PgBouncer's transaction pooling.
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [name])

"""
Statements of the shared kernel that the ORM cannot write.

The transaction lock below mirrors no ORM read, so it has no twin to be tested against; its
test is the race it exists for (tests/portal/test_throttle_races.py).
"""

from collections.abc import Iterable

from django.db import NotSupportedError, connections
from django.db.transaction import TransactionManagementError


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

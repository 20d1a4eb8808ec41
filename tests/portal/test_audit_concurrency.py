"""
Writers at once keep one chain: each insert locks the head row, so the next one waits and
then chains to what the other committed. Threads with their own connections, for real.
"""

from contextlib import contextmanager

import pytest
from django.db import DatabaseError, connection

from portal.audit.models import AuditEntry
from portal.audit.recorder import Entry, record_entries
from portal.audit.verify import verify
from tests.audit import triggers
from tests.concurrency import race

pytestmark = pytest.mark.django_db(transaction=True)
WRITERS = 8
FLUSHES = 3
PER_FLUSH = 2

CHAIN_FUNCTION = triggers.POSTGRESQL[1]
LOCKED_READ = "FROM audit_head WHERE id = 1 FOR UPDATE;\n        IF NOT FOUND"
assert LOCKED_READ in CHAIN_FUNCTION


@contextmanager
def chain_function(sql: str):
    """The PostgreSQL chain trigger's function replaced by `sql` for the block."""
    with connection.cursor() as cursor:
        cursor.execute(sql.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"), None)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                CHAIN_FUNCTION.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"), None
            )


def slowed(sql: str, *, locked: bool) -> str:
    """The function waiting between reading the head and writing the entry: races meet there."""
    sql = sql.replace(
        "        NEW.seq := head_seq + 1;",
        "        PERFORM pg_sleep(0.05);\n        NEW.seq := head_seq + 1;",
    )
    return sql if locked else sql.replace(LOCKED_READ, LOCKED_READ.replace(" FOR UPDATE", ""))


def writes(i: int) -> int:
    for _ in range(FLUSHES):
        record_entries(
            [Entry(action="viewed", actor_id=i, actor_role="provider", client_id=i)] * PER_FLUSH
        )
    return i


def assert_one_linear_chain() -> None:
    seqs = list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, WRITERS * FLUSHES * PER_FLUSH + 1))
    report = verify()
    assert report.clean, report.problems


def test_concurrent_writers_keep_one_linear_chain():
    outcomes = race(writes, WRITERS, refusals=())

    assert outcomes == [("ok", i) for i in range(WRITERS)]
    assert_one_linear_chain()


def test_concurrent_writers_keep_one_chain_even_when_each_insert_is_slow():
    if connection.vendor == "postgresql":
        with chain_function(slowed(CHAIN_FUNCTION, locked=True)):
            outcomes = race(writes, WRITERS, refusals=())
    else:
        # SQLite lets one writer in at a time; the race is the same without a slower trigger.
        outcomes = race(writes, WRITERS, refusals=())

    assert outcomes == [("ok", i) for i in range(WRITERS)]
    assert_one_linear_chain()


def test_control_without_the_head_lock_the_race_is_seen():
    """The harness can fail: with the lock left out, writers read the same head at once."""
    if connection.vendor == "postgresql":
        with chain_function(slowed(CHAIN_FUNCTION, locked=False)):
            outcomes = race(writes, WRITERS, refusals=(DatabaseError,))
        # Writers chained to a head another had already moved on: the head's trigger (it only
        # advances by one) or the unique seq refused them, instead of a fork getting in.
        assert ("conflict", None) in outcomes, outcomes
        assert all(outcome in {"ok", "conflict"} for outcome, _ in outcomes), outcomes
        assert verify().clean  # what did get in is still one chain
    else:
        # There is no head lock to leave out: SQLite's single writer serialises the inserts.
        outcomes = race(writes, WRITERS, refusals=())
        assert outcomes == [("ok", i) for i in range(WRITERS)]
        assert_one_linear_chain()

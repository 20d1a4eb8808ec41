"""
Tampering with the access log as someone able to bypass its triggers would: the triggers off
(PostgreSQL: disabled; SQLite: dropped and recreated), then SQL straight at the tables.
"""

import importlib
from contextlib import contextmanager

from django.db import connection

from portal.audit.chain import GENESIS, link

triggers = importlib.import_module("portal.migrations.0007_audit_triggers")
TABLES = ("audit_entry", "audit_head", "audit_checkpoint")


@contextmanager
def triggers_off(using=connection):
    with using.cursor() as cursor:
        if using.vendor == "postgresql":
            for table in TABLES:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        else:
            for name in triggers.SQLITE_REFUSALS:
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
    try:
        yield
    finally:
        with using.cursor() as cursor:
            if using.vendor == "postgresql":
                for table in TABLES:
                    cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
            else:
                for statement in triggers.SQLITE_REFUSALS.values():
                    cursor.execute(statement)


def tamper(sql: str, params=()) -> None:
    with triggers_off(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def rehash(after: int) -> None:
    """
    Renumber the entries after seq `after` to follow it without gaps, recompute each hash from
    the one before, and move the head to the end: what a forger without the key can still do.
    """
    with triggers_off(), connection.cursor() as cursor:
        if after:
            cursor.execute("SELECT hash FROM audit_entry WHERE seq = %s", [after])
            running = bytes(cursor.fetchone()[0])
        else:
            running = GENESIS
        cursor.execute("SELECT id, body, mac FROM audit_entry WHERE seq > %s ORDER BY seq", [after])
        seq = after
        for pk, body, mac in cursor.fetchall():
            seq += 1
            new = link(running, seq, body, bytes(mac))
            cursor.execute(
                "UPDATE audit_entry SET seq = %s, prev_hash = %s, hash = %s WHERE id = %s",
                [seq, running, new, pk],
            )
            running = new
        cursor.execute("UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1", [seq, running])

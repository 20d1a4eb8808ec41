"""What was written to the access log stays: the database refuses to change or remove it."""

import pytest
from django.db import DatabaseError, connection, transaction

from portal.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from portal.audit.recorder import Entry, record_entries
from portal.audit.verify import verify, write_checkpoint

pytestmark = pytest.mark.django_db
REFUSED = "append-only"


@pytest.fixture
def entries():
    record_entries(
        [Entry(action="viewed", actor_id=7, actor_role="provider", client_id=n) for n in (1, 2, 3)]
    )
    return list(AuditEntry.objects.order_by("seq"))


def refused(statement, *params):
    """The statement fails with the triggers' message, and is rolled back."""
    with pytest.raises(DatabaseError, match=REFUSED), transaction.atomic():
        if callable(statement):
            statement()
        else:
            with connection.cursor() as cursor:
                cursor.execute(statement, params)


def unchanged(entries) -> None:
    assert list(AuditEntry.objects.order_by("seq").values_list("seq", "body", "client_id")) == [
        (e.seq, e.body, e.client_id) for e in entries
    ]
    assert verify().clean


def test_an_update_through_the_orm_is_refused(entries):
    refused(lambda: AuditEntry.objects.filter(seq=2).update(client_id=99))
    entry = entries[1]
    entry.address = "198.51.100.1"
    refused(entry.save)
    unchanged(entries)


def test_a_delete_through_the_orm_is_refused(entries):
    refused(lambda: AuditEntry.objects.filter(seq=3).delete())
    refused(entries[0].delete)
    unchanged(entries)


def test_an_update_in_sql_is_refused(entries):
    refused("UPDATE audit_entry SET body = %s WHERE seq = %s", '{"a":"viewed"}', 2)
    refused("UPDATE audit_entry SET hash = prev_hash")
    unchanged(entries)


def test_a_delete_in_sql_is_refused(entries):
    refused("DELETE FROM audit_entry WHERE seq = %s", 3)
    refused("DELETE FROM audit_entry")
    unchanged(entries)


def test_the_head_cannot_be_moved_back_or_removed(entries):
    refused("UPDATE audit_head SET seq = 1")
    refused("UPDATE audit_head SET hash = %s", bytes(32))
    refused("UPDATE audit_head SET prune_floor = 4")  # past the head
    refused("DELETE FROM audit_head")
    unchanged(entries)


def test_checkpoints_cannot_be_changed_or_removed(entries):
    checkpoint = write_checkpoint(3, bytes(entries[2].hash))
    refused("UPDATE audit_checkpoint SET seq = 2")
    refused(lambda: AuditCheckpoint.objects.filter(pk=checkpoint.pk).delete())
    assert AuditCheckpoint.objects.get().seq == 3


def test_entries_at_or_below_the_prune_floor_may_be_deleted_and_no_others(entries):
    AuditHead.objects.filter(id=1).update(prune_floor=2)

    AuditEntry.objects.filter(seq__lte=2).delete()
    refused(lambda: AuditEntry.objects.filter(seq=3).delete())
    assert list(AuditEntry.objects.values_list("seq", flat=True)) == [3]


def test_truncate_is_refused_where_the_database_has_it(entries):
    if connection.vendor == "postgresql":
        for table in ("audit_entry", "audit_head", "audit_checkpoint"):
            refused(f"TRUNCATE {table}")
    else:
        # SQLite has no TRUNCATE: an unfiltered DELETE is its form, refused row by row.
        refused("DELETE FROM audit_entry")
    unchanged(entries)

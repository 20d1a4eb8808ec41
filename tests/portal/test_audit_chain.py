"""The access log is numbered and chained by the database, in the one INSERT that writes it."""

import json
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from portal.audit.chain import GENESIS, canonical, entry_mac, link
from portal.audit.models import AuditEntry, AuditHead
from portal.audit.recorder import Entry, record_entries
from portal.audit.verify import verify

pytestmark = pytest.mark.django_db


def viewed(client_id=None, **fields) -> Entry:
    return Entry(action="viewed", actor_id=7, actor_role="provider", client_id=client_id, **fields)


def test_entries_written_in_two_flushes_make_one_contiguous_chain():
    record_entries([viewed(1), viewed(2), viewed(3)])
    record_entries([viewed(4), viewed(5)])

    entries = list(AuditEntry.objects.order_by("seq"))
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert [e.client_id for e in entries] == [1, 2, 3, 4, 5]  # in the order they were given
    running = GENESIS
    for entry in entries:
        assert bytes(entry.prev_hash) == running
        assert bytes(entry.hash) == link(running, entry.seq, entry.body, bytes(entry.mac))
        running = bytes(entry.hash)
    head = AuditHead.objects.get()
    assert (head.seq, bytes(head.hash)) == (5, running)
    assert verify().clean


def test_writing_fifty_entries_is_one_statement():
    with CaptureQueriesContext(connection) as queries:
        record_entries([viewed(n) for n in range(50)])

    assert len(queries.captured_queries) == 1
    assert queries.captured_queries[0]["sql"].startswith('INSERT INTO "audit_entry"')
    assert AuditEntry.objects.count() == 50


def test_writing_nothing_costs_no_query():
    with CaptureQueriesContext(connection) as queries:
        assert record_entries([]) == []
    assert queries.captured_queries == []


def test_the_database_and_python_agree_on_a_fixed_link():
    # A golden vector: the trigger (PL/pgSQL or the SQLite function) and chain.link must both
    # give this hash for the first entry of this body and MAC.
    body = '{"a":"viewed","d":"caf\\u00e9"}'
    mac = bytes(range(32))
    expected = "e4c81bf8447dd021acde6273a990558180a0f15331fda79e869c35159a9bbd10"
    AuditEntry.objects.create(
        at=datetime(2026, 3, 2, tzinfo=UTC),
        actor_role="system",
        action="viewed",
        body=body,
        mac=mac,
    )

    entry = AuditEntry.objects.get()
    assert link(GENESIS, 1, body, mac).hex() == expected
    assert bytes(entry.hash).hex() == expected


def test_the_body_is_canonical_ascii_json_with_its_mac():
    at = datetime(2026, 3, 2, 10, 14, 3, 123456, tzinfo=UTC)
    [entry] = record_entries(
        [
            viewed(
                45,
                practice_id=3,
                address="203.0.113.7",
                records=["chat.message:9", "appointments.appointment:812"],
                detail="Zoë",
                origin="admin",
                at=at,
            )
        ]
    )

    entry = AuditEntry.objects.get(pk=entry.pk)
    body = json.loads(entry.body)
    assert entry.body == canonical(body)
    assert entry.body.isascii()
    assert body["at"] == "2026-03-02T10:14:03.123456Z"
    assert body["r"] == ["appointments.appointment:812", "chat.message:9"]
    assert (body["a"], body["by"], body["c"], body["p"], body["ip"]) == (
        "viewed",
        7,
        45,
        3,
        "203.0.113.7",
    )
    assert bytes(entry.mac) == entry_mac(settings.AUDIT_SIGNING_KEYS[0], entry.body)


def test_an_unknown_action_or_role_is_refused_before_anything_is_written():
    with pytest.raises(ValueError, match="Unknown access-log action"):
        Entry(action="peeked", actor_id=1, actor_role="provider")
    with pytest.raises(ValueError, match="Unknown access-log role"):
        Entry(action="viewed", actor_id=1, actor_role="janitor")
    assert not AuditEntry.objects.exists()


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="aware"):
        record_entries([viewed(1, at=datetime(2026, 3, 2, 10, 0))])
    assert not AuditEntry.objects.exists()


def test_a_seq_or_hash_supplied_by_the_caller_is_not_taken():
    forged = AuditEntry(
        at=datetime(2026, 3, 2, tzinfo=UTC),
        actor_role="system",
        action="viewed",
        body="{}",
        mac=bytes(32),
        seq=99,
        hash=bytes(32),
    )
    if connection.vendor == "postgresql":
        forged.save()  # the trigger numbers and hashes it all the same
        forged = AuditEntry.objects.get()
        assert forged.seq == 1
        assert bytes(forged.hash) == link(GENESIS, 1, "{}", bytes(32))
    else:
        with pytest.raises(IntegrityError, match="set by the database"), transaction.atomic():
            forged.save()
        assert not AuditEntry.objects.exists()

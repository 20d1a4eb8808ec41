"""
`audit_verify` finds what someone able to bypass the triggers did to the access log, and says
at which entry. Each case tampers with the triggers off (tests/audit.py).
"""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from portal.audit.chain import checkpoint_signature, key_id
from portal.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from portal.audit.recorder import Entry, record_entries
from portal.audit.verify import write_checkpoint
from tests.audit import rehash, tamper

pytestmark = pytest.mark.django_db
OTHER_KEY = "another-key-nobody-configured-0123456789abcdef"


def write(n: int) -> None:
    record_entries(
        [Entry(action="viewed", actor_id=7, actor_role="provider", client_id=c) for c in range(n)]
    )


def checkpoint_at(seq: int) -> AuditCheckpoint:
    return write_checkpoint(seq, bytes(AuditEntry.objects.get(seq=seq).hash))


def run(*args) -> tuple[str, str]:
    """audit_verify's output and errors; it must fail."""
    out, err = _buffers()
    with pytest.raises(CommandError, match="problems found"):
        call_command("audit_verify", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def passes(*args) -> str:
    out, err = _buffers()
    call_command("audit_verify", *args, stdout=out, stderr=err)
    assert err.getvalue() == ""
    return out.getvalue()


def _buffers():
    from io import StringIO

    return StringIO(), StringIO()


def test_an_untouched_log_passes():
    write(5)
    assert "5 entries checked" in passes()
    assert "intact" in passes()


def test_an_empty_log_passes():
    assert "0 entries checked" in passes()


def test_an_altered_body_is_found_at_its_seq():
    write(5)
    tamper("UPDATE audit_entry SET body = REPLACE(body, '\"c\":2', '\"c\":9') WHERE seq = 3")

    _, errors = run()
    assert "entry 3 (" in errors and "content changed" in errors
    assert "entry 4" not in errors  # one change, one problem


def test_a_changed_column_that_disagrees_with_the_body_is_found():
    write(3)
    tamper("UPDATE audit_entry SET client_id = 99 WHERE seq = 2")

    _, errors = run()
    assert "entry 2: client in its columns differs from its body" in errors


def test_a_removed_entry_is_found_at_its_seq():
    write(5)
    tamper("DELETE FROM audit_entry WHERE seq = 3")

    _, errors = run()
    assert "entry 3 missing" in errors


def test_a_removed_tail_is_found_by_the_head():
    write(6)
    tamper("DELETE FROM audit_entry WHERE seq > 4")

    _, errors = run()
    assert "entries 5–6 missing: the tail was cut off" in errors


def test_a_removed_tail_with_the_head_moved_back_is_found_by_a_checkpoint():
    write(6)
    checkpoint_at(6)
    tamper("DELETE FROM audit_entry WHERE seq > 4")
    rehash(after=4)  # only moves the head back to entry 4

    _, errors = run()
    assert "entries 5–6 missing: the tail was cut off" in errors
    assert "is at 6" in errors


def test_a_removed_entry_with_the_rest_rehashed_is_found_by_a_later_checkpoint():
    write(6)
    checkpoint_at(4)
    tamper("DELETE FROM audit_entry WHERE seq = 2")
    rehash(after=1)  # entries 3-6 become 2-5, chained as if 2 had never been

    _, errors = run()
    assert "at 4: entries up to it were rewritten" in errors
    _, errors = run("--full")  # passing the checkpoint on the way, rather than starting there
    assert "at 4: entries up to it were rewritten" in errors


def test_a_removed_entry_with_the_rest_rehashed_and_no_checkpoint_past_it_is_not_found():
    # The limit of a hash chain: without the key, a forger can still re-chain what is left.
    # Only a signed checkpoint after the removed entry shows it (the test above).
    write(6)
    checkpoint_at(1)
    tamper("DELETE FROM audit_entry WHERE seq = 2")
    rehash(after=1)

    assert "intact" in passes("--full")


def test_an_entry_changed_before_the_last_checkpoint_is_found_by_a_full_run():
    write(5)
    checkpoint_at(4)
    tamper("UPDATE audit_entry SET body = REPLACE(body, '\"c\":1', '\"c\":8') WHERE seq = 2")

    passes()  # the routine run starts at the checkpoint, whose hash still holds
    _, errors = run("--full")
    assert "entry 2 (" in errors and "content changed" in errors


def test_a_checkpoint_with_a_wrong_signature_is_refused_and_reported():
    write(4)
    good = checkpoint_at(2)
    # Inserting needs no bypass: the log takes new rows; it is the signature that must hold.
    forged = AuditCheckpoint.objects.create(
        seq=4,
        hash=bytes(32),
        kind="verified",
        made_at=good.made_at + timedelta(minutes=1),
        key_id=key_id(OTHER_KEY),
        signature=checkpoint_signature(OTHER_KEY, 4, bytes(32), good.made_at, "verified"),
    )

    _, errors = run()
    assert f"checkpoint {forged.pk} at 4: its signature does not hold" in errors
    # It was not taken as the starting point: entry 4's hash was not compared with its zeros.
    assert "rewritten" not in errors


def test_a_checkpoint_whose_signature_was_edited_is_refused():
    write(3)
    checkpoint = checkpoint_at(3)
    tamper("UPDATE audit_checkpoint SET signature = %s", ["0" * 64])

    _, errors = run()
    assert f"checkpoint {checkpoint.pk} at 3: its signature does not hold" in errors


def test_a_clean_run_with_checkpoint_signs_one_at_the_last_entry():
    write(3)

    output = passes("--checkpoint")

    assert "Checkpoint signed at 3" in output
    checkpoint = AuditCheckpoint.objects.get()
    assert (checkpoint.seq, bytes(checkpoint.hash)) == (
        3,
        bytes(AuditEntry.objects.get(seq=3).hash),
    )
    write(2)
    assert "2 entries checked after seq 3" in passes()


def test_a_failing_run_signs_no_checkpoint():
    write(3)
    tamper("DELETE FROM audit_entry WHERE seq = 2")

    run("--checkpoint")
    assert not AuditCheckpoint.objects.exists()


def test_entries_written_under_an_older_key_still_verify(settings):
    write(2)
    settings.AUDIT_SIGNING_KEYS = [
        "a-new-key-for-the-access-log-0123456789abcdef",
        *settings.AUDIT_SIGNING_KEYS,
    ]
    write(2)
    assert "4 entries checked" in passes()

    settings.AUDIT_SIGNING_KEYS = settings.AUDIT_SIGNING_KEYS[:1]  # the old key dropped
    _, errors = run()
    assert "entry 1 (" in errors and "entry 2 (" in errors and "entry 3" not in errors


def test_every_problem_is_reported_not_only_the_first():
    write(8)
    tamper("DELETE FROM audit_entry WHERE seq = 2")
    tamper("UPDATE audit_entry SET body = body || ' ' WHERE seq = 5")
    tamper("DELETE FROM audit_entry WHERE seq > 6")

    _, errors = run()
    assert "entry 2 missing" in errors
    assert "entry 5 (" in errors
    assert "entries 7–8 missing" in errors
    assert connection.vendor in {"postgresql", "sqlite"}


def test_an_entry_taken_out_of_the_chain_is_found():
    write(4)
    tamper("UPDATE audit_entry SET seq = NULL WHERE seq = 3")

    _, errors = run()
    assert "entry 3 missing" in errors
    assert "1 entries are outside the chain" in errors


def test_a_prune_floor_raised_without_a_signed_checkpoint_is_found():
    write(4)
    AuditHead.objects.filter(id=1).update(prune_floor=2)  # the triggers allow raising it
    AuditEntry.objects.filter(seq__lte=2).delete()

    _, errors = run()
    assert "the prune floor was raised to 2 without a signed checkpoint" in errors

"""
`audit_prune` deletes what is older than the retention and leaves a log that `audit_verify`
still checks from where it now starts: after a prune, after a prune that died halfway, and
with someone tampering afterwards.
"""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from portal.audit import prune as pruning
from portal.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from portal.audit.recorder import Entry, record_entries
from portal.audit.verify import verify
from tests.audit import rehash, tamper

pytestmark = pytest.mark.django_db


def write(*ages_in_days: float) -> None:
    now = timezone.now()
    record_entries(
        [
            Entry(
                action="viewed",
                actor_id=7,
                actor_role="provider",
                client_id=9,
                at=now - timedelta(days=age),
            )
            for age in ages_in_days
        ]
    )


def kept() -> list[int]:
    return list(AuditEntry.objects.order_by("seq").values_list("seq", flat=True))


def run_prune(*args) -> str:
    out = StringIO()
    call_command("audit_prune", *args, stdout=out)
    return out.getvalue()


def verifies(*args) -> None:
    call_command("audit_verify", *args, stdout=StringIO(), stderr=StringIO())


def test_it_deletes_what_is_older_than_the_retention_and_the_rest_verifies(settings):
    settings.AUDIT_RETENTION_DAYS = 30
    write(40, 35, 31, 29, 1, 0)
    assert "3 entries pruned" in run_prune()
    assert kept() == [4, 5, 6]
    verifies()
    verifies("--full")
    checkpoint = AuditCheckpoint.objects.get(kind="prune")
    assert checkpoint.seq == AuditHead.objects.get().prune_floor == 3


def test_it_never_removes_an_entry_inside_the_retention(settings):
    settings.AUDIT_RETENTION_DAYS = 30
    # Entry 3 is recent; entry 4 is old but written after it: the log is cut before 3.
    write(40, 35, 2, 50, 1)
    run_prune()
    assert kept() == [3, 4, 5]
    verifies("--full")


def test_new_entries_after_a_prune_still_chain(settings):
    settings.AUDIT_RETENTION_DAYS = 30
    write(40, 1)
    run_prune()
    write(0, 0)
    assert kept() == [2, 3, 4]
    verifies()
    verifies("--full")


def test_everything_old_can_go(settings):
    settings.AUDIT_RETENTION_DAYS = 30
    write(40, 35)
    run_prune()
    assert kept() == []
    verifies("--full")
    write(0)
    verifies("--full")


def test_running_it_twice_changes_nothing_more(settings):
    settings.AUDIT_RETENTION_DAYS = 30
    write(40, 35, 1)
    run_prune()
    assert "0 entries pruned" in run_prune()
    assert kept() == [3]
    assert AuditCheckpoint.objects.filter(kind="prune").count() == 1
    verifies("--full")


def test_tampering_with_a_kept_entry_after_a_prune_is_found(settings):
    settings.AUDIT_RETENTION_DAYS = 30
    write(40, 35, 1, 0)
    run_prune()
    tamper("UPDATE audit_entry SET body = replace(body, '\"by\":7', '\"by\":8') WHERE seq = 3")
    with pytest.raises(CommandError):
        verifies("--full")
    assert any("entry 3" in str(problem) for problem in verify(full=True).problems)


def test_re_chaining_the_kept_entries_after_a_prune_is_found(settings):
    settings.AUDIT_RETENTION_DAYS = 30
    write(40, 35, 1, 0, 0)
    run_prune()
    verifies("--checkpoint")  # the hourly checkpoint, at entry 5
    tamper("DELETE FROM audit_entry WHERE seq = 4")
    rehash(after=3)  # the forger rebuilds the chain from the first kept entry
    for full in (False, True):
        problems = [str(problem) for problem in verify(full=full).problems]
        assert any("rewritten" in problem or "cut off" in problem for problem in problems)


def test_it_refuses_to_prune_a_log_that_does_not_verify(settings):
    settings.AUDIT_RETENTION_DAYS = 30
    write(40, 35, 1)
    tamper("UPDATE audit_entry SET body = replace(body, '\"by\":7', '\"by\":8') WHERE seq = 1")
    with pytest.raises(CommandError, match="nothing was pruned"):
        run_prune()
    assert kept() == [1, 2, 3]
    assert AuditHead.objects.get().prune_floor == 0


def test_a_prune_that_dies_halfway_leaves_a_verifiable_log_and_finishes_next_time(
    settings, monkeypatch
):
    settings.AUDIT_RETENTION_DAYS = 30
    monkeypatch.setattr(pruning, "BATCH", 2)
    write(40, 39, 38, 37, 36, 1, 0)
    calls = []
    delete_batch = pruning._delete_batch

    def dies_on_the_second_batch(lowest, floor):
        calls.append(lowest)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return delete_batch(lowest, floor)

    monkeypatch.setattr(pruning, "_delete_batch", dies_on_the_second_batch)
    with pytest.raises(KeyboardInterrupt):
        run_prune()
    assert kept() == [3, 4, 5, 6, 7]  # the first batch went; the floor is at 5
    verifies()
    verifies("--full")

    monkeypatch.setattr(pruning, "_delete_batch", delete_batch)
    assert "3 entries pruned" in run_prune()
    assert kept() == [6, 7]
    verifies("--full")


def test_a_prune_that_dies_after_signing_leaves_a_verifiable_log(settings, monkeypatch):
    settings.AUDIT_RETENTION_DAYS = 30
    write(40, 39, 1)

    def dies(lowest, floor):
        raise KeyboardInterrupt

    monkeypatch.setattr(pruning, "_delete_batch", dies)
    with pytest.raises(KeyboardInterrupt):
        run_prune()
    assert kept() == [1, 2, 3]
    verifies("--full")
    monkeypatch.undo()
    run_prune()
    assert kept() == [3]
    verifies("--full")


def test_dry_run_counts_and_deletes_nothing(settings):
    settings.AUDIT_RETENTION_DAYS = 30
    write(40, 35, 1)
    assert "2 entries would be pruned" in run_prune("--dry-run")
    assert kept() == [1, 2, 3]
    assert not AuditCheckpoint.objects.exists()


def test_days_overrides_the_setting_and_is_checked(settings):
    settings.AUDIT_RETENTION_DAYS = 30
    write(40, 10, 1)
    run_prune("--days", "5")
    assert kept() == [3]
    with pytest.raises(CommandError, match="1 or more"):
        run_prune("--days", "0")


def test_an_empty_log_prunes_nothing():
    assert "0 entries pruned" in run_prune()

"""
Removing entries older than the retention (AUDIT_RETENTION_DAYS) without breaking what
`audit_verify` can prove about the rest.

The order is what keeps the log verifiable at every moment, so a prune may die anywhere and
simply be run again:

1. Find the new floor: the last entry before the first one still inside the retention (the
   log is cut at a seq, so an old entry written just after a recent one waits for the next
   run rather than leaving a hole).
2. Check the chain up to there, then, in one transaction, sign a PRUNE checkpoint at the floor
   (the hash the first kept entry must follow) and raise the head's prune floor to it. The
   triggers allow DELETE only at or below that floor, and the verifier starts from the
   checkpoint found there.
3. Delete at or below the floor in short batches, each its own transaction, so a 10M-row log
   is never one giant statement. Whatever is left by a run that died is deleted by the next;
   the verifier never reads below the floor.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from portal.audit.chain import signing_keys
from portal.audit.models import AuditCheckpoint, AuditEntry, AuditHead
from portal.audit.verify import Report, check_entry, verify, write_checkpoint

logger = logging.getLogger("portal.audit")
BATCH = 5000  # entries per DELETE (and per step when finding the floor)


class PruneRefused(Exception):
    """The log does not verify up to the new floor: pruning would destroy the evidence."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(f"{len(problems)} problems in the access log; nothing was pruned.")


@dataclass(frozen=True)
class Pruned:
    floor: int  # entries at or below this seq are gone (or about to be)
    deleted: int


def new_floor(older_than: datetime) -> int:
    """
    The highest seq such that it and every entry before it are older than `older_than`. Read
    in seq ranges from the current floor, through the unique index on seq: only the entries
    about to go are looked at, however long the log.
    """
    head = AuditHead.objects.filter(id=1).first()
    if head is None:
        return 0
    low = head.prune_floor
    while low < head.seq:
        kept = (
            AuditEntry.objects.filter(seq__gt=low, seq__lte=low + BATCH, at__gte=older_than)
            .order_by("seq")
            .values_list("seq", flat=True)
            .first()
        )
        if kept is not None:
            return kept - 1
        low += BATCH
    return head.seq


def prunable(older_than: datetime) -> int:
    """How many entries a prune would remove now (the dry run's answer)."""
    floor = new_floor(older_than)
    return AuditEntry.objects.filter(seq__lte=floor).count()


def _check_up_to(floor: int) -> None:
    """
    The log verifies (from its latest checkpoint), and the entry at the floor is intact and
    followed by the next: the hash about to be signed is the chain's, not a forger's.
    """
    report = verify()
    problems = [str(problem) for problem in report.problems]
    at_floor = AuditEntry.objects.filter(seq=floor).first()
    if at_floor is None:
        problems.append(f"entry {floor}, the new prune floor, is missing")
    else:
        alone = Report()
        check_entry(at_floor, signing_keys(), alone)
        problems += [str(problem) for problem in alone.problems]
        following = AuditEntry.objects.filter(seq=floor + 1).first()
        if following is not None and bytes(following.prev_hash or b"") != bytes(
            at_floor.hash or b""
        ):
            problems.append(f"entry {floor + 1} does not follow entry {floor}")
    if problems:
        raise PruneRefused(problems)


def _raise_floor(floor: int) -> None:
    hash_ = bytes(AuditEntry.objects.get(seq=floor).hash or b"")
    with transaction.atomic():
        # A run that died after this commit left its checkpoint; a second would say the same.
        if not AuditCheckpoint.objects.filter(kind=AuditCheckpoint.Kind.PRUNE, seq=floor).exists():
            made = write_checkpoint(floor, hash_, kind=AuditCheckpoint.Kind.PRUNE)
            # Logged, as audit_verify's are, so a copy lives outside the database.
            logger.info(
                "access log prune checkpoint: seq %s hash %s key %s signature %s",
                made.seq,
                bytes(made.hash).hex(),
                made.key_id,
                made.signature,
            )
        # Conditional, so two prunes at once cannot lower it; the trigger refuses a floor past
        # the head.
        AuditHead.objects.filter(id=1, prune_floor__lt=floor).update(prune_floor=floor)


def _delete_batch(lowest: int, floor: int) -> int:
    return AuditEntry.objects.filter(
        seq__gte=lowest, seq__lt=lowest + BATCH, seq__lte=floor
    ).delete()[0]


def prune(*, older_than: datetime) -> Pruned:
    """Remove entries older than `older_than`, leaving a log `audit_verify` passes."""
    floor = new_floor(older_than)
    head = AuditHead.objects.filter(id=1).first()
    if head is None:
        return Pruned(0, 0)
    if floor > head.prune_floor:
        _check_up_to(floor)
        _raise_floor(floor)
    floor = AuditHead.objects.get(id=1).prune_floor
    deleted = 0
    while (
        lowest := AuditEntry.objects.filter(seq__lte=floor)
        .order_by("seq")
        .values_list("seq", flat=True)
        .first()
    ) is not None:
        deleted += _delete_batch(lowest, floor)
    return Pruned(floor, deleted)

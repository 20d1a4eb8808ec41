"""
Checking the access log: every entry is where the chain says, unchanged, and nothing was cut
off. It starts from the latest checkpoint whose signature holds (or, with `full`, from the
prune floor), so a routine run reads only what was written since the last one.

What the chain alone cannot show: someone who can bypass the triggers may remove an entry and
recompute every hash after it (the SQL is public; the MAC key is not needed to re-hash). A
signed checkpoint past that point shows it, since its hash no longer matches; that is why a
clean run writes one (`--checkpoint`) and logs it off the database.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.utils import timezone
from django.utils.crypto import constant_time_compare

from portal.audit.chain import (
    GENESIS,
    checkpoint_signature,
    current_key,
    instant,
    link,
    mac_matches,
    signing_keys,
)
from portal.audit.models import AuditCheckpoint, AuditEntry, AuditHead

CHUNK = 10_000  # entries per statement: each read stays short under a statement timeout


@dataclass(frozen=True)
class Problem:
    seq: int
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class Report:
    start_seq: int = 0
    last_seq: int = 0
    last_hash: bytes = GENESIS
    checked: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.problems


def when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def signature_holds(checkpoint: AuditCheckpoint, keys: dict[str, str]) -> bool:
    key = keys.get(checkpoint.key_id)
    if key is None:
        return False
    expected = checkpoint_signature(
        key, checkpoint.seq, bytes(checkpoint.hash), checkpoint.made_at, checkpoint.kind
    )
    return constant_time_compare(expected, checkpoint.signature)


def entries_from(seq: int) -> Iterator[AuditEntry]:
    """Entries with seq >= `seq`, in seq order, a chunk per statement (keyset on the unique seq)."""
    after = seq - 1
    while True:
        chunk = list(AuditEntry.objects.filter(seq__gt=after).order_by("seq")[:CHUNK])
        yield from chunk
        if len(chunk) < CHUNK:
            return
        after = chained(chunk[-1])[0]


def columns_disagree(entry: AuditEntry, body: dict) -> list[str]:
    pairs = {
        "at": (instant(entry.at), body.get("at")),
        "action": (entry.action, body.get("a")),
        "actor": (entry.actor_id, body.get("by")),
        "actor_role": (entry.actor_role, body.get("role")),
        "client": (entry.client_id, body.get("c")),
        "practice_id": (entry.practice_id, body.get("p")),
        "address": (entry.address, body.get("ip")),
    }
    return [name for name, (column, written) in pairs.items() if column != written]


def chained(entry: AuditEntry) -> tuple[int, bytes, bytes]:
    """
    Its seq and hashes, which the INSERT's trigger always fills: an entry read here has them
    (those without a seq are counted apart), and an empty hash fails the comparisons.
    """
    return entry.seq or 0, bytes(entry.prev_hash or b""), bytes(entry.hash or b"")


def check_entry(entry: AuditEntry, keys: dict[str, str], report: Report) -> None:
    """Its content against its MAC, its hash against its content, its columns against its body."""
    seq, prev_hash, hash_ = chained(entry)
    try:
        body = json.loads(entry.body)
    except ValueError:
        body = None
    key = keys.get(str(body.get("k"))) if isinstance(body, dict) else None
    if not isinstance(body, dict) or not mac_matches(key, entry.body, bytes(entry.mac)):
        report.problems.append(Problem(seq, f"entry {seq} ({when(entry.at)}): content changed"))
        return
    if link(prev_hash, seq, entry.body, bytes(entry.mac)) != hash_:
        report.problems.append(Problem(seq, f"entry {seq}: its hash does not match its content"))
    if disagree := columns_disagree(entry, body):
        names = ", ".join(disagree)
        report.problems.append(
            Problem(seq, f"entry {seq}: {names} in its columns differs from its body")
        )


def verify(*, full: bool = False) -> Report:
    keys = signing_keys()
    report = Report()
    head = AuditHead.objects.filter(id=1).first()
    floor = head.prune_floor if head else 0

    valid: list[AuditCheckpoint] = []
    for checkpoint in AuditCheckpoint.objects.order_by("seq", "id"):
        if signature_holds(checkpoint, keys):
            valid.append(checkpoint)
        else:
            report.problems.append(
                Problem(
                    checkpoint.seq,
                    f"checkpoint {checkpoint.pk} at {checkpoint.seq}: its signature does not "
                    "hold under any signing key; it was not used",
                )
            )
    floor_checkpoint = next(
        (c for c in valid if c.kind == AuditCheckpoint.Kind.PRUNE and c.seq == floor), None
    )
    if floor and floor_checkpoint is None:
        report.problems.append(
            Problem(floor, f"the prune floor was raised to {floor} without a signed checkpoint")
        )
    # The newest checkpoint whose entry is still there (a cut tail is reported at the end);
    # at or below the floor, entries may have been pruned and the signed hash stands alone.
    options = [floor_checkpoint] if full else [*reversed([c for c in valid if c.seq >= floor])]
    start, at_start = None, None
    for option in options:
        if option is None or option.seq <= floor:
            start = option
            break
        at_start = AuditEntry.objects.filter(seq=option.seq).first()
        if at_start is not None:
            start = option
            break
    start_seq = start.seq if start else floor
    # Unknown only when the floor was raised without a checkpoint (reported above).
    running: bytes | None = bytes(start.hash) if start else (None if floor else GENESIS)
    report.start_seq = start_seq
    # Each checkpoint the run passes must still match the chain.
    passing = {c.seq: c for c in valid if c.seq > start_seq}
    if start is not None and at_start is not None:
        check_entry(at_start, keys, report)
        if chained(at_start)[2] != running:
            report.problems.append(rewritten(start))

    expected = start_seq + 1
    for entry in entries_from(start_seq + 1):
        seq, prev_hash, hash_ = chained(entry)
        if seq > expected:
            report.problems.append(Problem(expected, missing(expected, seq - 1)))
        elif running is not None and prev_hash != running:
            report.problems.append(Problem(seq, f"entry {seq} does not follow entry {seq - 1}"))
        check_entry(entry, keys, report)
        if (passed := passing.get(seq)) and bytes(passed.hash) != hash_:
            report.problems.append(rewritten(passed))
        running, expected = hash_, seq + 1
        report.checked += 1
    if unchained := AuditEntry.objects.filter(seq__isnull=True).count():
        report.problems.append(Problem(0, f"{unchained} entries are outside the chain (no seq)"))

    last_seq = expected - 1
    report.last_seq, report.last_hash = last_seq, running or GENESIS
    if head is None:
        if last_seq:
            report.problems.append(Problem(last_seq, "the log's head row is missing"))
    elif head.seq > last_seq:
        report.problems.append(
            Problem(last_seq + 1, f"{missing(last_seq + 1, head.seq)}: the tail was cut off")
        )
    elif head.seq < last_seq:
        report.problems.append(
            Problem(head.seq + 1, f"entries {head.seq + 1}–{last_seq} lie past the head")
        )
    elif last_seq and bytes(head.hash) != running:
        report.problems.append(
            Problem(last_seq, f"the head's hash differs from entry {last_seq}'s")
        )
    if valid and valid[-1].seq > last_seq and (head is None or head.seq <= last_seq):
        newest = valid[-1]
        report.problems.append(
            Problem(
                last_seq + 1,
                f"{missing(last_seq + 1, newest.seq)}: the tail was cut off (the checkpoint of "
                f"{when(newest.made_at)} is at {newest.seq})",
            )
        )
    return report


def missing(first: int, last: int) -> str:
    return f"entry {first} missing" if first == last else f"entries {first}–{last} missing"


def rewritten(checkpoint: AuditCheckpoint) -> Problem:
    return Problem(
        checkpoint.seq,
        f"checkpoint of {when(checkpoint.made_at)} at {checkpoint.seq}: entries up to it "
        "were rewritten",
    )


def write_checkpoint(
    seq: int, hash_: bytes, *, kind: str = AuditCheckpoint.Kind.VERIFIED
) -> AuditCheckpoint:
    """A signed statement that the chain up to `seq` ends in `hash_`."""
    key_id, key = current_key()
    made_at = timezone.now()
    return AuditCheckpoint.objects.create(
        seq=seq,
        hash=hash_,
        kind=kind,
        made_at=made_at,
        key_id=key_id,
        signature=checkpoint_signature(key, seq, hash_, made_at, kind),
    )

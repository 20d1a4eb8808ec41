"""
The one way into the access log. Callers describe what happened (`Entry`); `record_entries`
writes the bodies and their MACs and hands all of them to the database in one INSERT, which
numbers and chains them (migration 0006).

It decides nothing about who may act: it records what a service, view or command already
allowed, and is called by them, never by a request directly.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from portal.audit.chain import BODY_VERSION, canonical, current_key, entry_mac, instant
from portal.audit.models import Action, AuditEntry, Role


@dataclass(frozen=True, kw_only=True)
class Entry:
    """One thing done to (or shown of) one client's record, by one actor."""

    action: str
    actor_id: int | None
    actor_role: str
    client_id: int | None = None
    practice_id: int | None = None
    address: str = ""
    # Which records, as sorted "app.model:pk" strings.
    records: Sequence[str] = ()
    detail: str = ""  # what changed, the admin action's name, the email's kind
    origin: str = ""  # "admin", "command:<argv>", "task:<name>"
    session: str = ""  # a digest naming the session, never its key
    at: datetime | None = None  # now, unless given

    def __post_init__(self) -> None:
        if self.action not in Action.values:
            raise ValueError(f"Unknown access-log action {self.action!r}.")
        if self.actor_role not in Role.values:
            raise ValueError(f"Unknown access-log role {self.actor_role!r}.")


def body_of(entry: Entry, *, at: datetime, key_id: str) -> str:
    return canonical(
        {
            "v": BODY_VERSION,
            "k": key_id,
            "a": entry.action,
            "at": instant(at),
            "by": entry.actor_id,
            "role": entry.actor_role,
            "c": entry.client_id,
            "p": entry.practice_id,
            "ip": entry.address,
            "r": sorted(entry.records),
            "d": entry.detail,
            "o": entry.origin,
            "s": entry.session,
        }
    )


def record_entries(entries: Sequence[Entry]) -> list[AuditEntry]:
    """
    Write `entries` in this order, as one INSERT statement (none at all for no entries). The
    rows returned carry their pk; their seq and hashes are the database's, read back if needed.
    """
    if not entries:
        return []
    key_id, key = current_key()
    now = timezone.now()
    rows = []
    for entry in entries:
        at = entry.at or now
        body = body_of(entry, at=at, key_id=key_id)
        rows.append(
            AuditEntry(
                at=at,
                actor_id=entry.actor_id,
                actor_role=entry.actor_role,
                practice_id=entry.practice_id,
                client_id=entry.client_id,
                action=entry.action,
                address=entry.address,
                body=body,
                mac=entry_mac(key, body),
            )
        )
    # One statement whatever the number of entries: the trigger chains each row as inserted.
    return AuditEntry.objects.bulk_create(rows, batch_size=None)

"""
Reading the access log out: one client's entries, or one staff member's, in a window of time,
oldest first, a chunk per statement. Each chunk starts where the last one ended (the entry's
time and id), through the index on (client, at, id) or (actor, at, id), so the millionth row
costs what the first did and the whole result is never in memory.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Q

from portal.audit.models import AuditEntry

CHUNK = 2000

HEADER = [
    "seq",
    "at",
    "actor_email",
    "role",
    "practice",
    "client_email",
    "action",
    "records",
    "detail",
    "origin",
    "address",
]


@dataclass(frozen=True)
class Row:
    client_id: int | None
    cells: list[str]


def entries_of(
    *, client_id: int | None = None, actor_id: int | None = None, start: datetime, end: datetime
) -> Iterator[Row]:
    """Entries about `client_id` (or by `actor_id`) with start <= at < end, oldest first."""
    if (client_id is None) == (actor_id is None):
        raise ValueError("Export one client's entries or one staff member's, not both.")
    scope = Q(client_id=client_id) if client_id is not None else Q(actor_id=actor_id)
    base = AuditEntry.objects.filter(scope, at__lt=end).order_by("at", "id")
    columns = (
        "id",
        "seq",
        "at",
        "actor__email",
        "actor_role",
        "practice_id",
        "client_id",
        "client__email",
        "action",
        "body",
        "address",
    )
    after: tuple[datetime, int] | None = None
    while True:
        if after is None:
            chunk_query = base.filter(at__gte=start)
        else:
            at, pk = after
            # The plain lower bound on `at` is what lets the index start at the last row; the
            # OR alone would be a filter over every row from `start`.
            chunk_query = base.filter(at__gte=at).filter(Q(at__gt=at) | Q(at=at, id__gt=pk))
        chunk = list(chunk_query.values_list(*columns)[:CHUNK])
        for _pk, seq, when, actor, role, practice, client, email, action, body, address in chunk:
            written = json.loads(body)
            yield Row(
                client,
                [
                    str(seq),
                    when.astimezone(UTC).isoformat(),
                    actor or "",
                    role,
                    "" if practice is None else str(practice),
                    email or "",
                    action,
                    " ".join(written.get("r", [])),
                    written.get("d", ""),
                    written.get("o", ""),
                    address,
                ],
            )
        if len(chunk) < CHUNK:
            return
        after = (chunk[-1][2], chunk[-1][0])

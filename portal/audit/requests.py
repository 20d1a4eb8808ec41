"""
Access-log entries for what a signed-in person did in a request: who (their account and their
role in the practice whose record it is), from where (the address the throttles count), in
which session, and through which door ("admin" for the practice workspace).

A role is relative to a practice: the same account is the provider of one practice and office
staff of another. Which practices a user works for is known only to the app that holds them
(portal imports no app), so that app registers `role_resolver` when it is ready; without one,
a superuser is an administrator and anyone else on staff is office staff.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from portal.audit.models import Action, Role
from portal.audit.recorder import Entry
from portal.client_address import client_address
from portal.sessions import session_handle

ADMIN = "admin"

# (user, practice_id or None) -> a Role value. Called once per entry, so it must answer from
# what the request already read: appointments keeps the user's practices on the user object.
role_resolver: Callable[[Any, int | None], str] | None = None


def register_role_resolver(resolver: Callable[[Any, int | None], str]) -> None:
    global role_resolver
    role_resolver = resolver


def actor_role(user, practice_id: int | None) -> str:
    if role_resolver is not None:
        return role_resolver(user, practice_id)
    if user.is_superuser:
        return Role.ADMINISTRATOR
    return Role.OFFICE_STAFF if user.is_staff else Role.CLIENT


def record_name(obj) -> str:
    """How an entry names a record: "app.model:pk"."""
    return f"{obj._meta.label_lower}:{obj.pk}"


@dataclass(frozen=True)
class Actor:
    """Who acts in a request, and from where: worked out once for all of its entries."""

    user: Any
    address: str
    session: str
    origin: str

    def entry(
        self,
        *,
        action: str,
        client_id: int | None,
        practice_id: int | None,
        records: Iterable[str] = (),
        detail: str = "",
        role: str | None = None,
    ) -> Entry:
        return Entry(
            action=action,
            actor_id=self.user.pk,
            actor_role=role or actor_role(self.user, practice_id),
            client_id=client_id,
            practice_id=practice_id,
            address=self.address,
            records=sorted(set(records)),
            detail=detail,
            origin=self.origin,
            session=self.session,
        )


def request_actor(request: HttpRequest, origin: str = ADMIN) -> Actor:
    key = getattr(getattr(request, "session", None), "session_key", None)
    return Actor(
        user=request.user,
        address=client_address(request) or "",
        session=session_handle(key) if key else "",
        origin=origin,
    )


def request_entry(
    request: HttpRequest,
    *,
    action: str,
    client_id: int | None,
    practice_id: int | None,
    records: Iterable[str] = (),
    detail: str = "",
    origin: str = ADMIN,
) -> Entry:
    """One entry of `request`'s user acting on one client's record."""
    return request_actor(request, origin).entry(
        action=action,
        client_id=client_id,
        practice_id=practice_id,
        records=records,
        detail=detail,
    )


def listed_entries(
    request: HttpRequest,
    rows: Iterable[tuple[int | None, int | None, str]],
    *,
    action: str = Action.LISTED,
    detail: str = "",
    origin: str = ADMIN,
) -> list[Entry]:
    """
    Rows of (client_id, practice_id, record) shown together, as one entry per client and
    practice naming all of that client's records: a list of fifty appointments of three
    clients is three entries. Rows of no client are no one's record, and the actor's own
    rows (a superuser's own account on the user list) are not someone else's: both are left
    out.
    """
    me = request.user.pk
    grouped: dict[tuple[int, int | None], list[str]] = {}
    for client_id, practice_id, record in rows:
        if client_id is not None and client_id != me:
            grouped.setdefault((client_id, practice_id), []).append(record)
    if not grouped:
        return []
    actor = request_actor(request, origin)
    roles = {practice: actor_role(actor.user, practice) for _client, practice in grouped}
    return [
        actor.entry(
            action=action,
            client_id=client_id,
            practice_id=practice_id,
            records=records,
            detail=detail,
            role=roles[practice_id],
        )
        for (client_id, practice_id), records in grouped.items()
    ]

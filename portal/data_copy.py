"""
The client's copy of their data ("Download your data"): a ZIP of everything the portal holds
about them, built by the worker and sent as a link that works once, for 24 hours, only when
signed in as them.

The kernel knows no app, so it owns the request, the build, the link and the access list, and
each app adds the files of its own records when it starts (`provide_files`, in its
AppConfig.ready). Whether a member of staff may ask for a client's copy is the care team's
question, which the appointments app answers the same way (`provide_care_team`).

A copy asked for by the practice is emailed to the client, never handed to the practice: the
practice already sees its own records in the admin, and the copy also holds the client's
messages with other providers and the access list.
"""

import csv
import hashlib
import io
import logging
import re
import secrets
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.tasks import task
from django.urls import reverse
from django.utils import timezone

from portal import throttles
from portal.audit.buffer import note
from portal.audit.models import Action, AuditEntry, Role
from portal.audit.recorder import Entry
from portal.mail import queue_email
from portal.models import DataCopy, User

logger = logging.getLogger(__name__)

LINK_LIFETIME = timedelta(hours=24)
# The link's token: 32 random bytes, URL-safe base64 without padding.
TOKEN_PATTERN = "[A-Za-z0-9_-]{43}"
# A client asks for at most 3 copies a day (each holds all their data, and each is an email).
DATA_COPY_THROTTLE = throttles.Throttle("data-copy", limit=3, window=timedelta(days=1))
# Every file in the ZIP carries this one date (the README says when the copy was made): a
# file's date in a ZIP has no zone, and would be read in the unzipping computer's.
ZIP_DATE = (2000, 1, 1, 0, 0, 0)

# A section's files for one client: (name in the ZIP, content).
Files = Iterable[tuple[str, bytes]]
_sections: dict[str, Callable[[User], Files]] = {}
# (staff member, client) -> (the Provider pk they act for, their role), or None when the
# client is not on the care team of any practice they work for.
CareTeam = Callable[[User, User], tuple[int, str] | None]
_care_team: list[CareTeam] = []


def provide_files(name: str, files: Callable[[User], Files]) -> None:
    """An app adds the files of its records to every copy (called again: replaced, not added)."""
    _sections[name] = files


def provide_care_team(check: CareTeam) -> None:
    _care_team[:] = [check]


class DataCopyRefused(Exception):
    """Nothing was queued; the message says why, for the person who asked."""


class AlreadyBuilding(DataCopyRefused):
    pass


@dataclass(frozen=True)
class Requested:
    copy: DataCopy


# --- The files --------------------------------------------------------------------------------


def csv_file(header: list[str], rows: Iterable[Iterable[object]]) -> bytes:
    """UTF-8 with a byte-order mark, which spreadsheet programs need to read accents right."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return ("\ufeff" + out.getvalue()).encode()


def local_time(moment: datetime | None, user: User) -> str:
    """ISO 8601 in the client's zone, with its offset: what the portal showed them, exactly."""
    if moment is None:
        return ""
    return moment.astimezone(user.zone).isoformat(timespec="minutes")


def access_files(client: User) -> Files:
    """access.csv: who else saw or did something with the client's record, oldest first."""
    entries = (
        AuditEntry.objects.filter(client=client)
        .exclude(actor_id=client.pk)
        .order_by("at", "id")
        .values_list("at", "actor__name", "actor__email", "actor_role", "action")
    )
    roles, actions = dict(Role.choices), dict(Action.choices)
    rows = (
        (
            local_time(at, client),
            User.full_name_of(name or "", email or "") or "the system",
            roles.get(role, role),
            actions.get(action, action),
        )
        for at, name, email, role, action in entries.iterator()
    )
    yield "access.csv", csv_file(["when", "who", "as", "what"], rows)


def readme(client: User, now: datetime) -> bytes:
    names = ", ".join(sorted(_sections)) or "none"
    return (
        f"A copy of the data {settings.PORTAL_NAME} holds about {client.get_full_name()} "
        f"<{client.email}>,\nmade {local_time(now, client)}. "
        f"Times are in {client.time_zone_name}, with their offset from UTC.\n"
        f"Sections: {names}.\n"
    ).encode()


def build_zip(client: User, *, now: datetime) -> bytes:
    """Every section's files, in the order of their names, each with the same fixed date."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:

        def add(name: str, content: bytes) -> None:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)

        add("README.txt", readme(client, now))
        for name in sorted(_sections):
            for filename, content in _sections[name](client):
                add(filename, content)
    return out.getvalue()


# --- Asking for a copy ------------------------------------------------------------------------


def staff_may_ask(actor: User, client: User) -> tuple[int | None, str] | None:
    """The practice and role `actor` asks as, or None when they may not ask for this client."""
    if not actor.is_active or not actor.is_staff:
        return None
    for check in _care_team:
        found = check(actor, client)
        if found is not None:
            return found
    if actor.is_superuser:
        return None, Role.ADMINISTRATOR
    return None


def wait_words(minutes: int) -> str:
    if minutes < 90:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"about {round(minutes / 60)} hours"


def data_copy_request(
    *, client: User, actor: User, address: str = "", now: datetime | None = None
) -> DataCopy:
    """
    Queue a copy of `client`'s data, built and emailed to them by the worker. `actor` is the
    client, or staff of a practice that has the client on its care team (or a superuser):
    their request is logged in the access list. Raises DataCopyRefused, queueing nothing, when
    one is already being built, when the client asked too often, or when `actor` may not ask.
    """
    now = now or timezone.now()
    staff = None
    if actor.pk != client.pk:
        staff = staff_may_ask(actor, client)
        if staff is None:
            raise PermissionError("Only the client's care team can ask for a copy of their data.")
    with transaction.atomic():
        if staff is None and DATA_COPY_THROTTLE.take(str(client.pk), now=now) is None:
            free_at = DATA_COPY_THROTTLE.free_at(str(client.pk), now=now) or now
            raise DataCopyRefused(
                f"You have asked for {DATA_COPY_THROTTLE.limit} copies in the last day. "
                f"You can ask again in {wait_words(throttles.minutes_until(free_at, now=now))}."
            )
        try:
            # Its own savepoint: the unique constraint refuses a second copy being built.
            with transaction.atomic():
                copy = DataCopy.objects.create(user=client, requested_by=actor, requested_at=now)
        except IntegrityError:
            # Leaving the block by this exception gives the throttle's slot back.
            raise AlreadyBuilding(
                "A copy is already being prepared: it will be emailed "
                + ("to you" if staff is None else "to the client")
                + " when it is ready."
            ) from None
        build_data_copy.enqueue(copy.pk)
        if staff is not None:
            practice_id, role = staff
            note(
                Entry(
                    action=Action.DATA_COPY,
                    actor_id=actor.pk,
                    actor_role=role,
                    client_id=client.pk,
                    practice_id=practice_id,
                    address=address,
                    records=[f"portal.datacopy:{copy.pk}"],
                    detail="emailed to the client",
                    origin="admin",
                    at=now,
                )
            )
    return copy


def building(client: User) -> DataCopy | None:
    return DataCopy.objects.filter(user=client, state=DataCopy.State.PENDING).first()


# --- Building it (the worker) -----------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def build(copy_id: int, *, now: datetime | None = None) -> str:
    """
    Build the ZIP and email the link, once: the copy moves from pending to ready by a
    conditional update, in the transaction that queues the email, so a second run (or one
    racing this) finds nothing pending and neither builds nor sends again.
    """
    now = now or timezone.now()
    copy = DataCopy.objects.select_related("user").filter(pk=copy_id).first()
    if copy is None or copy.state != DataCopy.State.PENDING:
        return "nothing to do"
    client = copy.user
    content = build_zip(client, now=now)
    token = secrets.token_urlsafe(32)
    expires_at = now + LINK_LIFETIME
    with transaction.atomic():
        built = DataCopy.objects.filter(pk=copy_id, state=DataCopy.State.PENDING).update(
            state=DataCopy.State.READY,
            content=content,
            built_at=now,
            token_hash=token_hash(token),
            expires_at=expires_at,
        )
        if not built:
            return "built by another run"
        # The link's end in the client's own zone, as every email to them says times.
        with timezone.override(client.zone):
            queue_email(
                "data-copy-ready",
                {
                    "recipient": client,
                    "link": settings.PORTAL_BASE_URL
                    + reverse("account:data-copy-download", args=[token]),
                    "expires_at": expires_at.astimezone(client.zone),
                    "by_practice": copy.requested_by_id not in (None, client.pk),
                    "portal_name": settings.PORTAL_NAME,
                },
                to=client.email,
            )
    return f"built, {len(content)} bytes"


@task
def build_data_copy(copy_id: int) -> str:
    return build(copy_id)


# --- The link ---------------------------------------------------------------------------------


def get_copy_for_link(user: User, token: str) -> DataCopy | None:
    """The signed-in client's copy behind `token`; None for a bad token or anyone else's."""
    if not re.fullmatch(TOKEN_PATTERN, token):
        return None
    return DataCopy.objects.filter(user=user, token_hash=token_hash(token)).defer("content").first()


def take_download(copy: DataCopy, *, now: datetime | None = None) -> bytes | None:
    """
    The ZIP, once: the copy is marked downloaded by a conditional update, so of two requests
    at once only one gets it, and its bytes are blanked in the same transaction. None when it
    was used, or has expired.
    """
    now = now or timezone.now()
    with transaction.atomic():
        taken = (
            DataCopy.objects.live(now)
            .filter(pk=copy.pk)
            .update(state=DataCopy.State.USED, used_at=now)
        )
        if not taken:
            # Expired: its bytes go now rather than at the next prune_data_copies.
            prunable_data_copies(now).filter(pk=copy.pk).update(content=b"")
            return None
        content = bytes(DataCopy.objects.values_list("content", flat=True).get(pk=copy.pk))
        DataCopy.objects.filter(pk=copy.pk).update(content=b"")
    return content


def chunks(content: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(content), size):
        yield content[start : start + size]


def prunable_data_copies(now: datetime):
    """Copies whose link expired unused and whose ZIP is still kept: nobody can download it."""
    return DataCopy.objects.filter(state=DataCopy.State.READY, expires_at__lte=now).exclude(
        content=b""
    )


def prune_data_copies(*, now: datetime | None = None, dry_run: bool = False) -> int:
    """Blank those ZIPs (the row stays: when it was asked for, by whom, and that it expired)."""
    copies = prunable_data_copies(now or timezone.now())
    return copies.count() if dry_run else copies.update(content=b"")

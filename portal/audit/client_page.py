"""
What a client reads of the access log about them: who in a practice (or the portal itself)
opened, changed, exported or emailed their record, and when, newest first.

The log names a practice only by its id, and the kernel imports no app: the app that owns
practices provides, when it starts, one function that answers for all the practices of a page
at once (their names, and whether they show their staff's names to clients). Apps name their
kinds of record here too ("appointments.appointment" reads "your appointment"). Without
either, the page still says what happened, with the fewest names: a practice that cannot be
asked shows roles only.
"""

import json
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.models import QuerySet

from portal.audit.models import Action, AuditEntry, Role
from portal.formatting import DAY_AND_TIME, format_date, html_datetime
from portal.models import User


@dataclass(frozen=True)
class Practice:
    name: str
    shows_staff_names: bool


PracticeLookup = Callable[[Collection[int]], Mapping[int, Practice]]
_practice_lookup: PracticeLookup | None = None
# "app_label.model" -> (one, several), as the client reads them.
_record_nouns: dict[str, tuple[str, str]] = {"portal.user": ("your account", "your account")}


def provide_practices(lookup: PracticeLookup) -> None:
    """Called once by the app that owns practices, in its AppConfig.ready."""
    global _practice_lookup
    _practice_lookup = lookup


def name_records(label: str, one: str, several: str) -> None:
    """
    How the page calls records of `label` ("app_label.model"): one is "your appointment",
    several "your appointments", which reads "3 of your appointments" (said once, without a
    count, where the two are the same).
    """
    _record_nouns[label] = (one, several)


def practices(ids: Iterable[int | None]) -> dict[int, Practice]:
    """The practices named by `ids`, in one call to the provided lookup (none for no ids)."""
    wanted = {each for each in ids if each is not None}
    if not wanted or _practice_lookup is None:
        return {}
    return dict(_practice_lookup(wanted))


def entries_about(user: User) -> QuerySet[AuditEntry]:
    """
    The entries about `user`'s record made by anyone but `user`. Filtered on the client and read
    newest first by date and id, so the (client, at, id) index serves every page.
    """
    return (
        AuditEntry.objects.filter(client=user)
        # exclude() keeps the entries with no actor (the portal's own), as it must.
        .exclude(actor_id=user.pk)
        .select_related("actor")
        .only("at", "actor_role", "practice_id", "action", "body", "actor__name")
    )


@dataclass(frozen=True)
class Line:
    """One entry as the client reads it."""

    pk: int
    at: datetime
    when: str
    iso: str  # for <time datetime>
    sentence: str
    practice: str


# What each action reads as, `{what}` being the records it was about.
DOING: dict[str, str] = {
    Action.VIEWED: "viewed {what}",
    Action.LISTED: "saw {what} in a list",
    Action.VIEWED_HISTORY: "looked at the history of {what}",
    Action.CHANGED: "changed {what}",
    Action.ADMIN_ACTION: "ran an action on {what}",
    Action.EXPORTED: "exported {what}",
    Action.PRINTED: "printed {what}",
    Action.EMAILED: "sent you an email about {what}",
    Action.DATA_COPY: "made a copy of {what}",
}
# Where it was done from, when not a page of the practice workspace or the portal.
ORIGINS: dict[str, str] = {"command": "from the server", "task": "automatically"}
STAFF_ROLES: dict[str, str] = {Role.PROVIDER: "A provider", Role.OFFICE_STAFF: "Office staff"}
OTHER_ACTORS: dict[str, str] = {
    Role.ADMINISTRATOR: "A portal administrator",
    Role.OPERATOR: "An administrator",
    Role.SYSTEM: "The portal",
    Role.CLIENT: "Another portal user",
}


def practice_label(practice: Practice | None) -> str:
    return f"{practice.name}'s practice" if practice else ""


def records_named(records: Iterable[str]) -> str:
    """ "your appointment", "3 of your appointments", "your appointment and your account"."""
    counts: dict[tuple[str, str], int] = {}
    for record in records:
        label = record.partition(":")[0]
        nouns = _record_nouns.get(label, ("your record", "your record"))
        counts[nouns] = counts.get(nouns, 0) + 1
    if not counts:
        return "your record"
    parts = []
    for (one, several), count in counts.items():
        if count == 1 or one == several:
            parts.append(one)
        else:
            parts.append(f"{count} of {several}")
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"


def who(entry: AuditEntry, practice: Practice | None) -> str:
    role = entry.actor_role
    if role in STAFF_ROLES:
        name = entry.actor.name if entry.actor is not None else ""
        if practice is not None and practice.shows_staff_names and name:
            return f"{name} ({Role(role).label})"
        where = practice_label(practice) or "a practice"
        return f"{STAFF_ROLES[role]} at {where}"
    return OTHER_ACTORS.get(role, "Someone")


def sentence(entry: AuditEntry, practice: Practice | None) -> str:
    try:
        body = json.loads(entry.body)
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    records = body.get("r")
    records = records if isinstance(records, list) else []
    what = records_named(str(each) for each in records)
    if entry.action == Action.EMAILED and not records:
        doing = "sent you an email"
    else:
        doing = DOING.get(entry.action, "opened {what}").format(what=what)
    text = f"{who(entry, practice)} {doing}"
    origin = ORIGINS.get(str(body.get("o", "")).partition(":")[0])
    return f"{text} ({origin})" if origin else text


def lines(entries: list[AuditEntry], zone: ZoneInfo) -> list[Line]:
    """The page's entries in the client's words and time zone: one lookup for all practices."""
    known = practices(entry.practice_id for entry in entries)
    found = []
    for entry in entries:
        practice = known.get(entry.practice_id) if entry.practice_id is not None else None
        found.append(
            Line(
                pk=entry.pk,
                at=entry.at,
                when=format_date(entry.at.astimezone(zone), DAY_AND_TIME),
                iso=html_datetime(entry.at),
                sentence=sentence(entry, practice),
                practice=practice_label(practice),
            )
        )
    return found

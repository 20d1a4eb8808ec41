"""
Who is acting when no one is signed in: an operator running a `manage.py` command, or the
worker running a task. A request knows its user; a command or a task does not, so the unit of
work says who it is (`acting`) and the code that reads a client's record only says what it
read (`entry`), whichever of them runs it.

`command_scope` is the unit of a command that prints or exports client data: the entries it
notes are written when it ends (or at each `buffer.flush` of a long export), by the operator.
"""

import contextlib
import getpass
import os
import shlex
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass

from portal.audit import buffer
from portal.audit.models import Role
from portal.audit.recorder import Entry


@dataclass(frozen=True)
class Acting:
    """The "who" of the entries a command or a task notes."""

    role: str
    origin: str
    actor_id: int | None = None
    address: str = ""
    detail: str = ""


# Outside any scope (a shell, a test calling a task's function directly) the portal itself is
# acting: the system role, with no origin to name.
THE_PORTAL = Acting(Role.SYSTEM, "")
_acting: ContextVar[Acting | None] = ContextVar("portal_audit_acting", default=None)


def current() -> Acting:
    return _acting.get() or THE_PORTAL


@contextlib.contextmanager
def acting(who: Acting) -> Iterator[Acting]:
    token = _acting.set(who)
    try:
        yield who
    finally:
        _acting.reset(token)


def entry(
    action: str,
    *,
    client_id: int | None,
    practice_id: int | None = None,
    records: Iterable[str] = (),
    detail: str | None = None,
) -> Entry:
    """An entry by whoever is acting now; `detail` replaces the scope's own when given."""
    who = current()
    return Entry(
        action=action,
        actor_id=who.actor_id,
        actor_role=who.role,
        client_id=client_id,
        practice_id=practice_id,
        address=who.address,
        records=sorted(records),
        detail=who.detail if detail is None else detail,
        origin=who.origin,
    )


def record_name(label: str, pk: object) -> str:
    """How an entry names one record: "app.model:pk", e.g. "appointments.appointment:12"."""
    return f"{label}:{pk}"


# --- Commands --------------------------------------------------------------------------------


def operating_system_user() -> str:
    """
    The account the operator ran the command as. getpass looks at the environment, then the
    password database; a container with neither (an unknown uid) still runs the command, and
    the log says which uid it was.
    """
    try:
        return getpass.getuser()
    except Exception:  # OSError, or KeyError from pwd for a uid it does not know
        uid = getattr(os, "getuid", None)
        return f"uid {uid()}" if uid is not None else "unknown"


SECRET = "***"


def command_line(argv: Sequence[str], secret_options: Iterable[str] = ()) -> str:
    """
    The command as typed, for the log: the program's own path shortened to its name, and the
    value of each secret option (`--password x` or `--password=x`) left out.
    """
    secrets = set(secret_options)
    shown: list[str] = []
    hide_next = False
    for position, word in enumerate(argv):
        if hide_next:
            shown.append(SECRET)
            hide_next = False
            continue
        name, equals, _ = word.partition("=")
        if name in secrets:
            if equals:
                word = f"{name}={SECRET}"
            else:
                hide_next = True
        elif position == 0:
            word = os.path.basename(word)
        shown.append(word)
    return shlex.join(shown)


def operator(argv: Sequence[str], secret_options: Iterable[str] = ()) -> Acting:
    """
    An operator at the command line. The address is left empty, not the host's name: the
    command runs on one of the portal's own machines, which says nothing about where the
    operator sat, and the column means the address a request came from; the detail names the
    account instead.
    """
    return Acting(
        Role.OPERATOR,
        f"command:{command_line(argv, secret_options)}",
        detail=f"operating-system user {operating_system_user()}",
    )


@contextlib.contextmanager
def command_scope(argv: Sequence[str], secret_options: Iterable[str] = ()) -> Iterator[buffer.Unit]:
    """
    The unit of one command run: what it notes is written, as the operator's, in one INSERT
    when it ends (a long export flushes the unit as it goes). Unlike a page that failed, a
    command that fails still logs what it noted: what it printed or wrote before the failure
    was seen all the same.
    """
    with acting(operator(argv, secret_options)), buffer.gathering() as unit:
        try:
            yield unit
        finally:
            buffer.flush(unit)


# --- Tasks -----------------------------------------------------------------------------------


def system(task_name: str) -> Acting:
    return Acting(Role.SYSTEM, f"task:{task_name}")

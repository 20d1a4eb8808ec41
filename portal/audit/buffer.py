"""
The entries of one unit of work (a request, a command, a task) are gathered as it runs and
written together when it ends, in the one INSERT of `record_entries`: logging a page costs it
one query, however many records it showed.

`note` is how code that shows or changes a client's record says so. Inside `gathering()` the
entries wait for the end of the unit; outside one (a shell, a test calling a service) they are
written at once, so that nothing noted is ever dropped for want of a unit around it.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from portal.audit.recorder import Entry, record_entries

# The open unit's entries; None outside one. A context variable, so that each thread of a
# worker and each request of an async server gathers its own.
_pending: ContextVar[list[Entry] | None] = ContextVar("portal_audit_pending", default=None)


def note(*entries: Entry) -> None:
    pending = _pending.get()
    if pending is None:
        record_entries(entries)
    else:
        pending.extend(entries)


@dataclass
class Unit:
    entries: list[Entry]
    # Only the outermost unit writes: a command that runs a service gathering its own entries
    # still writes once, when the command ends.
    outermost: bool


@contextmanager
def gathering() -> Iterator[Unit]:
    """
    Gather what is noted inside the block; the caller writes it with `flush` once it knows the
    unit succeeded (a page that failed showed nothing), or drops it with `discard`.
    """
    outer = _pending.get()
    if outer is not None:
        yield Unit(outer, outermost=False)
        return
    entries: list[Entry] = []
    token = _pending.set(entries)
    try:
        yield Unit(entries, outermost=True)
    finally:
        _pending.reset(token)


def flush(unit: Unit) -> None:
    """Write what the outermost unit gathered, in one INSERT, and start afresh."""
    if unit.outermost and unit.entries:
        entries = list(unit.entries)
        unit.entries.clear()
        record_entries(entries)


def discard(unit: Unit) -> None:
    if unit.outermost:
        unit.entries.clear()


def flush_now() -> None:
    """
    Write what the open unit has gathered so far, now, in the caller's transaction (outside a
    unit, `note` already wrote it). For an effect that happens once, whoever tries: its entry
    commits or rolls back with the conditional update that made it happen (an email marked
    sent), so a rerun finding it done logs nothing more and a crash between them loses nothing.
    """
    pending = _pending.get()
    if pending:
        entries = list(pending)
        pending.clear()
        record_entries(entries)

"""
Statements written by hand, each held to the one definition of the rule it reads.

The ORM is the default. A statement is written by hand only where a page would otherwise miss
its measured goal; it lives in its app's `sql.py`, says there what it buys, and mirrors a read
that the ORM gives too, from the rules' one definitions (queryset methods and selectors). Each
is registered against that read with `@mirrors(definition)`: tests/test_mirrors.py generates
states of the database with Hypothesis, on PostgreSQL and SQLite, and holds every statement's
answer equal to its definition's, so that changing a rule on one side alone fails a test.

A definition takes the statement's own arguments and gives an answer of the same shape. It is
named by its dotted path, so that a `sql.py` need not import the selectors that use it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.module_loading import autodiscover_modules, import_string


@dataclass(frozen=True)
class Mirror:
    name: str
    statement: Callable[..., Any]
    definition_path: str

    @property
    def definition(self) -> Callable[..., Any]:
        return import_string(self.definition_path)


MIRRORS: dict[str, Mirror] = {}


def mirrors[F: Callable[..., Any]](definition: str) -> Callable[[F], F]:
    """Register the decorated statement as mirroring the read at dotted path `definition`."""

    def register(statement: F) -> F:
        name = f"{statement.__module__}.{statement.__qualname__}"
        MIRRORS[name] = Mirror(name, statement, definition)
        return statement

    return register


def all_mirrors() -> dict[str, Mirror]:
    """Every app's `sql.py` imported, and what they registered."""
    autodiscover_modules("sql")
    return dict(MIRRORS)

"""
Long lists read a page at a time from where the page beside it ended (keyset pagination),
never by counting the rows before it (OFFSET): the last page of a client with 10,000
appointments reads what the first does, through the same index.

A page's links name the row it follows (`?after=`) or precedes (`?before=`), or an end of the
list (`?page=first`, `?page=last`). A position is a row's date to the microsecond and its id,
so that rows sharing a date keep one order. Any position a link of ours did not make (a
hand-typed one, an old page number) reads as the first page.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Model, Q, QuerySet
from django.http import QueryDict

from portal.inputs import EARLIEST_INSTANT, ID_PATTERN, LATEST_INSTANT

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
POSITION = re.compile(rf"([0-9]{{1,18}})_({ID_PATTERN})")


@dataclass(frozen=True)
class Position:
    at: datetime
    pk: int

    def __str__(self) -> str:
        return f"{(self.at - EPOCH) // timedelta(microseconds=1)}_{self.pk}"

    @classmethod
    def parse(cls, raw: str | None) -> "Position | None":
        """A position from a link, or None when it is not one of ours."""
        found = POSITION.fullmatch(raw or "")
        if found is None:
            return None
        try:
            at = EPOCH + timedelta(microseconds=int(found[1]))
        except OverflowError:
            return None
        if not EARLIEST_INSTANT <= at <= LATEST_INSTANT:
            return None
        return cls(at, int(found[2]))


@dataclass(frozen=True)
class Page[T: Model]:
    object_list: list[T]
    has_previous: bool
    has_next: bool
    field: str

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    def _position(self, row: T) -> Position:
        return Position(getattr(row, self.field), row.pk)

    @property
    def previous_query(self) -> str:
        return f"?before={self._position(self.object_list[0])}"

    @property
    def next_query(self) -> str:
        return f"?after={self._position(self.object_list[-1])}"


class Keyset[T: Model]:
    """
    Pages of `queryset` in the order of `order` (a date field, "-" before it for newest first),
    rows of one date in the order of their ids, `per_page` rows a page. Each page costs one
    query, and one more to know whether the list goes on past the side it was reached from.
    """

    def __init__(
        self,
        queryset: QuerySet[T],
        order: str,
        per_page: int,
        *,
        first: Callable[[], tuple[list[T], bool]] | None = None,
        last: Callable[[], tuple[list[T], bool]] | None = None,
    ):
        self.queryset = queryset
        self.field = order.removeprefix("-")
        self.descending = order.startswith("-")
        self.per_page = per_page
        # Read the first or the last page another way (a statement that reads the same rows,
        # faster): its rows in the list's order, and whether more lie beyond them.
        self.first, self.last_page = first, last

    def _ordered(self, backwards: bool) -> QuerySet[T]:
        descending = self.descending != backwards
        sign = "-" if descending else ""
        return self.queryset.order_by(f"{sign}{self.field}", f"{sign}pk")

    def _beyond(self, position: Position, backwards: bool) -> Q:
        """The rows after `position` in the list's order (before it, `backwards`)."""
        descending = self.descending != backwards
        past, reached = ("lt", "lte") if descending else ("gt", "gte")
        at: dict[str, Any] = {self.field: position.at}
        # The first condition bounds the index read; the second breaks ties by id.
        return Q(**{f"{self.field}__{reached}": position.at}) & (
            Q(**{f"{self.field}__{past}": position.at}) | Q(**at, **{f"pk__{past}": position.pk})
        )

    def _read(self, position: Position | None, backwards: bool) -> tuple[list[T], bool]:
        """A page's rows in the list's order, and whether more lie beyond them that way."""
        if position is None:
            other_way = self.last_page if backwards else self.first
            if other_way is not None:
                return other_way()
        rows = self._ordered(backwards)
        if position is not None:
            rows = rows.filter(self._beyond(position, backwards))
        found = list(rows[: self.per_page + 1])
        more = len(found) > self.per_page
        found = found[: self.per_page]
        return (found[::-1] if backwards else found), more

    def _any_beyond(self, row: T, backwards: bool) -> bool:
        position = Position(getattr(row, self.field), row.pk)
        return self.queryset.filter(self._beyond(position, backwards)).exists()

    def page(self, params: QueryDict) -> Page[T]:
        after = Position.parse(params.get("after"))
        before = Position.parse(params.get("before"))
        if after is not None:
            rows, has_next = self._read(after, backwards=False)
            if rows:
                return Page(rows, self._any_beyond(rows[0], True), has_next, self.field)
            return self.last()  # the list ended before the link's row: its end
        if before is not None:
            rows, has_previous = self._read(before, backwards=True)
            if rows:
                return Page(rows, has_previous, self._any_beyond(rows[-1], False), self.field)
        if params.get("page") == "last":
            return self.last()
        rows, has_next = self._read(None, backwards=False)
        return Page(rows, False, has_next, self.field)

    def last(self) -> Page[T]:
        rows, has_previous = self._read(None, backwards=True)
        return Page(rows, has_previous, False, self.field)

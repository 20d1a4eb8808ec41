"""The IANA time zones a person may choose, and the one a user actually sees."""

import zoneinfo
from collections import defaultdict
from datetime import UTC, date, datetime, time
from functools import cache
from importlib import resources

from django.conf import settings
from django.core.exceptions import ValidationError

UTC_NAMES = {"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu"}


@cache
def _aliases() -> dict[str, str]:
    """
    Old names the zone database keeps as links (Asia/Calcutta -> Asia/Kolkata). Browsers
    still report some of them, so they are accepted and stored under the current name.
    """
    text = resources.files("tzdata").joinpath("zoneinfo/tzdata.zi").read_text()
    links = {}
    for line in text.splitlines():
        if line.startswith("L "):
            _, target, alias = line.split()[:3]
            links[alias] = target
    for alias in UTC_NAMES:
        links[alias] = "UTC"
    links.pop("UTC", None)
    return links


@cache
def time_zone_names() -> tuple[str, ...]:
    aliases = _aliases()
    # "localtime", "Etc/GMT+5" and the like are files in the database, not zones people live in.
    names = {
        name
        for name in zoneinfo.available_timezones()
        if "/" in name and not name.startswith("Etc/") and name not in aliases
    }
    return tuple(sorted(names | {"UTC"}))


@cache
def _names_set() -> frozenset[str]:
    return frozenset(time_zone_names())


@cache
def _equivalents() -> dict[str, tuple[str, ...]]:
    names = defaultdict(list)
    for alias, target in _aliases().items():
        names[target].append(alias)
    return {target: tuple(sorted(found)) for target, found in names.items()}


def canonical_time_zone(value: str) -> str | None:
    """The current name of a zone given by any of its names, or None for no zone at all."""
    value = (value or "").strip()
    value = _aliases().get(value, value)
    return value if value in _names_set() else None


def equivalent_names(name: str) -> tuple[str, ...]:
    """Every name a browser might report for this zone, the current one first."""
    return (name, *_equivalents().get(name, ()))


def validate_time_zone_name(value: str) -> None:
    if value not in _names_set():
        raise ValidationError(
            "%(value)s is not a time zone we know. Pick one from the list, like Europe/Berlin.",
            code="invalid_time_zone",
            params={"value": value},
        )


def default_time_zone_name() -> str:
    return settings.PORTAL_DEFAULT_TIME_ZONE


def local_instant(day: date, at: time, zone: zoneinfo.ZoneInfo) -> datetime | None:
    """
    The UTC instant at which the wall clock in `zone` shows `day at`, or None when the clock
    skips that time. When the clock shows it twice, the first occurrence (fold=0) is used.
    """
    naive = datetime.combine(day, at)
    aware = naive.replace(tzinfo=zone, fold=0)
    instant = aware.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != naive:
        return None
    return instant

"""The IANA time zones a person may choose, and the one a user actually sees."""

import zoneinfo
from functools import cache

from django.conf import settings
from django.core.exceptions import ValidationError


@cache
def time_zone_names() -> tuple[str, ...]:
    # "localtime" and the like are files in the zone database, not zones anyone lives in.
    return tuple(sorted(n for n in zoneinfo.available_timezones() if "/" in n or n == "UTC"))


def is_time_zone_name(value: str) -> bool:
    return value in frozenset(time_zone_names())


def validate_time_zone_name(value: str) -> None:
    if not is_time_zone_name(value):
        raise ValidationError(
            "%(value)s is not a time zone we know. Pick one from the list, like Europe/Berlin.",
            code="invalid_time_zone",
            params={"value": value},
        )


def default_time_zone_name() -> str:
    return settings.PORTAL_DEFAULT_TIME_ZONE

"""How the portal writes times and names, in one place for every app."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils.dateformat import format as format_date

# Titles that are not a first name: "Maya" from "Dr. Maya Okafor".
HONORIFICS = {"dr", "mr", "mrs", "ms", "mx", "prof"}


def when(instant: datetime, zone: ZoneInfo) -> str:
    """Mon 2 Dec, 9:00 AM (EST)"""
    return format_date(instant.astimezone(zone), "D j M, g:i A (T)")


def minutes(duration: timedelta) -> int:
    """A duration in whole minutes: 50 for a 50-minute session."""
    return int(duration.total_seconds() // 60)


def name_words(name: str) -> list[str]:
    """The words of a name without its titles."""
    return [word for word in name.split() if word.lower().rstrip(".") not in HONORIFICS]


def initials(name: str) -> str:
    """ "MO" for "Dr. Maya Okafor"; "?" when there is nothing to go on."""
    words = [word for word in name_words((name or "").replace(".", " ")) if word[:1].isalpha()]
    return "".join(word[0].upper() for word in words[:2]) or "?"

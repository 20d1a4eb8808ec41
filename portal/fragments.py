"""
Markup drawn once for the values it shows.

A card or a chat message is drawn from a frozen value object that holds every word, link and
flag it shows, and nothing else: its markup is a function of that object alone. So each is
drawn through the template engine once per process and then reused while the same values
come back (the same card on the next visit, the same message in the next read of a thread).
A change to anything shown makes a different object, and so a fresh drawing: nothing is
ever stale. Model instances never go in (their equality is their primary key alone).
"""

from collections.abc import Hashable
from functools import lru_cache

from django.dispatch import receiver
from django.template.loader import get_template
from django.utils.autoreload import file_changed
from django.utils.safestring import SafeString

# A card is about 2.5 KB of markup, a message about 1 KB with its words: a few MB a process.
DRAWN = 2048


@lru_cache(maxsize=DRAWN)
def draw(template_name: str, it: Hashable) -> SafeString:
    """`template_name` drawn with `it` as its only variable (no request, no CSRF token)."""
    return SafeString(get_template(template_name).render({"it": it}))


@receiver(file_changed, dispatch_uid="portal.fragments.forget")
def forget(sender, file_path, **kwargs) -> None:
    # The development server keeps running when a template changes: draw it again.
    draw.cache_clear()

"""
Fragments of markup the template layer draws once per process and reuses.

A card is drawn from a frozen value that holds every word, link and flag it shows
(appointments' `CardFace`), so its markup is a function of that value, of the language its
dates are written in and of the prefix its links are reversed under: those three are the key.
A card seen before costs no template work, no date formatting and no URL reversing; a change
to anything shown is a different key, and so a fresh drawing: nothing is ever stale.

Only the template tags that draw (`appointments/templatetags/cards.py` and `week.py`,
`chat/templatetags/bubbles.py`) keep drawings; selectors return plain values. What goes in
is a value of plain fields, never a model instance (its equality is its primary key alone)
and never a message's words: chat keeps a message's frame (who wrote it, when, about which
appointment) and writes its words into it afresh each time.
"""

import threading
import weakref
from collections import OrderedDict
from collections.abc import Hashable, Iterable

from django.dispatch import receiver
from django.template.loader import get_template
from django.urls import get_script_prefix
from django.utils.autoreload import file_changed
from django.utils.safestring import SafeString
from django.utils.translation import get_language

_EVERY: "weakref.WeakSet[Drawings]" = weakref.WeakSet()


class Drawings:
    """
    `template_name` drawn with one value as `name` (and `constants`, the same for every
    drawing), the last `size` drawings kept.
    """

    def __init__(
        self, template_name: str, name: str, *, size: int, constants: dict | None = None
    ) -> None:
        self.template_name = template_name
        self.name = name
        self.size = size
        self.constants = constants or {}
        # How many times the template was drawn: a test sees a drawing reused.
        self.drawn = 0
        self._kept: OrderedDict[Hashable, SafeString] = OrderedDict()
        # A threaded server draws from several threads at once.
        self._lock = threading.Lock()
        _EVERY.add(self)

    def __call__(self, value: Hashable) -> SafeString:
        return self._drawing(value, (get_language(), get_script_prefix()))

    def many(self, values: Iterable[Hashable]) -> SafeString:
        """Each value's drawing, one after the other (a page of them: its setting read once)."""
        setting = (get_language(), get_script_prefix())
        return SafeString("".join(self._drawing(value, setting) for value in values))

    def _drawing(self, value: Hashable, setting: tuple[str, str]) -> SafeString:
        key = (value, *setting)
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None:
                self._kept.move_to_end(key)
                return kept
        # Drawn outside the lock: two threads may draw the same value at once, and the
        # drawings are equal.
        context = self.constants | {self.name: value}
        drawn = SafeString(get_template(self.template_name).render(context))
        with self._lock:
            self.drawn += 1
            self._kept[key] = drawn
            if len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return drawn

    def __len__(self) -> int:
        return len(self._kept)

    def kept(self) -> list[tuple[Hashable, SafeString]]:
        """What is kept now: each key (value, language, prefix) with its drawing."""
        with self._lock:
            return list(self._kept.items())

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


@receiver(file_changed, dispatch_uid="portal.templatetags.drawings.forget")
def forget(sender, file_path, **kwargs) -> None:
    # The development server keeps running when a template changes: draw them all again.
    for drawings in list(_EVERY):
        drawings.clear()

"""`{% message bubble %}`: a message in the client's thread."""

from typing import TYPE_CHECKING

from django import template
from django.template.defaultfilters import linebreaksbr
from django.utils.safestring import SafeString

from portal.templatetags.drawings import Drawings

if TYPE_CHECKING:
    from chat.selectors import Bubble

register = template.Library()

# A message's words are never kept. Its frame (everything else it shows) is drawn once, with
# this mark where the words go, and kept; each time, the words are written over the mark.
# The mark is the last thing `_message.html` writes from a value (a NUL, which no name or
# date holds), so the last mark in a drawing is the words' place whatever the names hold.
WORDS = "\x00"
# A frame is about 300 bytes. Kept because drawing it is most of the cost of a message: a
# page of 50 messages drawn in full takes 1.9 ms, from kept frames 0.8 ms, and the whole
# conversation page 7.3 ms (the floor page 5.3 ms; at most 8.8 ms keeps it at 0.6 of it).
FRAMES = Drawings("chat/_message.html", "frame", size=2048, constants={"words": SafeString(WORDS)})


@register.simple_tag
def message(bubble: "Bubble") -> SafeString:
    before, _, after = FRAMES(bubble.frame).rpartition(WORDS)
    return SafeString(before + linebreaksbr(bubble.text, autoescape=True) + after)

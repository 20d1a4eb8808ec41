"""`{% card card %}`: an appointment's card, drawn once for each face it shows."""

from typing import TYPE_CHECKING

from django import template
from django.utils.safestring import SafeString

from portal.templatetags.drawings import Drawings

if TYPE_CHECKING:
    from appointments.selectors import Card

register = template.Library()

# A card is about 2.5 KB of markup: 2,048 of them are 5 MB a process at most. Kept because
# drawing a card costs about what the rest of its page does. Measured in process on the page
# benchmark's data set: the upcoming page (20 cards) 10 ms with the drawings kept, 16.5 ms
# without; the Appointments tab (11 cards) 7.5 and 10.9 ms; the floor page 5.3 ms.
CARDS = Drawings("appointments/_card.html", "face", size=2048)


@register.simple_tag
def card(card: "Card") -> SafeString:
    return CARDS(card.face)

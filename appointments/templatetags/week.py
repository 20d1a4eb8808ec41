"""`{% bookings blocks %}`: a day's bookings on the provider's week, each drawn once."""

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django import template
from django.utils.safestring import SafeString

from portal.templatetags.drawings import Drawings

if TYPE_CHECKING:
    from appointments.admin_week import Block

register = template.Library()

# A booking is about 600 bytes of markup: 4,096 of them are 2.5 MB a process at most, a full
# week of several providers. Kept because a week of 300 bookings drawn afresh costs three
# times what a week of 5 does (tests/appointments/test_week_view.py holds it under two).
BLOCKS = Drawings("admin/appointments/_booking.html", "block", size=4096)


@register.simple_tag
def bookings(blocks: "Iterable[Block]") -> SafeString:
    return BLOCKS.many(blocks)

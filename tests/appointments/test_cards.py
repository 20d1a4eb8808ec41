"""
A card is drawn by the template layer from the values it shows, and the drawing is kept for
those values: the same card on the next visit costs no drawing; a change to anything it
shows, or to the language or the prefix of its links, is a fresh drawing.
"""

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.template import Context, Template
from django.urls import get_script_prefix, reverse, set_script_prefix
from django.utils import translation

from appointments import selectors
from appointments.templatetags.cards import CARDS
from tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db
OVERVIEW = reverse("appointments:list")
LONDON = ZoneInfo("Europe/London")


def card_on(html: str, appointment) -> str:
    pattern = rf'<article[^>]* id="appointment-{appointment.pk}".*?</article>'
    return re.search(pattern, html, re.S)[0]


def drawn_alone(appointment, zone) -> str:
    (card,) = selectors.past_cards([appointment], zone)
    return Template("{% load cards %}{% card card %}").render(Context({"card": card}))


def test_a_card_is_drawn_once_and_drawn_again_when_anything_it_shows_changes(
    signed_in, client_user, session_type
):
    appointment = AppointmentFactory(appointment_type=session_type, client=client_user)
    first = card_on(signed_in.get(OVERVIEW).text, appointment)
    drawn = CARDS.drawn
    assert card_on(signed_in.get(OVERVIEW).text, appointment) == first
    assert CARDS.drawn == drawn
    provider = session_type.provider
    provider.display_name = "Dr. Ada Byrne"
    provider.save()
    session_type.modality, session_type.address = "in_person", "12 Harbour Road"
    session_type.save()
    renamed = card_on(signed_in.get(OVERVIEW).text, appointment)
    assert "Dr. Ada Byrne" in renamed and "12 Harbour Road" in renamed
    assert "Dr. Maya Okafor" not in renamed
    assert CARDS.drawn == drawn + 1
    client_user.time_zone = "Asia/Tokyo"
    client_user.save()
    assert 'title="Asia/Tokyo"' in card_on(signed_in.get(OVERVIEW).text, appointment)


def test_a_card_drawn_in_english_is_drawn_again_in_spanish(client_user, session_type):
    # Monday 2 March 2026, 15:00 UTC.
    start = datetime(2026, 3, 2, 15, tzinfo=UTC)
    appointment = AppointmentFactory(appointment_type=session_type, client=client_user, start=start)
    assert "Monday 2 March" in drawn_alone(appointment, LONDON)
    with translation.override("es"):
        spanish = drawn_alone(appointment, LONDON)
    assert "lunes 2 marzo" in spanish and "Monday" not in spanish


def test_a_card_drawn_under_another_prefix_links_under_it(client_user, session_type):
    appointment = AppointmentFactory(appointment_type=session_type, client=client_user)
    detail = reverse("appointments:detail", args=[appointment.pk])
    assert f'href="{detail}"' in drawn_alone(appointment, LONDON)
    before = get_script_prefix()
    set_script_prefix("/clinic/")
    try:
        assert f'href="/clinic{detail}"' in drawn_alone(appointment, LONDON)
    finally:
        set_script_prefix(before)

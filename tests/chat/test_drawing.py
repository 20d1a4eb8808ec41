"""
A message is drawn by the template layer. What it keeps is the drawing of a message's frame
(who wrote it, when, about what), never its words: they are written into the frame each time.
"""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils.html import escape

from appointments.templatetags.cards import CARDS
from chat.selectors import Bubble, MessageFrame
from chat.services import conversation_start, message_send
from chat.templatetags.bubbles import FRAMES
from portal.templatetags.drawings import Drawings
from tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation(client_user, provider):
    return conversation_start(client=client_user, provider=provider)


def say(conversation, sender, body):
    return message_send(
        conversation=conversation, sender=sender, body=body, client_key=uuid.uuid4()
    )


def kept_words() -> str:
    """Everything the drawings keep, keys and markup, as one text."""
    kept = FRAMES.kept() + CARDS.kept()
    return "\n".join(f"{key!r}\n{drawing}" for key, drawing in kept)


def test_a_thread_keeps_no_message_words_among_its_drawings(
    signed_in, conversation, client_user, provider
):
    # Words no name, date or sentence of another test can hold.
    first, second = (f"knee-{uuid.uuid4().hex}", f"bruise-{uuid.uuid4().hex}")
    appointment = AppointmentFactory(client=client_user, appointment_type__provider=provider)
    say(conversation, client_user, f"My {first} & <the> results")
    message_send(
        conversation=conversation,
        sender=provider.user,
        body=f"A {second}\nkeep ice on it",
        client_key=uuid.uuid4(),
        appointment=appointment,
    )
    page = reverse("chat:detail", args=[conversation.pk])
    html = signed_in.get(page).text
    assert escape(f"My {first} & <the> results") in html
    assert f"A {second}<br>keep ice on it" in html
    kept = kept_words()
    # The check can see what is kept: the frames of both messages are there.
    assert "You" in kept and provider.user.get_full_name() in kept
    assert "About the appointment on" in kept
    assert first not in kept and second not in kept


def test_a_frame_is_drawn_once_and_again_when_its_sender_is_renamed(
    signed_in, conversation, provider
):
    say(conversation, provider.user, "Hello")
    page = reverse("chat:detail", args=[conversation.pk])
    signed_in.get(page)
    drawn = FRAMES.drawn
    signed_in.get(page)
    assert FRAMES.drawn == drawn
    provider.user.name = "Dr. Maya Okafor-Reyes"
    provider.user.save()
    assert "Dr. Maya Okafor-Reyes</span>" in signed_in.get(page).text
    assert FRAMES.drawn == drawn + 1


def test_only_the_last_drawings_are_kept():
    frames = Drawings("chat/_message.html", "frame", size=2, constants={"words": ""})
    sent = datetime(2026, 3, 2, 15, tzinfo=UTC)
    first, second, third = (
        MessageFrame(n, False, f"Sender {n}", sent + timedelta(minutes=n), UTC, None, None)
        for n in range(3)
    )
    for frame in (first, second, first, third):
        frames(frame)
    assert frames.drawn == 3 and len(frames) == 2
    # `first` was used last but one, so `second` made way for `third`.
    frames(first)
    assert frames.drawn == 3
    assert "Sender 1" in frames(second) and frames.drawn == 4


def test_the_words_go_in_their_place_whatever_the_names_hold():
    """The words are written over a mark, a NUL: a sender's name holding one changes nothing."""
    sent = datetime(2026, 3, 2, 15, tzinfo=UTC)
    bubble = Bubble(7, False, "Dr.\x00Okafor", sent, UTC, "a <i>b</i>\nc & d\x00")
    html = Template("{% load bubbles %}{% message bubble %}").render(Context({"bubble": bubble}))
    assert '<span class="msg-sender">Dr.\x00Okafor</span>' in html
    assert html.endswith(
        '<div class="msg-body">a &lt;i&gt;b&lt;/i&gt;<br>c &amp; d\x00</div>\n</li>\n'
    )

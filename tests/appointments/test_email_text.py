"""What the appointment emails tell the client, checked against what the portal's pages say."""

import html
import itertools
import re

import pytest
from django.urls import reverse

from appointments import waitlist
from appointments.models import CareTeamMember
from appointments.services import appointment_cancel
from portal.models import Email
from tests.factories import UserFactory, book
from tests.tasks import sent_mail

pytestmark = pytest.mark.django_db

OFFICE_EMAIL = "front.desk@practice.example"
OFFICE_PHONE = "+1 312 555 0199"


def client_mail(client_user, word):
    return next(m for m in sent_mail() if m.to == [client_user.email] and word in m.subject)


def html_of(message) -> str:
    return html.unescape(next(body for body, kind in message.alternatives if kind == "text/html"))


@pytest.mark.parametrize(
    ("uses_chat", "office_email", "office_phone"),
    list(itertools.product([True, False], [OFFICE_EMAIL, ""], [OFFICE_PHONE, ""])),
)
def test_the_cancellation_email_says_how_to_reach_the_provider_as_the_page_does(
    client_user, provider, session_type, uses_chat, office_email, office_phone
):
    provider.uses_chat = uses_chat
    provider.office_email = office_email
    provider.office_phone = office_phone
    provider.save()
    appointment = book(client_user, provider, session_type, days=3)
    appointment_cancel(appointment=appointment, actor=client_user)
    message = client_mail(client_user, "cancelled")
    text, rich = message.body, html_of(message)
    for body in (text, rich):
        said = body.lower()
        assert ("message" in said) == uses_chat
        assert ("chat" in said) == uses_chat
        assert (OFFICE_EMAIL in body) == bool(office_email)
        assert (OFFICE_PHONE in body) == bool(office_phone)
        assert ("office" in said) == bool(office_email or office_phone)
    assert (f'href="mailto:{OFFICE_EMAIL}"' in rich) == bool(office_email)
    assert ('href="tel:+13125550199"' in rich) == bool(office_phone)


@pytest.mark.parametrize("uses_chat", [True, False])
@pytest.mark.parametrize("word", ["booked", "cancelled"])
def test_no_appointment_email_offers_a_chat_the_provider_does_not_use(
    client_user, provider, session_type, uses_chat, word
):
    provider.uses_chat = uses_chat
    provider.save()
    appointment = book(client_user, provider, session_type, days=3)
    appointment_cancel(appointment=appointment, actor=client_user)
    message = client_mail(client_user, word)
    for body in (message.body, html_of(message)):
        assert "message your provider" not in body.lower()
        if not uses_chat:
            assert "message" not in body.lower() and "chat" not in body.lower()


def test_every_link_in_the_emails_leads_to_the_portal_base_url(
    client, settings, client_user, provider, session_type
):
    """`make run HOST=... PORT=...` sets PORTAL_BASE_URL: reset, offer and .ics links follow it."""
    settings.PORTAL_BASE_URL = "http://192.168.1.20:8101"
    provider.waitlist_enabled = True
    provider.save()
    waiting = UserFactory()
    CareTeamMember.objects.create(provider=provider, client=waiting)
    waitlist.entry_save(
        client=waiting,
        provider=provider,
        appointment_type=session_type,
        weekdays=[],
        parts=[],
        not_after=None,
        actor=waiting,
    )
    appointment = book(client_user, provider, session_type, days=3)
    appointment_cancel(appointment=appointment, actor=client_user)
    client.post(reverse("password-reset"), {"email": client_user.email})
    messages = sent_mail()
    kinds = set(Email.objects.values_list("kind", flat=True))
    assert {"appointment-booked", "waitlist-offer", "password-reset"} <= kinds
    links = []
    for message in messages:
        texts = [message.body, html_of(message)]
        texts += [content for _, content, _ in message.attachments]
        links += [link for text in texts for link in re.findall(r"https?://[^\s\"<>]+", text)]
    assert any("/password-reset/" in link for link in links)
    assert any("/waitlist/" in link for link in links)
    # The calendar entry's place is the session's video room; every other link is the portal's.
    ours = [link for link in links if link != session_type.video_link]
    outside = [link for link in ours if not link.startswith(settings.PORTAL_BASE_URL + "/")]
    assert links and outside == []

import uuid

import pytest
from django.urls import reverse

from appointments.models import CareTeamMember, OfficeStaff
from chat.models import Message
from chat.services import conversation_start, message_send
from tests.factories import ProviderFactory, UserFactory

pytestmark = pytest.mark.django_db
INBOX = reverse("admin:chat_conversation_changelist")


def thread(conversation):
    return reverse("admin:chat_conversation_change", args=[conversation.pk])


@pytest.fixture
def conversation(client_user, provider):
    conversation = conversation_start(client=client_user, provider=provider)
    message_send(
        conversation=conversation,
        sender=client_user,
        body="Is Tuesday OK?",
        client_key=uuid.uuid4(),
    )
    return conversation


@pytest.fixture
def other_conversation(stranger):
    other = ProviderFactory(display_name="Dr. Other")
    CareTeamMember.objects.create(provider=other, client=stranger)
    conversation = conversation_start(client=stranger, provider=other)
    message_send(
        conversation=conversation,
        sender=stranger,
        body="Secret of another practice",
        client_key=uuid.uuid4(),
    )
    return conversation


def test_the_provider_sees_only_their_own_conversations(
    client, staff_browser, provider, conversation, other_conversation
):
    staff_browser(provider.user)
    html = client.get(INBOX).text
    assert "Jordan Lee" in html and "Sam Stranger" not in html


def test_another_providers_conversation_is_out_of_reach(
    client, staff_browser, provider, other_conversation
):
    staff_browser(provider.user)
    response = client.get(thread(other_conversation))
    assert response.status_code == 302  # the admin's answer for an object it can't find
    assert "Secret of another practice" not in client.get(response.url).text
    client.post(thread(other_conversation), {"body": "intrusion", "client_key": str(uuid.uuid4())})
    assert not Message.objects.filter(body="intrusion").exists()


def test_a_superuser_sees_all(client, staff_browser, conversation, other_conversation):
    staff_browser(UserFactory(is_staff=True, is_superuser=True))
    html = client.get(INBOX).text
    assert "Jordan Lee" in html and "Sam Stranger" in html


def test_a_client_cannot_open_the_inbox(client, staff_browser, client_user, conversation):
    client.force_login(client_user)
    assert client.get(INBOX).status_code == 302


def test_the_thread_shows_the_messages_and_marks_them_read(
    client, staff_browser, provider, conversation
):
    staff_browser(provider.user)
    html = client.get(thread(conversation)).text
    assert "Is Tuesday OK?" in html and "Send reply" in html
    assert '<td class="field-unread_count">0</td>' in client.get(INBOX).text


def test_unread_conversations_come_first(
    client, staff_browser, provider, conversation, client_user
):
    quiet = UserFactory(name="Quiet Client")
    CareTeamMember.objects.create(provider=provider, client=quiet)
    other = conversation_start(client=quiet, provider=provider)
    message_send(conversation=other, sender=quiet, body="hello", client_key=uuid.uuid4())
    staff_browser(provider.user)
    client.get(thread(other))  # read
    message_send(
        conversation=conversation, sender=client_user, body="again", client_key=uuid.uuid4()
    )
    html = client.get(INBOX).text
    assert html.index("Jordan Lee") < html.index("Quiet Client")


def test_the_provider_replies_from_the_admin(client, staff_browser, provider, conversation):
    staff_browser(provider.user)
    response = client.post(
        thread(conversation), {"body": "Tuesday works.", "client_key": str(uuid.uuid4())}
    )
    assert response.status_code == 302
    assert conversation.messages.last().body == "Tuesday works."
    assert conversation.messages.last().sender == provider.user


def test_office_staff_reply_on_the_providers_behalf(client, staff_browser, provider, conversation):
    staff = UserFactory(name="Alex Kim", is_staff=True)
    OfficeStaff.objects.create(provider=provider, user=staff)
    staff_browser(staff)
    assert "Jordan Lee" in client.get(INBOX).text
    client.post(thread(conversation), {"body": "From the office.", "client_key": str(uuid.uuid4())})
    assert conversation.messages.last().sender == staff


@pytest.mark.parametrize(
    ("data", "text"),
    [({"body": " "}, "Write a message first"), ({"body": "hi", "client_key": "x"}, "out of date")],
)
def test_a_bad_reply_gets_a_message_and_sends_nothing(
    client, staff_browser, provider, conversation, data, text
):
    staff_browser(provider.user)
    payload = {"client_key": str(uuid.uuid4())} | data
    response = client.post(thread(conversation), payload, follow=True)
    assert text in response.text
    assert conversation.messages.count() == 1


def unread_in_inbox(client) -> list[str]:
    import re

    return re.findall(r'<td class="field-unread_count">(\d+)</td>', client.get(INBOX).text)


def say(conversation, sender, body="..."):
    return message_send(
        conversation=conversation, sender=sender, body=body, client_key=uuid.uuid4()
    )


def test_a_client_message_the_practice_answered_is_not_unread(
    client, staff_browser, provider, conversation
):
    staff = UserFactory(name="Alex Kim", is_staff=True)
    OfficeStaff.objects.create(provider=provider, user=staff)
    say(conversation, staff, "Tuesday is fine.")  # the office answered; the provider never looked
    staff_browser(provider.user)
    assert unread_in_inbox(client) == ["0"]


def test_a_client_message_after_the_answer_counts_again(
    client, staff_browser, provider, conversation, client_user
):
    say(conversation, provider.user, "Tuesday is fine.")
    say(conversation, client_user, "Thanks! And the week after?")
    say(conversation, client_user, "Same time?")
    staff_browser(provider.user)
    assert unread_in_inbox(client) == ["2"]


def test_the_read_marker_still_counts_without_an_answer(
    client, staff_browser, provider, conversation, client_user
):
    staff_browser(provider.user)
    client.get(thread(conversation))  # read "Is Tuesday OK?"
    say(conversation, client_user, "Or Wednesday?")
    assert unread_in_inbox(client) == ["1"]


def test_a_practice_answer_before_the_read_marker_changes_nothing(
    client, staff_browser, provider, conversation, client_user
):
    say(conversation, provider.user, "Tuesday is fine.")
    staff_browser(provider.user)
    client.get(thread(conversation))
    say(conversation, client_user, "Great, see you then.")
    assert unread_in_inbox(client) == ["1"]


def test_the_thread_shows_an_appointment_time_in_the_providers_zone_named(
    client, staff_browser, provider, conversation, client_user, session_type
):
    from datetime import date, time
    from zoneinfo import ZoneInfo

    from appointments.slots import local_instant
    from tests.factories import AppointmentFactory

    start = local_instant(date(2026, 12, 1), time(10), ZoneInfo("America/Chicago"))
    appointment = AppointmentFactory(appointment_type=session_type, client=client_user, start=start)
    message_send(
        conversation=conversation,
        sender=client_user,
        body="About Tuesday",
        client_key=uuid.uuid4(),
        appointment=appointment,
    )
    viewer = UserFactory(name="Alex Kim", is_staff=True, time_zone="Europe/Berlin")
    OfficeStaff.objects.create(provider=provider, user=viewer)
    staff_browser(viewer)
    html = client.get(thread(conversation)).text
    assert "about the appointment on Tue 1 Dec 2026, 10:00 AM CST (America/Chicago time)" in html

import random
import re
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.http import Http404
from django.utils import timezone

from appointments.models import CareTeamMember, OfficeStaff
from chat import selectors
from chat.models import Conversation, Message, ReadState
from chat.services import (
    ChatError,
    ChatUnavailable,
    RateLimited,
    conversation_start,
    mark_read,
    message_send,
)
from tests.factories import AppointmentFactory, ProviderFactory, UserFactory
from tests.tasks import sent_mail

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation(client_user, provider):
    return conversation_start(client=client_user, provider=provider)


def send(conversation, sender, body="Hello", key=None, **kw):
    return message_send(
        conversation=conversation, sender=sender, body=body, client_key=key or uuid.uuid4(), **kw
    )


def test_starting_twice_opens_the_same_conversation(client_user, provider):
    assert conversation_start(client=client_user, provider=provider) == conversation_start(
        client=client_user, provider=provider
    )
    assert Conversation.objects.count() == 1


def test_only_care_team_providers_can_be_messaged(stranger, provider):
    with pytest.raises(ChatUnavailable, match="care team"):
        conversation_start(client=stranger, provider=provider)


def test_a_provider_without_chat_cannot_be_messaged(client_user, provider):
    provider.uses_chat = False
    provider.save()
    with pytest.raises(ChatUnavailable, match="doesn't use Chat"):
        conversation_start(client=client_user, provider=provider)


def test_a_message_is_trimmed_and_stamped(conversation, client_user):
    message = send(conversation, client_user, "  Can we talk?\n ")
    assert message.body == "Can we talk?"
    conversation.refresh_from_db()
    assert conversation.last_message_at == message.created_at


@pytest.mark.parametrize("body", ["", "   ", "\n\t"])
def test_an_empty_message_is_refused(conversation, client_user, body):
    with pytest.raises(ChatError, match="Write a message"):
        send(conversation, client_user, body)
    assert not Message.objects.exists()


def test_a_message_over_2000_characters_is_refused(conversation, client_user):
    send(conversation, client_user, "x" * 2000)
    with pytest.raises(ChatError, match="at most 2,000 characters; this one has 2,001"):
        send(conversation, client_user, "x" * 2001)
    assert Message.objects.count() == 1


def test_the_same_key_sends_once(conversation, client_user):
    key = uuid.uuid4()
    first = send(conversation, client_user, "Hello", key)
    again = send(conversation, client_user, "Hello", key)
    assert first == again and Message.objects.count() == 1


def test_a_stranger_cannot_write_into_a_conversation(conversation, stranger):
    with pytest.raises(ChatUnavailable):
        send(conversation, stranger)


def test_the_provider_and_their_office_staff_can_reply(conversation, provider):
    send(conversation, provider.user, "Yes, of course.")
    staff = UserFactory(name="Alex Kim", is_staff=True)
    OfficeStaff.objects.create(provider=provider, user=staff)
    assert send(conversation, staff, "Booked you in.").sender == staff


def test_a_switched_off_chat_makes_the_conversation_read_only(conversation, client_user, provider):
    send(conversation, client_user)
    provider.uses_chat = False
    provider.save()
    conversation.refresh_from_db()
    with pytest.raises(ChatUnavailable, match="read-only"):
        send(conversation, client_user)


def test_sending_is_rate_limited_with_a_clear_message(conversation, client_user):
    now = timezone.now()
    for i in range(30):
        send(conversation, client_user, f"message {i}", now=now)
    with pytest.raises(RateLimited, match="wait a minute"):
        send(conversation, client_user, now=now + timedelta(seconds=30))
    assert send(conversation, client_user, now=now + timedelta(seconds=61))


def test_an_appointment_link_must_be_one_of_theirs(
    conversation, client_user, stranger, session_type
):
    mine = AppointmentFactory(appointment_type=session_type, client=client_user)
    theirs = AppointmentFactory(
        appointment_type=session_type, client=stranger, start=mine.start + timedelta(days=1)
    )
    assert send(conversation, client_user, appointment=mine).appointment == mine
    assert send(conversation, client_user, appointment=theirs).appointment is None


def test_unread_counts_follow_the_read_marker(conversation, client_user, provider):
    send(conversation, client_user, "Hi")
    assert selectors.unread_total(client_user) == 0  # your own messages are read
    send(conversation, provider.user, "Hello!")
    send(conversation, provider.user, "How can I help?")
    assert selectors.unread_total(client_user) == 2
    [listed] = selectors.client_conversations(client_user)
    assert listed.unread == 2
    mark_read(conversation=conversation, user=client_user)
    assert selectors.unread_total(client_user) == 0


def test_the_read_marker_never_moves_back(conversation, client_user, provider):
    send(conversation, provider.user)
    mark_read(conversation=conversation, user=client_user)
    state = ReadState.objects.get(user=client_user)
    ReadState.objects.filter(pk=state.pk).update(last_read_id=state.last_read_id + 100)
    mark_read(conversation=conversation, user=client_user)
    state.refresh_from_db()
    assert state.last_read_id == Message.objects.last().pk + 100


def test_the_recipient_is_emailed_without_the_text(conversation, client_user, provider):
    send(conversation, client_user, "My private worry about my medication")
    assert len(sent_mail()) == 1
    message = sent_mail()[0]
    assert message.to == [provider.user.email]
    assert "You have a new message" in message.body
    assert "medication" not in message.subject + message.body + message.alternatives[0][0]
    assert f"/admin/chat/conversation/{conversation.pk}/change/" in message.body


def test_at_most_one_email_per_conversation_per_15_minutes(conversation, client_user, provider):
    now = timezone.now()
    send(conversation, provider.user, "one", now=now)
    send(conversation, provider.user, "two", now=now + timedelta(minutes=14))
    assert len(sent_mail()) == 1
    send(conversation, provider.user, "three", now=now + timedelta(minutes=15))
    assert len(sent_mail()) == 2
    assert sent_mail()[1].to == [client_user.email]
    assert f"/chat/{conversation.pk}/" in sent_mail()[1].body


def test_a_clients_message_also_reaches_the_office_staff_each_at_most_every_15_minutes(
    conversation, client_user, provider
):
    office = UserFactory(email="office@practice.example", is_staff=True)
    OfficeStaff.objects.create(provider=provider, user=office)
    now = timezone.now()
    send(conversation, client_user, "first secret", now=now)
    assert sorted(m.to[0] for m in sent_mail()) == sorted([provider.user.email, office.email])
    send(conversation, client_user, "second secret", now=now + timedelta(minutes=5))
    assert len(sent_mail()) == 2
    send(conversation, client_user, "third secret", now=now + timedelta(minutes=16))
    assert len(sent_mail()) == 4
    assert all("secret" not in m.subject + m.body for m in sent_mail())


def test_office_staff_replying_notifies_the_client_and_not_the_office(
    conversation, client_user, provider
):
    office = UserFactory(email="office@practice.example", is_staff=True)
    OfficeStaff.objects.create(provider=provider, user=office)
    send(conversation, office, "We can see you Tuesday.")
    assert [m.to for m in sent_mail()] == [[client_user.email]]


def test_the_notification_is_queued_in_the_sends_transaction(conversation, client_user):
    from django.db import transaction

    from portal.models import Email

    with pytest.raises(RuntimeError), transaction.atomic():
        send(conversation, client_user)
        assert Email.objects.count() == 1
        raise RuntimeError("rolled back")
    assert not Email.objects.exists() and sent_mail() == []


def expected_list(client) -> list[tuple]:
    """What the chat list should show, worked out in Python from the rows themselves."""
    rows = []
    for conversation in Conversation.objects.filter(client=client).select_related("provider"):
        messages = list(conversation.messages.order_by("id"))
        marker = ReadState.objects.filter(conversation=conversation, user=client).first()
        read_to = marker.last_read_id if marker else 0
        unread = sum(1 for m in messages if m.sender_id != client.pk and m.pk > read_to)
        last = messages[-1] if messages else None
        rows.append(
            (
                conversation.pk,
                conversation.created_at,
                conversation.last_message_at,
                last.body if last else None,
                last.sender_id if last else None,
                unread,
                conversation.provider.pk,
                conversation.provider.display_name,
            )
        )
    # Newest activity first; those with nothing yet last; then the newest made.
    rows.sort(
        key=lambda row: (
            row[2] is None,
            -(row[2] or row[1]).timestamp(),
            -row[1].timestamp(),
            -row[0],
        )
    )
    return rows


def listed(conversation) -> tuple:
    fields = (conversation.pk, conversation.created_at, conversation.last_message_at)
    shown = (conversation.last_body, conversation.last_sender, conversation.unread)
    return (*fields, *shown, conversation.provider.pk, conversation.provider.display_name)


def test_the_unread_total_is_the_sum_of_each_conversations_unread(client_user, stranger):
    """
    The menus' total and the list agree with each other and with what the rows say, whatever
    is sent and read.
    """
    rng = random.Random(7)
    others = [ProviderFactory() for _ in range(4)]
    conversations = []
    for provider in others:
        CareTeamMember.objects.create(provider=provider, client=client_user)
        CareTeamMember.objects.create(provider=provider, client=stranger)
        conversations.append(conversation_start(client=client_user, provider=provider))
        # Another client's unread messages never count.
        theirs = conversation_start(client=stranger, provider=provider)
        send(theirs, provider.user, "for someone else")
    for _ in range(6):
        for conversation in conversations:
            for _ in range(rng.randrange(4)):
                sender = rng.choice([client_user, conversation.provider.user])
                send(
                    conversation,
                    sender,
                    "hi",
                    now=timezone.now() + timedelta(minutes=rng.randrange(600)),
                )
            if rng.random() < 0.4:
                mark_read(conversation=conversation, user=client_user)
        expected = expected_list(client_user)
        assert [listed(c) for c in selectors.client_conversations(client_user)] == expected
        assert selectors.unread_total(client_user) == sum(row[5] for row in expected)
    assert sum(row[5] for row in expected) > 0
    # A conversation with nothing in it yet comes last, as "No messages yet".
    quiet = ProviderFactory()
    CareTeamMember.objects.create(provider=quiet, client=client_user)
    conversation_start(client=client_user, provider=quiet)
    [*_, last] = selectors.client_conversations(client_user)
    assert (last.provider, last.last_body, last.last_sender, last.unread) == (quiet, None, None, 0)
    assert [listed(c) for c in selectors.client_conversations(client_user)] == expected_list(
        client_user
    )


def test_the_unread_count_reads_the_unread_not_the_whole_thread(
    conversation, client_user, provider
):
    """The plan bounds each conversation's read by the marker on the (conversation, id) index."""
    Message.objects.bulk_create(
        Message(
            conversation=conversation,
            sender=provider.user,
            body="old",
            client_key=uuid.uuid4(),
            created_at=timezone.now() - timedelta(days=1),
        )
        for _ in range(2000)
    )
    mark_read(conversation=conversation, user=client_user)
    send(conversation, provider.user, "new")
    assert selectors.unread_total(client_user) == 1
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE chat_message, chat_conversation, chat_readstate")
        else:
            cursor.execute("ANALYZE")
    plan = selectors.unread_counts(client_user).values("unread").explain()
    # The messages are searched from the marker on (by the (conversation, id) index or the
    # primary key, as the planner likes), never scanned and filtered.
    if connection.vendor == "postgresql":
        assert re.search(r"Index Cond: .*\bid > COALESCE\(", plan), plan
    else:
        assert re.search(r"SEARCH \w+ USING .*\b(rowid|id)>\?", plan), plan


def test_the_conversation_to_read_comes_with_the_readers_own_marker(
    conversation, client_user, stranger, django_assert_num_queries
):
    """Its provider and client in the same read, and where the client's marker stands."""
    first = selectors.get_conversation_to_read(client_user, conversation.pk)
    assert first.last_read is None
    send(conversation, conversation.provider.user, "Hello!")
    newest = send(conversation, conversation.provider.user, "How are you?")
    # The stranger's marker in a conversation of their own never counts here.
    CareTeamMember.objects.create(provider=conversation.provider, client=stranger)
    theirs = conversation_start(client=stranger, provider=conversation.provider)
    mark_read(conversation=theirs, user=stranger)
    mark_read(conversation=conversation, user=client_user)
    # Nor does the provider's marker in this one, which is further on.
    mark_read(conversation=conversation, user=conversation.provider.user)
    send(conversation, conversation.provider.user, "Talk soon")
    with django_assert_num_queries(1):
        read = selectors.get_conversation_to_read(client_user, conversation.pk)
        shown = (read.provider.display_name, read.client.time_zone)
    assert read.last_read == newest.pk
    assert shown == (conversation.provider.display_name, client_user.time_zone)
    for client, pk in [(stranger, conversation.pk), (client_user, theirs.pk), (client_user, 0)]:
        with pytest.raises(Http404):
            selectors.get_conversation_to_read(client, pk)

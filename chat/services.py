"""Writes to chat: validate everything first, then one atomic send."""

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, Provider
from chat.emails import queue_new_message_email
from chat.models import MAX_MESSAGE_LENGTH, Conversation, Message, ReadState
from portal.models import User

RATE_LIMIT = 30  # messages per user
RATE_WINDOW = timedelta(minutes=1)
NOTIFY_AT_MOST_EVERY = timedelta(minutes=15)


class ChatError(Exception):
    """A message that can't be sent; the text is written for the person sending it."""


class ChatUnavailable(ChatError):
    pass


class RateLimited(ChatError):
    pass


def conversation_start(*, client: User, provider: Provider) -> Conversation:
    """The client's conversation with this provider, opened if there is none yet."""
    if not provider.clients.filter(pk=client.pk).exists():
        raise ChatUnavailable("You can only message providers on your care team.")
    if not provider.uses_chat:
        raise ChatUnavailable(f"{provider.display_name} doesn't use Chat.")
    try:
        with transaction.atomic():
            conversation, _ = Conversation.objects.get_or_create(provider=provider, client=client)
    except IntegrityError:
        # Two tabs opened it at once; the other one won.
        conversation = Conversation.objects.get(provider=provider, client=client)
    return conversation


def clean_body(body: str) -> str:
    text = (body or "").strip()
    if not text:
        raise ChatError("Write a message first.")
    if len(text) > MAX_MESSAGE_LENGTH:
        raise ChatError(
            f"Messages can be at most {MAX_MESSAGE_LENGTH:,} characters; "
            f"this one has {len(text):,}."
        )
    return text


def message_send(
    *,
    conversation: Conversation,
    sender: User,
    body: str,
    client_key: uuid.UUID,
    appointment: Appointment | None = None,
    now: datetime | None = None,
) -> Message:
    """Send once per client_key: a retry or a double click returns the message already sent."""
    now = now or timezone.now()
    existing = Message.objects.filter(sender=sender, client_key=client_key).first()
    if existing is not None:
        return existing
    if not conversation.involves(sender):
        raise ChatUnavailable("You're not part of this conversation.")
    if not conversation.provider.uses_chat:
        raise ChatUnavailable(
            f"{conversation.provider.display_name} doesn't use Chat; "
            "this conversation is read-only."
        )
    text = clean_body(body)
    if appointment is not None and (
        appointment.client_id != conversation.client_id
        or appointment.provider_id != conversation.provider_id
    ):
        appointment = None  # only ever a link to an appointment of these two
    try:
        with transaction.atomic():
            # Sends by one sender take turns from here, so counting and inserting is one step:
            # counted before the lock, 40 sends at once all saw fewer than 30 and all got in.
            # On SQLite select_for_update is a no-op; the IMMEDIATE transaction already holds
            # the database's single write lock.
            User.objects.select_for_update().only("pk").get(pk=sender.pk)
            existing = Message.objects.filter(sender=sender, client_key=client_key).first()
            if existing is not None:
                return existing  # the same send, retried while the first one held the lock
            recent = Message.objects.filter(sender=sender, created_at__gt=now - RATE_WINDOW)
            if recent.count() >= RATE_LIMIT:
                raise RateLimited(
                    "You're sending messages very quickly. Please wait a minute and try again."
                )
            message = Message.objects.create(
                conversation=conversation,
                sender=sender,
                body=text,
                client_key=client_key,
                appointment=appointment,
                created_at=now,
            )
            Conversation.objects.filter(pk=conversation.pk).update(last_message_at=now)
            _mark_read(conversation, sender, message.pk)
            notify_recipients(message, now)
    except IntegrityError:
        # The same key raced in from another request: that one is the message.
        return Message.objects.get(sender=sender, client_key=client_key)
    return message


def _mark_read(conversation: Conversation, user: User, message_id: int) -> None:
    state, _ = ReadState.objects.get_or_create(conversation=conversation, user=user)
    if state.last_read_id < message_id:  # else read already: nothing to write
        _move_marker(conversation, user, message_id)


def _move_marker(conversation: Conversation, user: User, message_id: int) -> None:
    # Only forward, even against another tab's read since: an older page polling late must
    # not un-read newer messages.
    ReadState.objects.filter(
        conversation=conversation, user=user, last_read_id__lt=message_id
    ).update(last_read_id=message_id)


def mark_shown_read(
    *, conversation: Conversation, user: User, up_to: int, marker: int | None
) -> None:
    """
    Read up to message `up_to`, the newest the reader was shown, when their marker stood at
    `marker` as the page was read (None: they had none yet). Writes only if it moves.
    """
    if marker is None:
        _mark_read(conversation, user, up_to)
    elif marker < up_to:
        _move_marker(conversation, user, up_to)


def mark_read(*, conversation: Conversation, user: User, up_to: int | None = None) -> None:
    """Read up to message `up_to` (the newest the reader was shown), or up to the newest."""
    if up_to is None:
        up_to = conversation.messages.order_by("-id").values_list("id", flat=True).first()
    if up_to is not None:
        _mark_read(conversation, user, up_to)


def notify_recipients(message: Message, now: datetime) -> int:
    """
    Queue an email to each person on the other side that something arrived: never the text,
    at most once per conversation every 15 minutes per person. A client's message reaches the
    provider and the office staff who answer their inbox; a reply reaches the client. Runs in
    the send's transaction; the conditional update makes two senders at once queue one email.
    """
    conversation = message.conversation
    if message.sender_id == conversation.client_id:
        provider = conversation.provider
        recipients = [
            provider.user,
            *User.objects.filter(staff_roles__provider=provider).exclude(pk=provider.user_id),
        ]
        link = settings.PORTAL_BASE_URL + reverse(
            "admin:chat_conversation_change", args=[conversation.pk]
        )
    else:
        recipients = [conversation.client]
        link = settings.PORTAL_BASE_URL + reverse("chat:detail", args=[conversation.pk])
    notified = 0
    for recipient in recipients:
        state, _ = ReadState.objects.get_or_create(conversation=conversation, user=recipient)
        claimed = ReadState.objects.filter(
            Q(last_notified_at__isnull=True) | Q(last_notified_at__lte=now - NOTIFY_AT_MOST_EVERY),
            pk=state.pk,
        ).update(last_notified_at=now)
        if claimed:
            queue_new_message_email(recipient=recipient, link=link, conversation=conversation)
            notified += 1
    return notified

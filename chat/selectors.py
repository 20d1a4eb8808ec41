"""Reads for chat. Every conversation is fetched through a participant; others get a 404."""

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypedDict
from zoneinfo import ZoneInfo

from django.db.models import Count, F, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest
from django.shortcuts import get_object_or_404
from django.utils import timezone

from appointments.models import Provider
from chat.models import Conversation, Message, ReadState
from portal.formatting import format_date, html_datetime
from portal.models import User

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

PAGE_SIZE = 50


def _last_read(user: User):
    marker = ReadState.objects.filter(conversation=OuterRef("pk"), user=user)
    return Coalesce(
        Subquery(marker.values("last_read_id")[:1]), Value(0), output_field=IntegerField()
    )


def _last_practice_reply():
    """The id of the newest message anyone in the practice (not the client) sent; 0 if none."""
    # The index on (conversation, id) serves this newest-first read.
    replies = (
        Message.objects.filter(conversation=OuterRef("pk"))
        .exclude(sender=OuterRef("client"))
        .order_by("-id")
        .values("id")[:1]
    )
    return Coalesce(Subquery(replies, output_field=IntegerField()), Value(0))


def with_unread(conversations: QuerySet[Conversation], viewer: User):
    """
    Annotate `unread` as the practice sees it: the client's messages after the viewer's read
    marker, whoever in the office read along, and a client message already answered by
    someone in the practice no longer counts. (The client's own side: unread_by_viewer.)
    """
    others = Message.objects.filter(
        conversation=OuterRef("pk"), sender=OuterRef("client"), id__gt=OuterRef("seen_to")
    )
    annotated = conversations.annotate(viewer_read=_last_read(viewer)).annotate(
        seen_to=Greatest(F("viewer_read"), _last_practice_reply())
    )
    counted = others.order_by().values("conversation").annotate(n=Count("id")).values("n")
    return annotated.annotate(
        unread=Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))
    )


def unread_in(conversation: Any, viewer: User) -> QuerySet[Message]:
    """
    The messages of `conversation` (one, its id, or an OuterRef to one) that `viewer` has not
    read, as the client's side counts them: from anyone else, after the viewer's read marker.
    The marker is the conversation's, not each message's, so the (conversation, id) index
    reads only what is unread, however long the thread. (The practice's side: with_unread.)
    """
    marked = OuterRef(conversation) if isinstance(conversation, OuterRef) else conversation
    marker = ReadState.objects.filter(conversation=marked, user=viewer)
    return Message.objects.filter(
        conversation=conversation,
        id__gt=Coalesce(Subquery(marker.values("last_read_id")[:1]), Value(0)),
    ).exclude(sender=viewer)


def _unread_count(viewer: User) -> Coalesce:
    """For a query of conversations: how many of each one's messages `viewer` has not read."""
    counted = (
        unread_in(OuterRef("pk"), viewer)
        .order_by()
        .values("conversation")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def unread_counts(client: User) -> QuerySet[Conversation]:
    """The client's conversations, each with `unread`."""
    return Conversation.objects.filter(client=client).annotate(unread=_unread_count(client))


class Preview(TypedDict):
    last_body: str | None
    last_sender: int | None
    unread: int


def client_conversations(client: User) -> "QuerySet[WithAnnotations[Conversation, Preview]]":
    """
    The client's conversations, newest activity first, each with its provider, the newest
    message's text and sender (`last_body`, `last_sender`) and how many are unread.
    """
    newest = Message.objects.filter(conversation=OuterRef("pk")).order_by("-id")
    return (
        Conversation.objects.filter(client=client)
        .select_related("provider")
        .annotate(
            last_body=Subquery(newest.values("body")[:1]),
            last_sender=Subquery(newest.values("sender")[:1]),
            unread=_unread_count(client),
        )
        .order_by(F("last_message_at").desc(nulls_last=True), "-created_at", "-pk")
    )


def unread_total(client: User) -> int:
    """Unread messages in all the client's conversations, in one query."""
    return unread_counts(client).aggregate(total=Coalesce(Sum("unread"), 0))["total"]


@dataclass(frozen=True)
class PollState:
    newer: bool
    unread_total: int


def poll_state_defined(client: User, pk: int, after: int) -> PollState:
    """What chat.sql.poll_state answers in one statement, by the rules' definitions."""
    conversation = get_conversation_for_client(client, pk)
    return PollState(
        newer=conversation.messages.filter(id__gt=after).exists(),
        unread_total=unread_total(client),
    )


def get_conversation_for_client(client: User, pk: int) -> Conversation:
    return get_object_or_404(
        Conversation.objects.select_related("provider", "client"), pk=pk, client=client
    )


class Marker(TypedDict):
    last_read: int | None


def get_conversation_to_read(client: User, pk: int) -> "WithAnnotations[Conversation, Marker]":
    """
    The client's conversation, with its provider and client, and where their read marker
    stands (`last_read`, None before their first read); a stranger's is a 404.
    """
    marker = ReadState.objects.filter(conversation=OuterRef("pk"), user=client)
    conversations = Conversation.objects.select_related("provider", "client").annotate(
        last_read=Subquery(marker.values("last_read_id")[:1])
    )
    return get_object_or_404(conversations, pk=pk, client=client)


class Opened(TypedDict):
    conversation: "WithAnnotations[Conversation, Marker]"
    bubbles: "list[Bubble]"
    older: bool


def opened_conversation_defined(client: User, pk: int, size: int = PAGE_SIZE) -> Opened:
    """
    What chat.sql.opened_conversation answers in one statement, by the rules' definitions:
    the client's conversation to read, and its newest page of bubbles.
    """
    conversation = get_conversation_to_read(client, pk)
    page, older = thread_page(conversation, size=size)
    return Opened(conversation=conversation, bubbles=page, older=older)


def conversation_for(client: User, provider: Provider) -> Conversation | None:
    return Conversation.objects.filter(client=client, provider=provider).first()


@dataclass(frozen=True)
class MessageFrame:
    """
    Everything a message shows but its words: who wrote it, when, which appointment it is
    about. It holds none of the words, so the template may keep its drawing (`{% message %}`).
    """

    pk: int
    mine: bool
    sender: str
    sent_at: datetime
    zone: ZoneInfo
    appointment_id: int | None
    appointment_start: datetime | None

    @property
    def at(self) -> str:
        """For <time datetime>: UTC, whole seconds."""
        return html_datetime(self.sent_at)

    @property
    def when(self) -> str:
        return self._local(self.sent_at)

    @property
    def about(self) -> str:
        """When the appointment it is about is, or ""."""
        return "" if self.appointment_start is None else self._local(self.appointment_start)

    def _local(self, instant: datetime) -> str:
        return format_date(instant.astimezone(self.zone), "D j M, g:i A")


@dataclass(frozen=True)
class Bubble:
    """A message as the client's thread shows it, as plain values: its frame and its words."""

    pk: int
    mine: bool
    sender: str
    sent_at: datetime
    zone: ZoneInfo
    text: str
    appointment_id: int | None = None
    appointment_start: datetime | None = None

    @cached_property
    def frame(self) -> MessageFrame:
        return MessageFrame(
            self.pk,
            self.mine,
            self.sender,
            self.sent_at,
            self.zone,
            self.appointment_id,
            self.appointment_start,
        )


def _sender(conversation: Conversation, sender_id: int, name: str) -> str:
    if sender_id == conversation.client_id:
        return "You"
    provider = conversation.provider
    if sender_id != provider.user_id:
        name += f", for {provider.display_name}"  # office staff answer for the provider
    return name


def bubbles(messages: list[Message], conversation: Conversation) -> list[Bubble]:
    """Bubbles for messages in hand (one just sent, say); thread_page reads a page of them."""
    zone = timezone.get_current_timezone()
    return [
        Bubble(
            message.pk,
            message.sender_id == conversation.client_id,
            _sender(conversation, message.sender_id, message.sender.get_full_name()),
            message.created_at,
            zone,
            message.body,
            message.appointment_id,
            message.appointment.start if message.appointment else None,
        )
        for message in messages
    ]


def _paged(
    messages: QuerySet, *, before: int | None, after: int | None, size: int = PAGE_SIZE
) -> tuple[list, bool]:
    """
    A page of a thread: up to PAGE_SIZE, oldest first: the newest ones, or those before or
    after an id; and whether older ones remain (not asked with `after`). The (conversation,
    id) index serves each.
    """
    if after is not None:
        return list(messages.filter(id__gt=after).order_by("id")[:size]), False
    if before is not None:
        messages = messages.filter(id__lt=before)
    newest_first = list(messages.order_by("-id")[: size + 1])
    return list(reversed(newest_first[:size])), len(newest_first) > size


def message_page(
    conversation: Conversation, *, before: int | None = None, after: int | None = None
) -> tuple[list[Message], bool]:
    """A page of the thread (see _paged) as messages: the admin's thread."""
    messages = conversation.messages.select_related("sender", "appointment")
    return _paged(messages, before=before, after=after)


# What a bubble shows of a message, as values: building fifty messages with their senders and
# appointments as models took longer than the database takes to answer.
THREAD_COLUMNS = (
    "pk",
    "sender_id",
    "sender__name",
    "sender__email",
    "created_at",
    "body",
    "appointment_id",
    "appointment__start",
)


def thread_bubbles(conversation: Conversation, rows) -> list[Bubble]:
    """Bubbles from rows of THREAD_COLUMNS, in the viewer's zone."""
    zone = timezone.get_current_timezone()
    return [
        Bubble(
            pk,
            sender_id == conversation.client_id,
            _sender(conversation, sender_id, User.full_name_of(name, email)),
            created_at,
            zone,
            body,
            appointment_id,
            start,
        )
        for pk, sender_id, name, email, created_at, body, appointment_id, start in rows
    ]


def thread_page(
    conversation: Conversation,
    *,
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> tuple[list[Bubble], bool]:
    """The same page (see _paged) as the client's bubbles."""
    rows, more = _paged(
        conversation.messages.values_list(*THREAD_COLUMNS), before=before, after=after, size=size
    )
    return thread_bubbles(conversation, rows), more

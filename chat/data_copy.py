"""The chat's part of a client's copy of their data (portal.data_copy): their messages."""

from chat.models import Message
from portal.data_copy import Files, csv_file, local_time
from portal.models import User


def files(client: User) -> Files:
    """messages.csv: every message of the client's conversations, oldest first, one query."""
    messages = (
        Message.objects.filter(conversation__client=client)
        .select_related("conversation__provider", "sender")
        .order_by("conversation__provider__display_name", "conversation_id", "id")
    )
    rows = (
        (
            message.conversation.provider.full_name,
            local_time(message.created_at, client),
            "you" if message.sender_id == client.pk else message.sender.get_full_name(),
            message.body,
        )
        for message in messages
    )
    yield "messages.csv", csv_file(["conversation with", "sent at", "from", "message"], rows)

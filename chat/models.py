from django.conf import settings
from django.db import models
from django.utils import timezone

MAX_MESSAGE_LENGTH = 2000


class Conversation(models.Model):
    """One thread between a client and one of their providers (and the provider's office)."""

    provider = models.ForeignKey(
        "appointments.Provider", on_delete=models.PROTECT, related_name="conversations"
    )
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="conversations"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "client"], name="conversation_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.client} and {self.provider}"

    def involves(self, user) -> bool:
        return user.pk == self.client_id or self.provider.is_worked_by(user)


class Message(models.Model):
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="chat_messages"
    )
    body = models.TextField(max_length=MAX_MESSAGE_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)
    # Made by the sender's form; a double click or a retry sends the same key.
    client_key = models.UUIDField()
    # The appointment the message is about, when it was started from one.
    appointment = models.ForeignKey(
        "appointments.Appointment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["conversation", "id"], name="message_conversation_id"),
            models.Index(fields=["sender", "created_at"], name="message_sender_created"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["sender", "client_key"], name="message_idempotent"),
        ]

    def __str__(self) -> str:
        return f"Message {self.pk} in {self.conversation_id}"


class ReadState(models.Model):
    """How far one participant has read a conversation, and when they were last emailed."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="read_states"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_read_states"
    )
    last_read_id = models.BigIntegerField(default=0)
    last_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "user"], name="read_state_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} read {self.conversation_id} to {self.last_read_id}"

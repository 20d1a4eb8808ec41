"""
The access log's tables. They are models of the `portal` app (imported by `portal.models`), so
every app may record into them and none depends on another to do so.

Rows are only ever inserted: triggers (migration 0006) refuse UPDATE and DELETE on
PostgreSQL and SQLite alike, and TRUNCATE on PostgreSQL. The database itself numbers and
chains each entry as it is inserted (see `portal.audit.chain`).
"""

from django.conf import settings
from django.db import models


class Role(models.TextChoices):
    CLIENT = "client", "client"
    PROVIDER = "provider", "provider"
    OFFICE_STAFF = "office_staff", "office staff"
    ADMINISTRATOR = "administrator", "administrator"
    OPERATOR = "operator", "operator"
    SYSTEM = "system", "system"


class Action(models.TextChoices):
    VIEWED = "viewed", "viewed"
    LISTED = "listed", "listed"
    VIEWED_HISTORY = "viewed_history", "viewed the history"
    CHANGED = "changed", "changed"
    ADMIN_ACTION = "admin_action", "ran an admin action"
    EXPORTED = "exported", "exported"
    PRINTED = "printed", "printed"
    EMAILED = "emailed", "emailed"
    DATA_COPY = "data_copy", "downloaded a copy of the data"


class AuditEntry(models.Model):
    # Null only between the INSERT and its trigger, which always fills it: the entry's place in
    # the chain, contiguous from 1.
    seq = models.BigIntegerField(unique=True, null=True, editable=False)
    at = models.DateTimeField()
    # The log outlives the accounts it names: no constraint, so deleting a user neither
    # cascades into the log nor is refused by it.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_role = models.CharField(max_length=20, choices=Role.choices)
    practice_id = models.BigIntegerField(null=True)  # a Provider's pk; portal knows no apps
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    address = models.CharField(max_length=45, blank=True)
    # Canonical JSON as text (never jsonb, which reorders keys): the bytes that are MAC'd and
    # hashed. The columns above repeat what it says, for the indexes; the verifier checks
    # that they agree.
    body = models.TextField()
    mac = models.BinaryField(max_length=32)
    prev_hash = models.BinaryField(max_length=32, null=True, editable=False)
    hash = models.BinaryField(max_length=32, null=True, editable=False)

    class Meta:
        db_table = "audit_entry"
        verbose_name = "access log entry"
        verbose_name_plural = "access log entries"
        indexes = [
            # The client's own page and exports by client, newest first, keyset-paged.
            models.Index(fields=["client", "at", "id"], name="audit_entry_client_at"),
            # Exports and the admin's filter by staff member.
            models.Index(fields=["actor", "at", "id"], name="audit_entry_actor_at"),
            # The admin's date filter and pruning.
            models.Index(fields=["at"], name="audit_entry_at"),
        ]

    def __str__(self) -> str:
        return f"access log entry {self.seq}"


class AuditHead(models.Model):
    """
    One row (id 1): the last entry's seq and hash, and the seq up to which entries have been
    pruned. Every insert locks it, so writers queue here and the chain cannot fork. Created
    by the first insert.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.BinaryField(max_length=32)
    prune_floor = models.BigIntegerField(default=0)

    class Meta:
        db_table = "audit_head"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="audit_head_one_row")]

    def __str__(self) -> str:
        return f"access log head at {self.seq}"


class AuditCheckpoint(models.Model):
    """A signed statement that the chain up to `seq` ended in `hash`: later rewrites show."""

    class Kind(models.TextChoices):
        VERIFIED = "verified", "verified"
        PRUNE = "prune", "prune"

    seq = models.BigIntegerField()
    hash = models.BinaryField(max_length=32)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    made_at = models.DateTimeField()
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=64)

    class Meta:
        db_table = "audit_checkpoint"
        indexes = [models.Index(fields=["seq"], name="audit_checkpoint_seq")]

    def __str__(self) -> str:
        return f"{self.kind} checkpoint at {self.seq}"

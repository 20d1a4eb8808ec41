import uuid
import zoneinfo
from datetime import datetime, timedelta

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from portal.formatting import name_words
from portal.timezones import default_time_zone_name, validate_time_zone_name


def normalize_email_address(email: str) -> str:
    # The whole address is folded: people type their email in any case and expect
    # Alice@Example.com and alice@example.com to be one account.
    return (email or "").strip().lower()


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        return self.get(email=normalize_email_address(username))

    def _create_user(self, email: str, password: str | None, **extra_fields) -> "User":
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=normalize_email_address(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields) -> "User":
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields) -> "User":
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        if not extra_fields["is_staff"] or not extra_fields["is_superuser"]:
            raise ValueError("A superuser must have is_staff and is_superuser set.")
        return self._create_user(email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """Everyone who signs in: clients, providers, staff and ops. The email is the username."""

    email = models.EmailField("email address", max_length=254, unique=True)
    name = models.CharField("name", max_length=150, blank=True)
    # Blank until the person or their browser chooses; until then the site default applies.
    time_zone = models.CharField(
        "time zone", max_length=64, blank=True, validators=[validate_time_zone_name]
    )
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        "staff status", default=False, help_text="Can sign in to the admin."
    )
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        verbose_name = "user"
        verbose_name_plural = "users"
        constraints = [
            # The backstop for the case-insensitive rule, whatever path a row comes in by.
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.name or self.email

    def clean(self) -> None:
        super().clean()
        self.email = normalize_email_address(self.email)

    def save(self, *args, **kwargs) -> None:
        self.email = normalize_email_address(self.email)
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        return self.full_name_of(self.name, self.email)

    @staticmethod
    def full_name_of(name: str, email: str) -> str:
        """The name people see: their own, else their email (from values, without a user)."""
        return name or email

    def get_short_name(self) -> str:
        """The first name, for greetings: "Maya" from "Dr. Maya Okafor"."""
        return (name_words(self.name) or self.name.split() or [self.email])[0]

    @property
    def time_zone_name(self) -> str:
        return self.time_zone or default_time_zone_name()

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone_name)


class Email(models.Model):
    """
    One email, rendered as the change it reports stood (in its transaction, or by the task that
    change queued), then delivered by the worker. Its key is the Message-ID, and the status
    moves only by conditional updates, so that two workers, or a retry after a crash, never
    send it twice.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=64, help_text="The template it was written from.")
    to = models.EmailField(max_length=254)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    html = models.TextField(blank=True)
    # [{"filename": ..., "content": text, "mimetype": ...}]: calendar files are text.
    attachments = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status, default=Status.QUEUED)
    created_at = models.DateTimeField(default=timezone.now)
    # Not worth sending after this instant (a reminder, once its appointment has started).
    send_before = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # Failures are retried for EMAIL_RETRY_HOURS from the first attempt.
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Whose record the email is about, for the access log when it is sent: the client, the
    # practice (a Provider's pk; portal knows no apps) and the records ("app.model:pk"). None
    # for an email about no client (a provider's own account, a stranger's invitation).
    client = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    practice_id = models.BigIntegerField(null=True, blank=True)
    about = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="email_due")]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to} ({self.get_status_display().lower()})"


class ThrottleSlot(models.Model):
    """
    One of the places a throttle gives each key in its window: a throttle of 3 an hour gives a
    key slots 0, 1 and 2. A request takes a slot that is free or last used before the window;
    when there is none, the key is at its limit. So no window of that length ever holds more
    than the limit, and taking a slot is an insert refereed by the unique constraint, or a
    conditional update of a stale one: two requests at once can never take the same place.
    """

    scope = models.CharField(max_length=32)
    # A keyed hash of the email, address or account, so the table holds no one's details.
    key = models.CharField(max_length=64)
    slot = models.PositiveSmallIntegerField()
    used_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key", "slot"], name="throttle_slot_unique"),
        ]
        # For pruning the slots that no longer count.
        indexes = [models.Index(fields=["scope", "used_at"], name="throttle_slot_used")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key[:8]}… slot {self.slot} at {self.used_at:%Y-%m-%d %H:%M:%S}"


# A worker's lane not seen for this long has stopped, whatever its row says: its process died.
WORKER_LEASE = timedelta(seconds=60)


class WorkerLaneQuerySet(models.QuerySet["WorkerLane"]):
    def alive(self, now: datetime) -> "WorkerLaneQuerySet":
        """Seen within the lease, and not stopped: WorkerLane.is_alive, in the database."""
        return self.filter(seen_at__gte=now - WORKER_LEASE, stopped_at__isnull=True)


class WorkerLane(models.Model):
    """
    One lane of a running worker process (`manage.py db_worker`): the queues it takes tasks
    from, when it was last seen alive, and the task in its hands, set in the transaction that
    claims it. A running task that no lane seen within the lease holds was lost with its
    worker, and is given again (portal/worker.py).
    """

    id = models.CharField(primary_key=True, max_length=64)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField("process id")
    queues = models.CharField(max_length=255)
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField("last seen")
    stopped_at = models.DateTimeField(null=True, blank=True)
    task = models.OneToOneField(
        "django_tasks_database.DBTaskResult",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="holder",
        help_text="The task in its hands.",
    )
    task_started_at = models.DateTimeField(null=True, blank=True)

    objects = WorkerLaneQuerySet.as_manager()

    class Meta:
        ordering = ["-seen_at"]
        verbose_name = "worker"
        verbose_name_plural = "workers"

    def __str__(self) -> str:
        return self.id

    def is_alive(self, now: datetime) -> bool:
        return self.stopped_at is None and self.seen_at >= now - WORKER_LEASE


class TaskRecord(models.Model):
    """
    What the worker adds to django-tasks-db's row of a task when it is not simply run once: how
    often it was retried after a passing failure, and given again after its worker died. The
    reason for the latest is on the task's row (its exception and traceback), where the admin
    shows it.
    """

    task = models.OneToOneField(
        "django_tasks_database.DBTaskResult",
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="record",
    )
    retries = models.PositiveIntegerField(default=0)
    given_again = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "task record"

    def __str__(self) -> str:
        return f"{self.retries} retries, given again {self.given_again} times"


class UserSession(AbstractBaseSession):
    """
    Django's database session with the columns the account's "Signed-in sessions" page lists.
    They are copied from the session's own data each time Django saves it (portal.sessions), so
    keeping them costs no write of its own.
    """

    # Pages name a session by this, never by its key: the key is the cookie that signs someone
    # in. An HMAC of the key under SECRET_KEY, so it is fixed for the session's life and cannot
    # be turned back into the key.
    handle = models.CharField(max_length=64, unique=True)
    # No database constraint: a session saved just after its user was deleted must not fail
    # the request that saves it. Deleting a user still deletes its sessions (the ORM cascades).
    user = models.ForeignKey(
        "portal.User",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        db_constraint=False,
        related_name="sessions",
    )
    device = models.CharField(max_length=80, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    signed_in_at = models.DateTimeField(null=True, blank=True)
    last_active_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractBaseSession.Meta):
        verbose_name = "signed-in session"
        verbose_name_plural = "signed-in sessions"
        indexes = [models.Index(fields=["user", "expire_date"], name="session_user_expiry")]

    @classmethod
    def get_session_store_class(cls):
        from portal.sessions import SessionStore

        return SessionStore


class DataCopyQuerySet(models.QuerySet["DataCopy"]):
    def live(self, now: datetime) -> "DataCopyQuerySet":
        """Built, not yet downloaded, and inside its 24 hours: a link that still works."""
        return self.filter(state=DataCopy.State.READY, expires_at__gt=now)


class DataCopy(models.Model):
    """
    One copy of a client's data ("Download your data"): asked for by the client or, from the
    admin, by their practice; built by the worker into a ZIP; sent to the client as a link
    that works once, for 24 hours, only for them.

    The ZIP is kept in this row, not in a file. Every app server and worker shares the
    database and nothing else, so no file has to travel between machines, and none can ever
    be served by the static or media files' route. It commits with the state that says it is
    ready, and its bytes are blanked once downloaded or expired. One client's data is small.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Being prepared"
        READY = "ready", "Ready: emailed"
        USED = "used", "Downloaded"

    user = models.ForeignKey("portal.User", on_delete=models.CASCADE, related_name="data_copies")
    requested_by = models.ForeignKey(
        "portal.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=8, choices=State, default=State.PENDING)
    built_at = models.DateTimeField(null=True, blank=True)
    content = models.BinaryField(default=b"", editable=False)
    # SHA-256 of the link's token, in hex: the token itself is only ever in the email. Null
    # until built: unique, and many copies are pending or built at once.
    token_hash = models.CharField(  # noqa: DJ001
        max_length=64, unique=True, null=True, editable=False
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)

    objects = DataCopyQuerySet.as_manager()

    class Meta:
        verbose_name = "copy of a client's data"
        verbose_name_plural = "copies of clients' data"
        constraints = [
            # The backstop for "one at a time": a second request while one is being built
            # is refused by the database, however many arrive at once.
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(state="pending"),
                name="data_copy_one_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"copy of {self.user} ({self.get_state_display().lower()})"


# The access log's tables belong to this app; they are defined beside the rest of the log.
from portal.audit.models import AuditCheckpoint, AuditEntry, AuditHead  # noqa: E402, F401

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from appointments.recurrence import MAX_SESSIONS, Repeat, Rule, occurrence, rule_dates
from appointments.slots import BookingRules
from policies.decisions import Action, AppointmentFacts, Decision, decide
from policies.terms import MAX_GRACE_PERIOD, MAX_NOTICE, Late, Money, PolicyTerms
from portal.formatting import DAY, DAY_AND_TIME, format_date
from portal.inputs import duration_validators
from portal.timezones import validate_time_zone_name

# Booking rules' bounds. Notice longer than the longest horizon (730 days) means nothing can be
# booked; a buffer longer than a day is a day off, which date overrides say better.
MAX_MIN_NOTICE = timedelta(days=365)
MAX_BUFFER = timedelta(days=1)
# The longest session a type may last. Reads of the sessions that overlap a window start
# this far before it, so the indexes on (provider, start) and (client, start) bound both ends
# of the read instead of every earlier session of that provider or client.
LONGEST_SESSION = timedelta(hours=8)
LONGEST_SESSION_MINUTES = LONGEST_SESSION // timedelta(minutes=1)


class WaitlistMode(models.TextChoices):
    ALL = "all", "To everyone who matches at once; the first to confirm gets it"
    ONE = "one", "To one client at a time, in the order they joined"


class Provider(models.Model):
    """A practitioner clients book with. Their availability is in their own wall-clock time."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="provider_profile"
    )
    display_name = models.CharField(max_length=150)
    title = models.CharField(
        "title and credentials", max_length=150, blank=True, help_text="For example: LMFT, PhD."
    )
    time_zone = models.CharField(
        max_length=64,
        validators=[validate_time_zone_name],
        help_text="Your weekly hours and date overrides are read in this zone.",
    )
    office_email = models.EmailField(blank=True)
    office_phone = models.CharField(max_length=40, blank=True)
    uses_chat = models.BooleanField(
        "uses Chat", default=True, help_text="Clients can message you in the portal."
    )
    bio = models.TextField(blank=True, max_length=2000)
    # What clients read on their "Access to your record" page: with this off, an entry names
    # the staff member's role at the practice instead of the person.
    show_staff_names_to_clients = models.BooleanField(
        "show staff names to clients",
        default=True,
        help_text="Clients' access log names who at your practice opened their record; "
        "when off it gives their role only (provider, office staff).",
    )

    # Booking rules.
    min_notice = models.DurationField(
        "minimum notice",
        default=timedelta(hours=2),
        validators=duration_validators(MAX_MIN_NOTICE),
        help_text="How soon before a start time clients can still book it (at most 365 days, "
        "8,760 hours).",
    )
    horizon_days = models.PositiveSmallIntegerField(
        "books how far ahead (days)",
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(730)],
    )
    buffer_before = models.DurationField(
        default=timedelta(0),
        validators=duration_validators(MAX_BUFFER),
        help_text="Kept free before each appointment (at most a day, 24 hours).",
    )
    buffer_after = models.DurationField(
        default=timedelta(0),
        validators=duration_validators(MAX_BUFFER),
        help_text="Kept free after each appointment (at most a day, 24 hours).",
    )
    slot_step_minutes = models.PositiveSmallIntegerField(
        "minutes between start times",
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(240)],
    )

    # The waitlist: off until the practice turns it on.
    waitlist_enabled = models.BooleanField(
        "waitlist",
        default=False,
        help_text="Clients may join your waitlist, and are offered times that open up.",
    )
    waitlist_mode = models.CharField(
        "offer freed times",
        max_length=8,
        choices=WaitlistMode.choices,
        default=WaitlistMode.ALL,
    )
    waitlist_hold_minutes = models.PositiveSmallIntegerField(
        "hold (minutes, one at a time)",
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(24 * 60)],
        help_text="How long each client holds an offered time before the next is asked.",
    )

    clients = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="CareTeamMember",
        related_name="care_team",
        blank=True,
    )

    class Meta:
        ordering = ["display_name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_notice__gte=timedelta(0))
                & Q(buffer_before__gte=timedelta(0))
                & Q(buffer_after__gte=timedelta(0)),
                name="provider_durations_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(min_notice__lte=MAX_MIN_NOTICE)
                & Q(buffer_before__lte=MAX_BUFFER)
                & Q(buffer_after__lte=MAX_BUFFER),
                name="provider_durations_bounded",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.display_name}, {self.title}" if self.title else self.display_name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def is_worked_by(self, user) -> bool:
        """The provider themselves, or someone on their office staff."""
        return user.pk == self.user_id or self.office_staff.filter(user_id=user.pk).exists()

    @property
    def booking_rules(self) -> BookingRules:
        return BookingRules(
            min_notice=self.min_notice,
            horizon=timedelta(days=self.horizon_days),
            buffer_before=self.buffer_before,
            buffer_after=self.buffer_after,
            step=timedelta(minutes=self.slot_step_minutes),
        )


class OfficeStaff(models.Model):
    """Someone who works in a provider's office and may act and reply on the provider's behalf."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="office_staff")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_roles"
    )

    class Meta:
        verbose_name = "office staff member"
        constraints = [
            models.UniqueConstraint(fields=["provider", "user"], name="office_staff_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} for {self.provider}"


class CareTeamMember(models.Model):
    """A client may book with, and message, the providers on their care team."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE)
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="care_team_memberships"
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "care team member"
        constraints = [
            models.UniqueConstraint(fields=["provider", "client"], name="care_team_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.client} with {self.provider}"


class CareTeamInvitation(models.Model):
    """
    A provider's invitation to an email address. Nobody joins a care team, and no provider
    learns a name, until the person behind the address accepts.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Invited, not yet accepted"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(max_length=254)
    # What the provider typed; used only to start a new account's profile.
    name = models.CharField(max_length=150, blank=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="care_team_invitations",
        help_text="Who accepted it.",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Adding the same address again re-uses the pending invitation.
            models.UniqueConstraint(
                fields=["provider", "email"],
                condition=Q(status="pending"),
                name="care_team_invitation_pending_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} invited by {self.provider}"

    def expires_at(self) -> datetime:
        return self.created_at + settings.INVITATION_MAX_AGE

    def is_open(self, now: datetime) -> bool:
        return self.status == self.Status.PENDING and now < self.expires_at()


class Modality(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    VIDEO = "video", "Video"
    PHONE = "phone", "Phone"


class AppointmentType(models.Model):
    provider = models.ForeignKey(
        Provider, on_delete=models.CASCADE, related_name="appointment_types"
    )
    name = models.CharField(max_length=120)
    duration_minutes = models.PositiveSmallIntegerField(
        "duration (minutes)",
        validators=[MinValueValidator(5), MaxValueValidator(LONGEST_SESSION_MINUTES)],
    )
    modality = models.CharField(max_length=16, choices=Modality.choices, default=Modality.VIDEO)
    address = models.TextField(blank=True, help_text="Where in-person sessions take place.")
    video_link = models.URLField(blank=True, help_text="The link clients join video sessions by.")
    bookable_online = models.BooleanField("clients may book online", default=True)
    is_active = models.BooleanField("active", default=True)
    waitlist_enabled = models.BooleanField(
        "waitlist",
        default=True,
        help_text="Clients may join the waitlist for this kind (when your waitlist is on).",
    )
    clients_may_repeat = models.BooleanField(
        "clients may book it weekly",
        default=False,
        help_text="Clients may book a series of these online: every week, every 2 weeks, "
        "every 4 weeks or every month.",
    )

    class Meta:
        ordering = ["provider", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=5), name="appointment_type_duration_min"
            ),
            models.CheckConstraint(
                condition=Q(duration_minutes__lte=LONGEST_SESSION_MINUTES),
                name="appointment_type_duration_max",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.duration_minutes} min)"

    def clean(self) -> None:
        if self.modality == Modality.IN_PERSON and not self.address.strip():
            raise ValidationError({"address": "In-person sessions need an address."})
        if self.modality == Modality.VIDEO and not self.video_link:
            raise ValidationError({"video_link": "Video sessions need a link."})

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class WeeklyHours(models.Model):
    """One stretch of working hours on a weekday; a day may have several."""

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="weekly_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField()
    end = models.TimeField()

    class Meta:
        verbose_name = "weekly hours"
        verbose_name_plural = "weekly hours"
        ordering = ["weekday", "start"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="weekly_hours_order"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"

    def clean(self) -> None:
        if self.start and self.end and self.end <= self.start:
            raise ValidationError({"end": "The end must be after the start, on the same day."})


class DateOverride(models.Model):
    """
    Hours for one date that replace the weekly hours. A row without times makes the date a
    day off; several rows with times give the hours of that date.
    """

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="overrides")
    date = models.DateField()
    start = models.TimeField(
        null=True, blank=True, help_text="Leave both times empty for a day off."
    )
    end = models.TimeField(null=True, blank=True)

    class Meta:
        ordering = ["date", "start"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(start__isnull=True) & Q(end__isnull=True))
                | (Q(start__isnull=False) & Q(end__isnull=False) & Q(end__gt=F("start"))),
                name="date_override_times",
            ),
        ]

    def __str__(self) -> str:
        if self.start is None:
            return f"{self.date:%Y-%m-%d} day off"
        return f"{self.date:%Y-%m-%d} {self.start:%H:%M}–{self.end:%H:%M}"

    def clean(self) -> None:
        if (self.start is None) != (self.end is None):
            raise ValidationError("Give both a start and an end, or neither for a day off.")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValidationError({"end": "The end must be after the start, on the same day."})


LATE_CHOICES = [(Late.REFUSE, "Refuse it online"), (Late.FEE, "Allow it, with a fee")]
NOT_NEGATIVE = [MinValueValidator(Decimal("0"))]


class Policy(models.Model):
    """
    A provider's cancellation and rescheduling policy. The row without an appointment type is
    the provider's policy; a row with a type overrides it for that type. The rows are the
    practice's, here beside its providers and types; what the terms mean, and the decision
    they lead to, is `policies` (pure: it knows nothing of these rows).
    """

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="policies")
    appointment_type = models.ForeignKey(
        AppointmentType,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="policies",
        help_text="Leave empty for the policy of all your appointment types.",
    )
    clients_may_cancel = models.BooleanField("clients may cancel online", default=True)
    clients_may_reschedule = models.BooleanField("clients may reschedule online", default=True)
    cancel_notice = models.DurationField(
        default=timedelta(hours=24),
        validators=duration_validators(MAX_NOTICE),
        help_text="How long before the session online cancellation is free (at most 365 days, "
        "8,760 hours).",
    )
    reschedule_notice = models.DurationField(
        default=timedelta(hours=24),
        validators=duration_validators(MAX_NOTICE),
        help_text="At most 365 days.",
    )
    late_cancel = models.CharField(
        "inside the cancel notice", max_length=8, choices=LATE_CHOICES, default=Late.REFUSE
    )
    late_cancel_fee = models.DecimalField(
        default=Decimal("0"), max_digits=8, decimal_places=2, validators=NOT_NEGATIVE
    )
    late_reschedule = models.CharField(
        "inside the reschedule notice", max_length=8, choices=LATE_CHOICES, default=Late.REFUSE
    )
    late_reschedule_fee = models.DecimalField(
        default=Decimal("0"), max_digits=8, decimal_places=2, validators=NOT_NEGATIVE
    )
    no_show_fee = models.DecimalField(
        null=True, blank=True, max_digits=8, decimal_places=2, validators=NOT_NEGATIVE
    )
    currency = models.CharField(
        max_length=3,
        default="USD",
        validators=[RegexValidator(r"^[A-Z]{3}$", "Use a three-letter code such as USD.")],
    )
    max_reschedules = models.PositiveSmallIntegerField(
        "most reschedules per appointment",
        null=True,
        blank=True,
        help_text="How many times a client may move one appointment online. Empty: no limit.",
    )
    grace_period = models.DurationField(
        default=timedelta(minutes=10),
        validators=duration_validators(MAX_GRACE_PERIOD),
        help_text="Right after booking, clients may cancel or move for free this long, "
        "whatever the notice (at most 30 days).",
    )
    text = models.TextField(
        "policy in plain words",
        blank=True,
        max_length=2000,
        help_text="Shown to clients when they book, cancel or reschedule.",
    )

    class Meta:
        verbose_name = "cancellation and rescheduling policy"
        verbose_name_plural = "cancellation and rescheduling policies"
        constraints = [
            models.UniqueConstraint(
                fields=["provider"],
                condition=Q(appointment_type__isnull=True),
                name="policy_one_per_provider",
            ),
            models.UniqueConstraint(
                fields=["provider", "appointment_type"],
                condition=Q(appointment_type__isnull=False),
                name="policy_one_per_type",
            ),
            models.CheckConstraint(
                condition=Q(cancel_notice__gte=timedelta(0))
                & Q(reschedule_notice__gte=timedelta(0))
                & Q(grace_period__gte=timedelta(0)),
                name="policy_durations_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(cancel_notice__lte=MAX_NOTICE)
                & Q(reschedule_notice__lte=MAX_NOTICE)
                & Q(grace_period__lte=MAX_GRACE_PERIOD),
                name="policy_durations_bounded",
            ),
        ]

    def __str__(self) -> str:
        scope = self.appointment_type.name if self.appointment_type else "all appointments"
        return f"{self.provider} – {scope}"

    def clean(self) -> None:
        errors = {}
        if self.appointment_type and self.appointment_type.provider_id != self.provider_id:
            errors["appointment_type"] = "Pick one of this provider's appointment types."
        if self.late_cancel == Late.FEE and not self.late_cancel_fee:
            errors["late_cancel_fee"] = "Give the fee, or choose to refuse late cancellations."
        if self.late_reschedule == Late.FEE and not self.late_reschedule_fee:
            errors["late_reschedule_fee"] = "Give the fee, or choose to refuse late reschedules."
        if errors:
            raise ValidationError(errors)

    def terms(self) -> PolicyTerms:
        return PolicyTerms(
            clients_may_cancel=self.clients_may_cancel,
            clients_may_reschedule=self.clients_may_reschedule,
            cancel_notice=self.cancel_notice,
            reschedule_notice=self.reschedule_notice,
            late_cancel=self.late_cancel,
            late_cancel_fee=self.late_cancel_fee,
            late_reschedule=self.late_reschedule,
            late_reschedule_fee=self.late_reschedule_fee,
            currency=self.currency,
            max_reschedules=self.max_reschedules,
            grace_period=self.grace_period,
            no_show_fee=self.no_show_fee,
            text=self.text,
        )


class AppointmentQuerySet(models.QuerySet["Appointment"]):
    def active(self):
        return self.filter(status=Appointment.Status.SCHEDULED)

    def to_come(self, now):
        """Scheduled and not yet started: what a change to a series still reaches."""
        return self.active().filter(start__gt=now)

    def overlapping(self, start, end):
        # No session is longer than LONGEST_SESSION, so `end > start` implies this lower
        # bound on start; stated, it lets the (provider, start) and (client, start) indexes
        # read only the window.
        return self.filter(start__lt=end, end__gt=start, start__gt=start - LONGEST_SESSION)


def new_calendar_uid() -> str:
    """
    A new appointment's calendar UID: random, so that no other database (another
    installation, a staging copy, a restored backup), whose row ids run the same way, gives it.
    Migrations name this function: keep it.
    """
    return f"appointment-{uuid.uuid4()}@{settings.PORTAL_CALENDAR_DOMAIN}"


class Appointment(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        CANCELLED = "cancelled", "Cancelled"
        COMPLETED = "completed", "Completed"
        NO_SHOW = "no_show", "No-show"

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="appointments")
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointments"
    )
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.PROTECT, related_name="appointments"
    )
    # UTC instants; shown in each viewer's own zone.
    start = models.DateTimeField()
    end = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    created_at = models.DateTimeField(default=timezone.now)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # Calendar files carry this so that a change replaces the same entry in the calendar.
    ics_sequence = models.PositiveIntegerField(default=0)
    # The entry's UID in every calendar file, stored so that it never changes. Appointments
    # made before it was stored keep the `appointment-<pk>@<domain>` they had (migration 0016).
    # NULL (not "": the previous release's INSERTs leave the column out) only for one that
    # release booked during the deploy; see calendar.py. 300: "appointment-", a 19-digit id,
    # "@" and the longest domain name.
    calendar_uid = models.CharField(  # noqa: DJ001
        max_length=300, null=True, editable=False, default=new_calendar_uid
    )
    # The policy terms in force when this was booked: later edits to the policy don't apply.
    policy_terms = models.JSONField(default=dict, blank=True)
    client_reschedules = models.PositiveSmallIntegerField(
        default=0, help_text="How many times the client has moved this appointment online."
    )
    # A session of a recurring series, and the instant the series' rule gave it: the calendar's
    # RECURRENCE-ID, which stays when the session alone is moved.
    series = models.ForeignKey(
        "AppointmentSeries",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sessions",
    )
    occurrence = models.DateTimeField(null=True, blank=True, editable=False)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["start"]
        indexes = [
            models.Index(fields=["provider", "start"], name="appointment_provider_start"),
            models.Index(fields=["client", "start"], name="appointment_client_start"),
            # The cancelled list, from either end, without stepping over everything kept.
            models.Index(
                fields=["client", "start"],
                condition=Q(status="cancelled"),
                name="appointment_client_cancelled",
            ),
            # A series' sessions in order.
            models.Index(
                fields=["series", "occurrence"],
                condition=Q(series__isnull=False),
                name="appointment_series",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="appointment_order"),
            # Partial only so that PostgreSQL builds a unique index (reads go on while it is
            # built on a big table) rather than a constraint (ALTER TABLE, which stops them);
            # NULLs never clash either way.
            models.UniqueConstraint(
                fields=["calendar_uid"],
                condition=Q(calendar_uid__isnull=False),
                name="appointment_calendar_uid",
            ),
            # On PostgreSQL, migration 0002 adds exclusion constraints: no two scheduled
            # appointments of one provider, or of one client, overlap in time.
        ]

    def __str__(self) -> str:
        start = format_date(self.start.astimezone(self.provider.zone), DAY_AND_TIME)
        return f"{self.appointment_type.name} with {self.provider}, {start}"

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    @property
    def terms(self) -> PolicyTerms:
        return PolicyTerms.from_json(self.policy_terms)

    @property
    def facts(self) -> AppointmentFacts:
        return AppointmentFacts(
            start=self.start,
            booked_at=self.created_at,
            client_reschedules=self.client_reschedules,
            is_scheduled=self.status == self.Status.SCHEDULED,
        )

    def decide(self, action: Action, now: datetime, zone: ZoneInfo | None = None) -> Decision:
        """What the client may do with this appointment now, in words for `zone`."""
        return decide(self.terms, action, self.facts, now, zone=zone or self.client.zone)


def new_series_uid() -> str:
    """A series' calendar UID, random for the reason new_calendar_uid gives."""
    return f"series-{uuid.uuid4()}@{settings.PORTAL_CALENDAR_DOMAIN}"


class AppointmentSeries(models.Model):
    """
    Sessions that repeat: one client, provider and type, a first date and a wall-clock time in
    `time_zone`, a rule (appointments.recurrence.Repeat) and an end: `count` sessions, none after
    `until`, or neither (open-ended: booked `horizon_days` ahead by `extend_series`). Each
    session is an ordinary Appointment that knows its series and the instant the rule gave it.
    """

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="series")
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="appointment_series"
    )
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.PROTECT, related_name="series"
    )
    repeat = models.CharField(max_length=8, choices=Repeat.choices)
    # The clock the sessions keep: the provider's when it was booked.
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone_name])
    first_date = models.DateField()
    start_time = models.TimeField()
    count = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        # A series is booked with two sessions or more; what continues one may have fewer.
        validators=[MinValueValidator(1), MaxValueValidator(MAX_SESSIONS)],
    )
    until = models.DateField(null=True, blank=True)
    # Ended (by the client or the practice): no session of the rule on or after this date.
    stopped_from = models.DateField(null=True, blank=True)
    # The rule's last date already booked (or found taken and left out); an open-ended series
    # goes on from the date after it.
    booked_through = models.DateField()
    # The terms of the policy its sessions are booked under, as agreed when it was booked.
    policy_terms = models.JSONField(default=dict, blank=True)
    # The series this one continues, when the practice changed the time from a date.
    previous = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="continued_by"
    )
    created_at = models.DateTimeField(default=timezone.now)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    calendar_uid = models.CharField(max_length=300, unique=True, default=new_series_uid)
    ics_sequence = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "recurring series"
        verbose_name_plural = "recurring series"
        ordering = ["-created_at"]
        indexes = [
            # The open-ended series extend_series keeps booked ahead.
            models.Index(
                fields=["booked_through"],
                condition=Q(count__isnull=True, until__isnull=True, stopped_from__isnull=True),
                name="series_open_ended",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(count__isnull=True) | Q(until__isnull=True), name="series_one_end"
            ),
            models.CheckConstraint(
                condition=Q(count__isnull=True) | Q(count__gte=1, count__lte=MAX_SESSIONS),
                name="series_count_bounded",
            ),
            models.CheckConstraint(
                condition=Q(until__isnull=True) | Q(until__gte=F("first_date")),
                name="series_until_after_first",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.appointment_type.name} with {self.provider}, {self.describe()}"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def rule(self) -> Rule:
        return Rule(self.repeat, self.first_date, count=self.count, until=self.until)

    @property
    def is_open_ended(self) -> bool:
        return self.count is None and self.until is None

    @property
    def last_date(self) -> date | None:
        """The rule's last date, where it has one (ended, or booked with an end)."""
        if self.stopped_from is not None:
            dates = self.dates(before=self.stopped_from)
            return dates[-1] if dates else None
        if self.is_open_ended:
            return None
        return self.dates()[-1]

    def dates(
        self, *, after: date | None = None, through: date | None = None, before: date | None = None
    ) -> list[date]:
        """The rule's dates, as it stands (an end included), after and up to the dates given."""
        last = self.stopped_from - timedelta(days=1) if self.stopped_from else None
        if before is not None:
            last = min(last, before - timedelta(days=1)) if last else before - timedelta(days=1)
        if through is not None:
            last = min(last, through) if last else through
        if last is None and self.is_open_ended:
            raise ValueError("an open-ended series is read up to a date")
        return rule_dates(
            self.first_date,
            self.repeat,
            count=self.count,
            until=self.until,
            through=last,
            after=after,
        )

    def occurrence(self, day: date) -> datetime:
        return occurrence(day, self.start_time, self.zone)

    def describe(self) -> str:
        """'Every week on Tuesday at 5:00 PM CST, 10 sessions'"""
        at = format_date(self.occurrence(self.first_date).astimezone(self.zone), "g:i A T")
        words = f"{self.rule.describe()} at {at}"
        if self.count is not None:
            return f"{words}, {self.count} sessions"
        if self.until is not None:
            return f"{words}, until {format_date(self.until, DAY)}"
        return words


class SeriesChange(models.Model):
    """
    What happened to a series as a whole (booked, ended, its time changed): the entry its one
    email is written from, as AppointmentEvent is for a single appointment. Each session's own
    history says what happened to it.
    """

    class Kind(models.TextChoices):
        BOOKED = "booked", "Booked"
        ENDED = "ended", "Ended"
        CHANGED = "changed", "Time changed"
        EXTENDED = "extended", "Booked further ahead, some dates left out"

    series = models.ForeignKey(AppointmentSeries, on_delete=models.PROTECT, related_name="changes")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    # What the email reports: the dates booked, ended or moved, fees charged.
    details = models.JSONField(default=dict, blank=True)
    # The series' calendar SEQUENCE the change gave it.
    ics_sequence = models.PositiveIntegerField(default=0)
    email_seed = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["at"], name="series_change_at")]

    def __str__(self) -> str:
        return (
            f"{self.get_kind_display()}, {format_date(timezone.localtime(self.at), DAY_AND_TIME)}"
        )

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("Series changes are never edited.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Series changes are never deleted.")


class FeeQuerySet(models.QuerySet["Fee"]):
    def of_client(self, client) -> "FeeQuerySet":
        """A client's fees: what every page and total of a client's fees reads."""
        return self.filter(client=client)

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        for fee in objs:
            if fee.client_id is None:
                fee.client_id = fee.appointment.client_id
        return super().bulk_create(objs, *args, **kwargs)


class Fee(models.Model):
    """A charge the policy allows; recorded only, never collected by the portal."""

    class Kind(models.TextChoices):
        LATE_CANCEL = "late_cancel", "Late cancellation"
        LATE_RESCHEDULE = "late_reschedule", "Late reschedule"
        NO_SHOW = "no_show", "No-show"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        WAIVED = "waived", "Waived"
        PAID = "paid", "Paid"

    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="fees")
    # The appointment's client, kept on the fee so that a client's fees are read by their own
    # index: through the appointments, the read grew with the client's whole history. An
    # appointment never changes hands; FeeQuerySet and save() fill it from the appointment.
    client = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        db_index=False,  # fee_client_created leads with it
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.DecimalField(max_digits=8, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)

    objects = FeeQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # A client's fees newest first, a page at a time from either end, and their sums.
            models.Index(fields=["client", "created_at"], name="fee_client_created"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="fee_amount_positive"),
            # One cancellation and one no-show per appointment, so at most one such fee each.
            models.UniqueConstraint(
                fields=["appointment", "kind"],
                condition=Q(kind__in=["late_cancel", "no_show"]),
                name="fee_once_per_appointment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.money} ({self.get_status_display()})"

    def save(self, *args, **kwargs) -> None:
        if self.client_id is None and self.appointment_id is not None:
            self.client_id = self.appointment.client_id
        super().save(*args, **kwargs)

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)


class AppointmentEvent(models.Model):
    """The append-only history of an appointment: what happened, when, and who did it."""

    class Kind(models.TextChoices):
        BOOKED = "booked", "Booked"
        RESCHEDULED = "rescheduled", "Rescheduled"
        CANCELLED = "cancelled", "Cancelled"
        FEE_APPLIED = "fee_applied", "Fee applied"
        FEE_WAIVED = "fee_waived", "Fee waived"
        FEE_PAID = "fee_paid", "Fee marked paid"
        COMPLETED = "completed", "Completed"
        NO_SHOW = "no_show", "No-show"

    appointment = models.ForeignKey(Appointment, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    old_start = models.DateTimeField(null=True, blank=True)
    new_start = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True, max_length=1000)
    details = models.JSONField(default=dict, blank=True)
    # A change the client and the provider are emailed about (booked, moved, cancelled): the
    # calendar SEQUENCE it gave the appointment. The worker writes the emails from the entry,
    # as the change stood, however the appointment changed after it. None for other entries.
    ics_sequence = models.PositiveIntegerField(null=True, blank=True, editable=False)
    # Random, set when the entry is recorded: the keys (Message-IDs) of its emails derive from
    # it, so they are the same however often the worker writes them, and no other database's
    # entry of the same id gives them. None for entries recorded before it (emails.py).
    email_seed = models.UUIDField(null=True, editable=False, default=uuid.uuid4)

    class Meta:
        ordering = ["at", "pk"]
        verbose_name = "history entry"
        verbose_name_plural = "history"
        indexes = [
            # The recent changes whose emails may be lost (requeue_lost_work), and only those.
            models.Index(
                fields=["at"], condition=Q(ics_sequence__isnull=False), name="event_emailed_at"
            ),
        ]
        constraints = [
            # Partial: entries recorded before the seed have none, and PostgreSQL builds a
            # unique index, not an ALTER TABLE constraint (see appointment_calendar_uid).
            models.UniqueConstraint(
                fields=["email_seed"],
                condition=Q(email_seed__isnull=False),
                name="event_email_seed",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_kind_display()}, {format_date(timezone.localtime(self.at), DAY_AND_TIME)}"
        )

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("History entries are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("History entries are never deleted.")


class Reminder(models.Model):
    """
    A reminder of one kind for an appointment, claimed once and queued as an email. It counts
    as sent only when the mail server accepted that email.
    """

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=16, help_text="For example 24h: sent a day ahead.")
    queued_at = models.DateTimeField(default=timezone.now)
    email = models.OneToOneField(
        "portal.Email", on_delete=models.SET_NULL, null=True, blank=True, related_name="reminder"
    )

    class Meta:
        constraints = [
            # The claim two copies of send_reminders race for: only one insert can win.
            models.UniqueConstraint(fields=["appointment", "kind"], name="reminder_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} reminder for {self.appointment_id}"

    @property
    def sent_at(self) -> datetime | None:
        return self.email.sent_at if self.email else None


class PartOfDay(models.TextChoices):
    """Parts of the day on the client's own clock; a time belongs to the part it starts in."""

    MORNING = "morning", "Morning (before noon)"
    AFTERNOON = "afternoon", "Afternoon (noon to 5 PM)"
    EVENING = "evening", "Evening (from 5 PM)"


class WaitlistEntry(models.Model):
    """
    A client waiting for a time with a provider: any time, or chosen weekdays and parts of the
    day on the client's own clock, until an optional date. With `move_up`, an earlier time for
    that appointment instead of a new booking.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Waiting"
        ENDED = "ended", "Ended"

    class Ended(models.TextChoices):
        BOOKED = "booked", "Booked from an offer"
        LEFT = "left", "Left the waitlist"
        PASSED = "passed", "Its last date passed"
        GONE = "gone", "The appointment to move changed"

    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="waitlist_entries"
    )
    provider = models.ForeignKey(
        Provider, on_delete=models.CASCADE, related_name="waitlist_entries"
    )
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.CASCADE, related_name="waitlist_entries"
    )
    # Empty lists mean any: weekdays as Weekday numbers, parts as PartOfDay values.
    weekdays = models.JSONField(default=list, blank=True)
    parts = models.JSONField(default=list, blank=True)
    not_after = models.DateField(
        null=True, blank=True, help_text="The last date that suits, on the client's clock."
    )
    move_up = models.ForeignKey(
        Appointment,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="waitlist_entries",
        help_text="Offers move this appointment earlier instead of booking a new one.",
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    ended_reason = models.CharField(max_length=8, choices=Ended.choices, blank=True)
    joined_at = models.DateTimeField(default=timezone.now)
    # Its live offers, soonest first, where a read sets them (waitlist.current_entries_with_offers).
    live: "list[WaitlistOffer]"
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["joined_at", "pk"]
        verbose_name = "waitlist entry"
        verbose_name_plural = "waitlist"
        indexes = [
            models.Index(fields=["provider", "status", "joined_at"], name="waitlist_provider"),
        ]
        constraints = [
            # Joining again edits the entry: two at once cannot both be active.
            models.UniqueConstraint(
                fields=["client", "provider", "appointment_type"],
                condition=Q(status="active"),
                name="waitlist_entry_active_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client} for {self.appointment_type.name} with {self.provider}"

    @property
    def any_time(self) -> bool:
        return not self.weekdays and not self.parts

    @property
    def wishes(self) -> str:
        """Any time · Tue, Thu · mornings · until Wed 3 Dec"""
        days = ", ".join(Weekday(d).label[:3] for d in sorted(self.weekdays)) or "Any day"
        parts = ", ".join(PartOfDay(p).name.lower() + "s" for p in self.parts)
        words = ["Any time"] if self.any_time else [days, parts or "any time of day"]
        if self.not_after:
            words.append(f"until {self.not_after:%a} {self.not_after.day} {self.not_after:%b}")
        return " · ".join(words)


class WaitlistOpening(models.Model):
    """A stretch of a provider's schedule that opened (a cancel, a move, new hours)."""

    class Cause(models.TextChoices):
        CANCELLED = "cancelled", "An appointment was cancelled"
        MOVED = "moved", "An appointment was moved"
        HOURS = "hours", "Hours were added"
        HOLD_ENDED = "hold_ended", "An offer's hold ended or was declined"

    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="openings")
    start = models.DateTimeField()
    end = models.DateTimeField()
    cause = models.CharField(max_length=12, choices=Cause.choices)
    opened_at = models.DateTimeField(default=timezone.now)
    # Set by the offer run that made its offers: a second run (a task given again after its
    # worker died) finds it set and offers nothing more.
    offered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["opened_at"], name="waitlist_opening_at")]

    def __str__(self) -> str:
        opened = format_date(timezone.localtime(self.opened_at), DAY_AND_TIME)
        return f"{self.get_cause_display()}, {opened}"


class WaitlistOffer(models.Model):
    """One freed start time offered to one entry, by a link that only its client can use."""

    class Status(models.TextChoices):
        OFFERED = "offered", "Offered"
        CLAIMED = "claimed", "Claimed"
        EXPIRED = "expired", "Expired"
        LOST = "lost", "Taken by someone else"
        DECLINED = "declined", "Declined"

    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="offers")
    opening = models.ForeignKey(WaitlistOpening, on_delete=models.CASCADE, related_name="offers")
    start = models.DateTimeField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OFFERED)
    # A random, unguessable part of the link; the client must also be signed in as themselves.
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    # One at a time: the hold ends here and the next client is asked.
    expires_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    appointment = models.ForeignKey(
        Appointment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="waitlist_offers",
        help_text="The booking (or the moved appointment) this offer became.",
    )

    class Meta:
        ordering = ["start", "pk"]
        constraints = [
            # The same start is offered to an entry once, however often its time reopens.
            models.UniqueConstraint(fields=["entry", "start"], name="waitlist_offer_once"),
        ]

    def __str__(self) -> str:
        start = format_date(timezone.localtime(self.start), DAY_AND_TIME)
        return f"{start} to {self.entry.client}"

    def is_live(self, now: datetime) -> bool:
        return self.status == self.Status.OFFERED and (
            self.expires_at is None or now < self.expires_at
        )

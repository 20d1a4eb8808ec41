from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from policies.terms import MAX_GRACE_PERIOD, MAX_NOTICE, Late, PolicyTerms
from portal.inputs import duration_validators

LATE_CHOICES = [(Late.REFUSE, "Refuse it online"), (Late.FEE, "Allow it, with a fee")]
NOT_NEGATIVE = [MinValueValidator(Decimal("0"))]


class Policy(models.Model):
    """
    A provider's cancellation and rescheduling policy. The row without an appointment type is
    the provider's policy; a row with a type overrides it for that type.
    """

    provider = models.ForeignKey(
        "appointments.Provider", on_delete=models.CASCADE, related_name="policies"
    )
    appointment_type = models.ForeignKey(
        "appointments.AppointmentType",
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
        help_text="How long before the session online cancellation is free (HH:MM:SS; "
        "“1 00:00:00” is one day; at most 365 days).",
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

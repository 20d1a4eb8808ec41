"""
How a policy is edited in the admin, with a preview of what clients read (the pure decision of
`policies`, for an example session). The practice workspace (appointments/admin.py) registers
it, limited to the practice's own policies.
"""

from datetime import time, timedelta

from django.contrib import admin
from django.db import models
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from appointments.models import Policy
from policies.decisions import Action, AppointmentFacts, decide
from portal.forms import HoursAndMinutesField
from portal.timezones import local_instant


class PolicyAdmin(admin.ModelAdmin):
    formfield_overrides = {models.DurationField: {"form_class": HoursAndMinutesField}}
    list_display = ["applies_to", "provider", "clients_may_cancel", "clients_may_reschedule"]
    readonly_fields = ["what_clients_read"]
    fieldsets = [
        (None, {"fields": ["provider", "appointment_type", "text"]}),
        (
            "Cancelling",
            {"fields": ["clients_may_cancel", "cancel_notice", ("late_cancel", "late_cancel_fee")]},
        ),
        (
            "Rescheduling",
            {
                "fields": [
                    "clients_may_reschedule",
                    "reschedule_notice",
                    ("late_reschedule", "late_reschedule_fee"),
                    "max_reschedules",
                ]
            },
        ),
        ("Both", {"fields": ["grace_period", "currency", "no_show_fee"]}),
        ("What clients read", {"fields": ["what_clients_read"]}),
    ]

    @admin.display(description="applies to", ordering="appointment_type__name")
    def applies_to(self, policy: Policy) -> str:
        return policy.appointment_type.name if policy.appointment_type else "All appointment types"

    @admin.display(description="example")
    def what_clients_read(self, policy):
        # The saved policy: after a refused edit the form's copy holds the refused values,
        # a notice of millions of days, say, that no date can be moved by.
        saved = Policy.objects.filter(pk=policy.pk).first() if policy and policy.pk else None
        if saved is None:
            return "Save the policy to see what clients read, with an example deadline."
        return policy_preview(saved)

    def get_list_filter(self, request):
        return ["provider"] if request.user.is_superuser else []


def policy_preview(policy: Policy) -> SafeString:
    """What clients would read, for an example session next week at 10:00 the provider's time."""
    zone = policy.provider.zone
    now = timezone.now()
    day = (now + timedelta(days=7)).astimezone(zone).date()
    start = local_instant(day, time(10), zone) or now + timedelta(days=7)
    facts = AppointmentFacts(start=start, booked_at=now - timedelta(days=7))
    terms = policy.terms()
    lines = [
        decide(terms, Action.CANCEL, facts, now, zone=zone).reason,
        decide(terms, Action.RESCHEDULE, facts, now, zone=zone).reason,
    ]
    late = start - max(terms.cancel_notice, timedelta(hours=1)) + timedelta(minutes=30)
    lines.append(decide(terms, Action.CANCEL, facts, min(late, start), zone=zone).reason)
    return format_html(
        "<p>For a session on <strong>{}</strong>, booked a week earlier:</p>"
        "<ul><li>today: {}</li><li>today: {}</li><li>shortly before the session: {}</li></ul>"
        "<p>Policy text clients read:</p><blockquote>{}</blockquote>",
        f"{start.astimezone(zone):%A %-d %B, %-I:%M %p %Z}",
        *lines,
        terms.text or "(none yet: add it above)",
    )

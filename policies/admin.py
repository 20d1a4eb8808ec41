from django.contrib import admin

from appointments.admin import policy_preview
from policies.models import Policy
from portal.admin_scoping import PracticeScopedMixin


@admin.register(Policy)
class PolicyAdmin(PracticeScopedMixin, admin.ModelAdmin):
    list_display = ["provider", "appointment_type", "clients_may_cancel", "clients_may_reschedule"]
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

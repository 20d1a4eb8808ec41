from django.contrib import admin

from policies.models import Policy


@admin.register(Policy)
class PolicyAdmin(admin.ModelAdmin):
    list_display = ["provider", "appointment_type", "clients_may_cancel", "clients_may_reschedule"]
    list_filter = ["provider"]
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
    ]

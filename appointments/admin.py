from django import forms
from django.contrib import admin

from appointments.models import (
    Appointment,
    AppointmentEvent,
    AppointmentType,
    CareTeamMember,
    DateOverride,
    Provider,
    WeeklyHours,
)
from portal.forms import time_zone_choices


class AppointmentTypeInline(admin.StackedInline):
    model = AppointmentType
    extra = 0
    fields = [
        ("name", "duration_minutes"),
        "modality",
        "address",
        "video_link",
        ("bookable_online", "is_active"),
    ]


class WeeklyHoursInline(admin.TabularInline):
    model = WeeklyHours
    extra = 0


class DateOverrideInline(admin.TabularInline):
    model = DateOverride
    extra = 0


class CareTeamInline(admin.TabularInline):
    model = CareTeamMember
    extra = 0
    autocomplete_fields = ["client"]
    readonly_fields = ["added_at"]
    verbose_name = "client on the care team"
    verbose_name_plural = "care team (clients who may book)"


class ProviderForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        choices=time_zone_choices,
        help_text="Your weekly hours and date overrides are read in this zone.",
    )

    class Meta:
        model = Provider
        fields = "__all__"  # noqa: DJ007  (the admin's fieldsets choose what shows)


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    form = ProviderForm
    list_display = ["display_name", "title", "time_zone", "uses_chat", "office_email"]
    search_fields = ["display_name", "user__email"]
    autocomplete_fields = ["user"]
    fieldsets = [
        (None, {"fields": ["user", ("display_name", "title"), "time_zone", "bio"]}),
        ("Office contact", {"fields": [("office_email", "office_phone"), "uses_chat"]}),
        (
            "Booking rules",
            {
                "fields": [
                    ("min_notice", "horizon_days"),
                    ("buffer_before", "buffer_after"),
                    "slot_step_minutes",
                ]
            },
        ),
    ]
    inlines = [AppointmentTypeInline, WeeklyHoursInline, DateOverrideInline, CareTeamInline]


class AppointmentEventInline(admin.TabularInline):
    model = AppointmentEvent
    extra = 0
    can_delete = False
    fields = ["at", "kind", "actor", "old_start", "new_start", "reason", "details"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ["start", "end", "client", "provider", "appointment_type", "status"]
    list_filter = ["status", "provider"]
    date_hierarchy = "start"
    search_fields = ["client__email", "client__name", "provider__display_name"]
    list_select_related = ["client", "provider", "appointment_type"]
    readonly_fields = [
        "provider",
        "client",
        "appointment_type",
        "start",
        "end",
        "status",
        "created_at",
        "booked_by",
        "ics_sequence",
    ]
    inlines = [AppointmentEventInline]

    def has_add_permission(self, request):
        # Appointments are made through the booking service, which guards the schedule.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

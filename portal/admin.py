from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.http import HttpRequest
from django.utils import timezone
from django_tasks_db.admin import DBTaskResultAdmin
from django_tasks_db.models import DBTaskResult

from portal.forms import time_zone_choices
from portal.http import SignedInRequest
from portal.mail import SENDING_TOO_LONG, email_send_again
from portal.models import Email, User
from portal.two_factor import second_factor_reset


class PortalUserChangeForm(UserChangeForm):
    time_zone = forms.TypedChoiceField(
        choices=lambda: [("", "Not chosen yet (the site default)"), *time_zone_choices()],
        required=False,
    )

    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


class PortalUserCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("email", "name")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    actions = ["reset_second_factor"]
    form = PortalUserChangeForm
    add_form = PortalUserCreationForm
    ordering = ("email",)
    list_display = ("email", "name", "time_zone", "is_staff", "is_active", "last_login")
    list_filter = ("is_staff", "is_superuser", "is_active", "groups")
    search_fields = ("email", "name")
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal", {"fields": ("name", "time_zone")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )

    @admin.action(
        description="Reset the second step (lost phone): email a new set-up link",
        permissions=["reset_second_factor"],
    )
    def reset_second_factor(self, request: SignedInRequest, queryset) -> None:
        for user in queryset:
            second_factor_reset(user=user, actor=request.user)
        count = queryset.count()
        self.message_user(
            request,
            f"{count} second step{'s' if count != 1 else ''} reset; "
            "staff were emailed a link to set up a new app.",
            messages.SUCCESS,
        )

    def has_reset_second_factor_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "name", "usable_password", "password1", "password2"),
            },
        ),
    )


# --- Background work: superusers only -------------------------------------------------------


class SuperuserOnlyMixin:
    """Outgoing email and the task queue are the operator's; practice staff never see them."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_operate_permission(self, request: HttpRequest) -> bool:
        """Sending again or running again: not editing, so no change permission is needed."""
        return request.user.is_active and request.user.is_superuser


EMAIL_FIELDS = (
    "kind",
    "to",
    "subject",
    "state",
    "attempts",
    "created_at",
    "first_attempt_at",
    "last_attempt_at",
    "next_attempt_at",
    "send_before",
    "sent_at",
    "last_error",
    "key",
)


@admin.register(Email)
class EmailAdmin(SuperuserOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "kind", "to", "state", "attempts", "last_attempt_at", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["to"]
    date_hierarchy = "created_at"
    actions = ["send_again"]
    # The content stays out of sight: reset and invitation links are in it.
    fields = EMAIL_FIELDS
    readonly_fields = EMAIL_FIELDS

    @admin.display(description="status", ordering="status")
    def state(self, email: Email) -> str:
        if email.status == Email.Status.QUEUED and email.attempts:
            when = timezone.localtime(email.next_attempt_at)
            return f"Retrying: attempt {email.attempts + 1} at {when:%d %b %H:%M %Z}"
        if email.status == Email.Status.SENDING and (
            email.last_attempt_at is None
            or timezone.now() - email.last_attempt_at > SENDING_TOO_LONG
        ):
            return "Outcome unknown: it may have arrived"
        if email.status == Email.Status.FAILED:
            return "Failed: not retried"
        return email.get_status_display()

    @admin.action(description="Send the selected emails again now", permissions=["operate"])
    def send_again(self, request: HttpRequest, queryset) -> None:
        queued = sum(email_send_again(email=email, actor=request.user) for email in queryset)
        skipped = queryset.count() - queued
        self.message_user(
            request,
            f"{queued} email{'s' if queued != 1 else ''} queued to send now"
            + (f"; {skipped} already sent, left alone." if skipped else "."),
            messages.SUCCESS if queued else messages.WARNING,
        )


admin.site.unregister(DBTaskResult)


@admin.register(DBTaskResult)
class TaskResultAdmin(SuperuserOnlyMixin, DBTaskResultAdmin):
    actions = ["run_again"]

    @admin.action(description="Run the selected tasks again", permissions=["operate"])
    def run_again(self, request: HttpRequest, queryset) -> None:
        for result in queryset:
            result.task.using(run_after=None).enqueue(
                *result.args_kwargs["args"], **result.args_kwargs["kwargs"]
            )
        self.message_user(request, f"{queryset.count()} queued to run again.", messages.SUCCESS)

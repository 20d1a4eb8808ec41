from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.http import HttpRequest
from django.utils import timezone
from django_tasks_db.admin import DBTaskResultAdmin
from django_tasks_db.models import DBTaskResult

from portal import data_copy
from portal.audit.admin_pages import LogsClientRecords, Target
from portal.audit.requests import record_name
from portal.client_address import client_address
from portal.forms import time_zone_choices
from portal.http import SignedInRequest
from portal.mail import SENDING_TOO_LONG, email_send_again
from portal.models import Email, User, WorkerLane, normalize_email_address
from portal.two_factor import second_factor_reset
from portal.worker import lost_tasks, task_state


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
    # Each row is a person's own account: the client is the user. It belongs to no one
    # practice (a client may be on several care teams), so no practice is named.
    audit_client = ""
    actions = ["reset_second_factor", "email_data_copy"]
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

    @admin.action(
        description="Email the client a copy of their data", permissions=["email_data_copy"]
    )
    def email_data_copy(self, request: SignedInRequest, queryset) -> None:
        email_data_copies(self, request, list(queryset))

    def has_email_data_copy_permission(self, request: HttpRequest) -> bool:
        # Which clients: the service asks, for each one, whether they are on the care team.
        return request.user.is_staff

    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "name", "usable_password", "password1", "password2"),
            },
        ),
    )


def email_data_copies(model_admin: admin.ModelAdmin, request: SignedInRequest, clients) -> None:
    """
    The admin's "Email the client a copy of their data": built and emailed to each client, as
    if they had asked, and logged in their access list. The practice never receives the copy:
    what it holds (messages with other providers, who saw the record) is the client's.
    """
    queued, refused = [], []
    for client in clients:
        try:
            data_copy.data_copy_request(
                client=client, actor=request.user, address=client_address(request) or ""
            )
        except PermissionError:
            refused.append(f"{client.email} (not a client of your practice)")
        except data_copy.AlreadyBuilding:
            refused.append(f"{client.email} (a copy is already being prepared)")
        else:
            queued.append(client.email)
    if queued:
        model_admin.message_user(
            request,
            f"A copy of their data is being prepared and will be emailed to {', '.join(queued)}.",
            messages.SUCCESS,
        )
    if refused:
        model_admin.message_user(request, f"Not sent to {'; '.join(refused)}.", messages.ERROR)


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
class EmailAdmin(SuperuserOnlyMixin, LogsClientRecords, admin.ModelAdmin):
    # Whose email it is: the account with the address it went to, if there is one. An email
    # keeps the address, not the account, so the page's recipients are looked up together,
    # in one query for the whole page.
    audit_client = "to"

    def audit_targets(self, request: HttpRequest, objects) -> list[Target]:
        emails = list(objects)
        return _recipients(emails, [(email.to, record_name(email)) for email in emails])

    def audit_targets_of_queryset(self, request: HttpRequest, queryset) -> list[Target]:
        rows = list(queryset.order_by().values_list("pk", "to"))
        return _recipients(rows, [(to, f"portal.email:{pk}") for pk, to in rows])

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


def _recipients(found: list, sent: list[tuple[str, str]]) -> list[Target]:
    if not found:
        return []
    # Accounts keep their address folded to lower case (normalize_email_address).
    addresses = {normalize_email_address(to) for to, _record in sent}
    accounts = dict(User.objects.filter(email__in=addresses).values_list("email", "pk"))
    return [(accounts.get(normalize_email_address(to)), None, record) for to, record in sent]


admin.site.unregister(DBTaskResult)


class WhatHappenedFilter(admin.SimpleListFilter):
    title = "what happened"
    parameter_name = "happened"

    def lookups(self, request, model_admin):
        return [
            ("retried", "Retried after a passing failure"),
            ("given-again", "Given again after its worker stopped"),
            ("lost", "Lost: its worker stopped answering"),
            ("failed", "Failed for good"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "retried":
            return queryset.filter(record__retries__gt=0)
        if self.value() == "given-again":
            return queryset.filter(record__given_again__gt=0)
        if self.value() == "lost":
            return queryset.filter(pk__in=lost_tasks(timezone.now()).values("pk"))
        if self.value() == "failed":
            return queryset.filter(status="FAILED")
        return queryset


@admin.register(DBTaskResult)
class TaskResultAdmin(SuperuserOnlyMixin, DBTaskResultAdmin):
    actions = ["run_again"]
    list_display = ("task_name", "state", "queue_name", "enqueued_at", "finished_at")  # type: ignore[assignment]
    list_filter = (WhatHappenedFilter, "status", "queue_name")  # type: ignore[assignment]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("record", "holder")

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return ["state", *super().get_readonly_fields(request, obj)]

    @admin.display(description="what became of it")
    def state(self, task: DBTaskResult) -> str:
        return task_state(task, timezone.now())

    @admin.action(description="Run the selected tasks again", permissions=["operate"])
    def run_again(self, request: HttpRequest, queryset) -> None:
        for result in queryset:
            result.task.using(run_after=None).enqueue(
                *result.args_kwargs["args"], **result.args_kwargs["kwargs"]
            )
        self.message_user(request, f"{queryset.count()} queued to run again.", messages.SUCCESS)


@admin.register(WorkerLane)
class WorkerLaneAdmin(SuperuserOnlyMixin, admin.ModelAdmin):
    """The worker processes' lanes: which are alive, and what each has in hand."""

    list_display = ["id", "queues", "alive", "seen_at", "started_at", "task"]
    list_select_related = ["task"]
    fields = readonly_fields = (
        "id",
        "hostname",
        "pid",
        "queues",
        "alive",
        "started_at",
        "seen_at",
        "stopped_at",
        "task",
        "task_started_at",
    )

    @admin.display(description="alive", boolean=True)
    def alive(self, lane: WorkerLane) -> bool:
        return lane.is_alive(timezone.now())


from portal import admin_audit  # noqa: E402, F401  (the access log's read-only admin)

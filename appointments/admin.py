"""The provider's workspace: their profile, hours, types, clients, schedule and fees."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from appointments import admin_week, selectors, services
from appointments.forms import CancelForm, RescheduleForm, SlotForm
from appointments.models import (
    Appointment,
    AppointmentEvent,
    AppointmentType,
    CareTeamInvitation,
    CareTeamMember,
    DateOverride,
    Fee,
    OfficeStaff,
    Policy,
    Provider,
    WaitlistEntry,
    WaitlistOffer,
    WeeklyHours,
)
from appointments.picker import chosen_day, day_page, slots_by_day
from appointments.policy_admin import PolicyAdmin
from appointments.practice import (
    PracticeScopedMixin,
    not_found,
    practice_providers,
    practice_zone,
)
from appointments.series_admin import SeriesFilter, session_number
from policies.terms import Money
from portal.admin import email_data_copies
from portal.admin_inlines import LabelledTabularInline
from portal.admin_site import PortalAdminSite
from portal.audit.admin_pages import LogsClientRecords
from portal.audit.models import Action
from portal.audit.requests import record_name
from portal.formatting import dated_time_range, hours_and_minutes, when
from portal.forms import HoursAndMinutesField, first_error, time_zone_choices


class ProviderForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        choices=time_zone_choices,
        help_text="Your weekly hours and date overrides are read in this zone.",
    )

    class Meta:
        model = Provider
        fields = "__all__"  # noqa: DJ007  (the admin's fieldsets choose what shows)


class AppointmentTypeInline(PracticeScopedMixin, admin.StackedInline):
    model = AppointmentType
    extra = 0
    fields = [
        ("name", "duration_minutes"),
        "modality",
        "address",
        "video_link",
        ("bookable_online", "is_active", "waitlist_enabled"),
    ]


class WeeklyHoursInline(PracticeScopedMixin, LabelledTabularInline):
    model = WeeklyHours
    extra = 0


class DateOverrideInline(PracticeScopedMixin, LabelledTabularInline):
    model = DateOverride
    extra = 0


class CareTeamInline(PracticeScopedMixin, LabelledTabularInline):
    model = CareTeamMember
    # The profile lists the practice's clients: the access log says so, per client.
    audit_client, audit_practice = "client", "provider"
    extra = 0
    fields = ["client", "added_at"]
    readonly_fields = ["client", "added_at"]
    verbose_name = "client on the care team"
    verbose_name_plural = "care team (clients who may book and message you)"

    def has_add_permission(self, request, obj=None):
        return False  # clients are added by email under Clients, which invites them


class OfficeStaffInline(LabelledTabularInline):
    model = OfficeStaff
    extra = 0
    autocomplete_fields = ["user"]

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    has_add_permission = has_change_permission = has_delete_permission = has_view_permission


@admin.register(Provider)
class ProviderAdmin(PracticeScopedMixin, admin.ModelAdmin):
    provider_lookup = ""
    form = ProviderForm
    formfield_overrides = {models.DurationField: {"form_class": HoursAndMinutesField}}
    list_display = ["display_name", "title", "time_zone", "uses_chat", "office_email"]
    search_fields = ["display_name", "user__email"]
    fieldsets = [
        (None, {"fields": ["user", ("display_name", "title"), "time_zone", "bio"]}),
        ("Office contact", {"fields": [("office_email", "office_phone"), "uses_chat"]}),
        ("Access log", {"fields": ["show_staff_names_to_clients"]}),
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
        ("Waitlist", {"fields": ["waitlist_enabled", ("waitlist_mode", "waitlist_hold_minutes")]}),
    ]
    inlines = [
        AppointmentTypeInline,
        WeeklyHoursInline,
        DateOverrideInline,
        CareTeamInline,
        OfficeStaffInline,
    ]

    def get_autocomplete_fields(self, request):
        return ["user"] if request.user.is_superuser else []

    def get_readonly_fields(self, request, obj=None):
        return [] if request.user.is_superuser else ["user"]

    def has_add_permission(self, request):
        # Providers are made with `manage.py create_provider`, which also invites them.
        return request.user.is_superuser and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)


class ClientInviteForm(forms.Form):
    provider = forms.ModelChoiceField(queryset=Provider.objects.none())
    email = forms.EmailField(label="Client's email", max_length=254)
    name = forms.CharField(label="Client's name", max_length=150, required=False)

    def __init__(self, *args, providers, **kwargs):
        super().__init__(*args, **kwargs)
        provider_field = self.fields["provider"]
        assert isinstance(provider_field, forms.ModelChoiceField)
        provider_field.queryset = providers
        only = list(providers[:2])
        if len(only) == 1:
            self.fields["provider"].initial = only[0].pk


@admin.register(CareTeamMember)
class CareTeamMemberAdmin(PracticeScopedMixin, admin.ModelAdmin):
    """The practice's clients. Adding one by email invites them if they are new."""

    audit_client, audit_practice = "client", "provider"

    list_display = ["client_name", "client_email", "provider", "added_at"]
    list_select_related = ["client", "provider"]
    actions = ["email_data_copy"]
    search_fields = ["client__name", "client__email"]
    readonly_fields = ["provider", "client", "added_at"]

    @admin.display(description="client", ordering="client__name")
    def client_name(self, member):
        return member.client.get_full_name()

    @admin.display(description="email", ordering="client__email")
    def client_email(self, member):
        return member.client.email

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Email the client a copy of their data", permissions=["view"])
    def email_data_copy(self, request, queryset) -> None:
        email_data_copies(self, request, list({member.client for member in queryset}))

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            return redirect("admin:index")
        providers = practice_providers(request.user)
        form = ClientInviteForm(
            request.POST if request.method == "POST" else None, providers=providers
        )
        if request.method == "POST" and form.is_valid():
            try:
                result = services.care_team_invite(**form.cleaned_data, actor=request.user)
            except services.ChangeError as error:
                form.add_error("email", str(error))
            else:
                return self.invited(request, result)
        context = {
            **self.admin_site.each_context(request),
            "title": "Add a client",
            "opts": self.opts,
            "form": form,
        }
        return TemplateResponse(request, "admin/appointments/add_client.html", context)

    def invited(self, request: HttpRequest, result: services.CareTeamResult) -> HttpResponse:
        if result.member is not None:
            messages.success(request, f"Already a client: {result.member.client.email}.")
            return redirect("admin:appointments_careteammember_changelist")
        assert result.invitation is not None
        # The same answer whether or not the address has an account: no name, no hint.
        messages.success(
            request,
            f"An invitation was sent to {result.invitation.email}. They join your clients when "
            "they accept it.",
        )
        return redirect("admin:appointments_careteaminvitation_changelist")


@admin.register(CareTeamInvitation)
class CareTeamInvitationAdmin(PracticeScopedMixin, admin.ModelAdmin):
    """Who was invited and whether they answered; a name only once they accept."""

    # An invitation names a client once accepted; before, an address nobody answered for.
    audit_client, audit_practice = "client", "provider"

    list_display = ["email", "provider", "status", "created_at", "responded_at"]
    list_filter = ["status"]
    search_fields = ["email"]
    list_select_related = ["provider"]
    fields = readonly_fields = (
        "email",
        "provider",
        "status",
        "invited_by",
        "created_at",
        "responded_at",
    )

    def has_add_permission(self, request):
        return False  # invited from Clients > Add, which goes through the service

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Withdrawing an invitation nobody answered yet; answers stay on record.
        pending = obj is None or obj.status == CareTeamInvitation.Status.PENDING
        return pending and super().has_delete_permission(request, obj)


class WhenFilter(admin.SimpleListFilter):
    """Today, this week, from today on (the default) or past, in the viewer's own zone."""

    title = "when"
    parameter_name = "when"
    default = "upcoming"

    def lookups(self, request, model_admin):
        return [
            ("today", "Today"),
            ("week", "This week"),
            ("upcoming", "From today on"),
            ("past", "Past"),
            ("all", "All"),
        ]

    def choices(self, changelist):
        current = self.value() or self.default
        for value, label in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        today = timezone.localdate()
        day_start = datetime.combine(today, time.min, tzinfo=timezone.get_current_timezone())
        choice = self.value() or self.default
        if choice == "today":
            return queryset.filter(start__gte=day_start, start__lt=day_start + timedelta(days=1))
        if choice == "week":
            monday = day_start - timedelta(days=today.weekday())
            return queryset.filter(start__gte=monday, start__lt=monday + timedelta(days=7))
        if choice == "upcoming":
            return queryset.filter(end__gt=day_start)
        if choice == "past":
            return queryset.filter(start__lt=day_start).order_by("-start")
        return queryset


TIME_GONE = "That time is no longer open. Pick another one below."


# What the access log says an action did.
ACTION_DONE = {
    "cancel": "cancelled on the client's behalf",
    "reschedule": "moved",
    "complete": "marked completed",
    "no-show": "marked no-show",
}

ACTION_TITLES = {
    "cancel": "Cancel on the client's behalf",
    "reschedule": "Move to another time",
    "complete": "Mark completed",
    "no-show": "Mark no-show",
}


@admin.register(Appointment)
class AppointmentAdmin(LogsClientRecords, PracticeScopedMixin, admin.ModelAdmin):
    """The schedule. Changes go through the same services as the client's, with history."""

    audit_client, audit_practice = "client", "provider"

    list_display = ["start", "client", "provider", "appointment_type", "length", "status"]
    list_filter = [WhenFilter, "status", SeriesFilter]
    date_hierarchy = "start"
    ordering = ["start"]
    search_fields = ["client__email", "client__name"]
    list_select_related = ["client", "provider", "appointment_type"]
    # Nothing here is edited in a form: every change is an action with a page of its own.
    fields = readonly_fields = (
        "when",
        "provider",
        "client",
        "appointment_type",
        "status",
        "created_at",
        "booked_by",
        "client_reschedules",
        "from_waitlist",
    )
    change_form_template = "admin/appointments/appointment/change_form.html"

    @admin.display(description="when")
    def when(self, appointment: Appointment) -> str:
        return dated_time_range(appointment.start, appointment.end, appointment.provider.zone)

    @admin.display(description="length")
    def length(self, appointment: Appointment) -> str:
        return hours_and_minutes(appointment.end - appointment.start)

    @admin.display(description="from the waitlist")
    def from_waitlist(self, appointment: Appointment) -> str:
        """Which offer booked (or moved) this appointment, if one did."""
        offer = appointment.waitlist_offers.select_related("entry").first()
        if offer is None:
            return "No"
        url = reverse("admin:appointments_waitlistentry_change", args=[offer.entry_id])
        zone = appointment.provider.zone
        taken = f", taken {when(offer.closed_at, zone)}" if offer.closed_at else ""
        return format_html(
            'Yes: offered {}{} (<a href="{}">waitlist entry</a>)',
            when(offer.created_at, zone),
            taken,
            url,
        )

    @admin.display(description="part of a series")
    def part_of_series(self, appointment: Appointment) -> str:
        assert appointment.series_id is not None
        url = reverse("admin:appointments_appointmentseries_change", args=[appointment.series_id])
        return format_html('<a href="{}">{}</a>', url, session_number(appointment))

    def get_fields(self, request, obj=None):
        # A session of a series says which, and links to it; a single appointment has no row.
        fields = super().get_fields(request, obj)
        if obj is not None and obj.series_id is not None:
            return [*fields, "part_of_series"]
        return fields

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def has_change_permission(self, request, obj=None):
        return False  # the page only shows; may_act guards the actions

    def may_act(self, request: HttpRequest, appointment: Appointment) -> bool:
        return super().has_change_permission(request, appointment)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        appointment = self.get_object(request, object_id)
        if appointment is None:
            return super().change_view(request, object_id, form_url, extra_context)
        may_act = self.may_act(request, appointment)
        zone = appointment.provider.zone
        events = appointment.events.select_related("actor").order_by("at", "pk")
        context = {
            "title": f"{appointment.appointment_type.name} with {appointment.client}",
            "subtitle": None,
            "may_act": may_act,
            "fees": [
                (fee, fee_buttons(fee) if may_act else [])
                for fee in appointment.fees.order_by("created_at", "pk")
            ],
            "history": [(event, history_note(event, zone)) for event in events],
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, context)

    def audit_records_shown(self, request, appointment, context):
        # The page lists the appointment's fees with it (read above, for the page).
        fees = [fee for fee, _buttons in context.get("fees", [])]
        client, practice = appointment.client_id, appointment.provider_id
        return [(client, practice, record_name(each)) for each in [appointment, *fees]]

    def get_list_filter(self, request):
        if request.user.is_superuser:
            return [*self.list_filter, "provider"]
        return self.list_filter

    def has_add_permission(self, request):
        return False  # bookings are made through the booking service, which guards the schedule

    def has_delete_permission(self, request, obj=None):
        return False  # appointments are cancelled, never deleted

    def get_urls(self):
        def view(action):
            return self.admin_site.admin_view(
                lambda request, object_id: self.act(request, object_id, action)
            )

        return [
            path("<path:object_id>/cancel/", view("cancel"), name="appointment-cancel"),
            path("<path:object_id>/reschedule/", view("reschedule"), name="appointment-reschedule"),
            path("<path:object_id>/complete/", view("complete"), name="appointment-complete"),
            path("<path:object_id>/no-show/", view("no-show"), name="appointment-no-show"),
            *super().get_urls(),
        ]

    def act(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        """One page per action: what will happen, then the change, recorded with who did it."""
        appointment = self.get_object(request, object_id)
        if appointment is None or not self.may_act(request, appointment):
            return not_found(request, self.opts, object_id)
        back = reverse("admin:appointments_appointment_change", args=[appointment.pk])
        if request.method != "POST":
            # Each step's page shows the appointment, its client and its time.
            self.audit_object(request, Action.VIEWED, appointment)
        if action == "reschedule" and request.method != "POST":
            return self.move(request, appointment, back)
        form = self.action_form(request, appointment, action)
        if request.method == "POST" and (form is None or form.is_valid()):
            data = form.cleaned_data if form is not None else {}
            was = appointment.start
            try:
                done = self.perform(request, appointment, action, data)
            except (services.ChangeError, services.BookingError) as error:
                messages.error(request, str(error))
                if action == "reschedule":
                    # Taken meanwhile, or the appointment moved: pick again from what is open.
                    return self.move(request, appointment, back, status=409)
            else:
                detail = ACTION_DONE[action]
                if action == "reschedule":
                    detail += f" from {was.isoformat()} to {data['start'].isoformat()}"
                self.audit_object(request, Action.CHANGED, appointment, detail)
                messages.success(request, done)
                return redirect(back)
        elif action == "reschedule":
            assert form is not None
            messages.error(request, first_error(form))
            return self.move(request, appointment, back, status=400)
        return self.action_page(request, appointment, action, back, form=form)

    def action_page(self, request, appointment, action, back, status=200, **extra):
        terms = appointment.terms
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": ACTION_TITLES[action],
            "appointment": appointment,
            "when": dated_time_range(appointment.start, appointment.end, appointment.provider.zone),
            "action": action,
            "back": back,
            "no_show_fee": terms.no_show_fee and Money(terms.no_show_fee, terms.currency),
            **extra,
        }
        return TemplateResponse(
            request, "admin/appointments/appointment/action.html", context, status=status
        )

    def move(
        self, request: HttpRequest, appointment: Appointment, back: str, status: int = 200
    ) -> HttpResponse:
        """
        The client's day-and-time picker, on the provider's clock; a time picked leads to a
        page that says what will change, with the one button that changes it.
        """
        slots = selectors.open_slots(
            provider=appointment.provider,
            appointment_type=appointment.appointment_type,
            client=appointment.client,
            now=timezone.now(),
            exclude_appointment=appointment,
        )
        # Its own time is free for the times around it, but it is no new time to pick.
        slots = [start for start in slots if start != appointment.start]
        if "start" in request.GET:
            form = SlotForm(request.GET)
            if form.is_valid() and form.cleaned_data["start"] in slots:
                confirm = RescheduleForm(
                    initial={
                        "start": form.cleaned_data["start"].isoformat(),
                        "expected_start": appointment.start.isoformat(),
                    }
                )
                new_start = form.cleaned_data["start"]
                return self.action_page(
                    request, appointment, "reschedule", back, form=confirm, new_start=new_start
                )
            messages.warning(
                request,
                first_error(form) if not form.is_valid() else TIME_GONE,
            )
        days = slots_by_day(slots)
        chosen, day_status = chosen_day(request, request.GET.get("day"), days)
        return self.action_page(
            request,
            appointment,
            "reschedule",
            back,
            status=max(status, day_status),
            chosen_day=chosen,
            **day_page(days, chosen, request.path),
        )

    def action_form(self, request, appointment, action):
        """The same forms as the client's: a page that is out of date changes nothing."""
        data = request.POST if request.method == "POST" else None
        initial = {"expected_start": appointment.start.isoformat()}
        if action == "cancel":
            form = CancelForm(data, initial=initial)
            form.fields["reason"].help_text = "Recorded in the appointment's history."
            return form
        if action == "reschedule":
            return RescheduleForm(data, initial=initial)
        return None

    def perform(self, request, appointment, action, data) -> str:
        actor = request.user
        if action == "cancel":
            services.appointment_cancel(
                appointment=appointment,
                actor=actor,
                reason=data["reason"],
                expected_start=data["expected_start"],
            )
            return "Cancelled. An email to the client is on its way."
        if action == "reschedule":
            services.appointment_reschedule(
                appointment=appointment,
                actor=actor,
                new_start=data["start"],
                expected_start=data["expected_start"],
            )
            return "Moved. An email with the new time is on its way to the client."
        if action == "complete":
            services.appointment_complete(appointment=appointment, actor=actor)
            return "Marked completed."
        services.appointment_mark_no_show(appointment=appointment, actor=actor)
        return "Marked as a no-show."


@dataclass(frozen=True)
class FeeAction:
    button: str  # with {money}: what the button says it does
    done: str  # how the message after it ends
    service: Callable[..., Fee]


FEE_ACTIONS = {
    "waive": FeeAction(
        "Waive the {money} fee", "waived: the client owes nothing.", services.fee_waive
    ),
    "mark-paid": FeeAction("Mark the {money} fee paid", "marked paid.", services.fee_mark_paid),
}


def fee_buttons(fee: Fee) -> list[tuple[str, str]]:
    """A pending fee's buttons as (where it posts, what it says); none once it is settled."""
    if fee.status != Fee.Status.PENDING:
        return []
    return [
        (reverse(f"admin:fee-{name}", args=[fee.pk]), action.button.format(money=fee.money))
        for name, action in FEE_ACTIONS.items()
    ]


def history_note(event: AppointmentEvent, zone) -> str:
    """What a history entry changed, in words: the times moved between, the reason, the fee."""
    notes = []
    if event.old_start and event.new_start:
        notes.append(f"From {when(event.old_start, zone)} to {when(event.new_start, zone)}.")
    elif event.new_start:
        notes.append(f"For {when(event.new_start, zone)}.")
    if event.reason:
        notes.append(f"Reason: {event.reason}")
    details = event.details or {}
    if details.get("fee"):
        notes.append(f"Fee: {details['fee']}.")
    elif details.get("amount") and details.get("currency"):
        notes.append(f"Fee: {Money(Decimal(details['amount']), details['currency'])}.")
    return " ".join(notes)


@admin.register(Fee)
class FeeAdmin(LogsClientRecords, PracticeScopedMixin, admin.ModelAdmin):
    provider_lookup = "appointment__provider"
    audit_client, audit_practice = "client", "appointment__provider"
    list_display = ["created_at", "client", "kind", "amount_owed", "status"]
    list_filter = ["status", "kind"]
    # The appointment for the practice each row's access is logged under.
    list_select_related = ["client", "appointment"]
    fields = readonly_fields = (
        "appointment",
        "client",
        "kind",
        "amount_owed",
        "status",
        "created_at",
    )
    actions = ["waive", "mark_paid"]
    change_form_template = "admin/appointments/fee/change_form.html"

    @admin.display(description="amount", ordering="amount")
    def amount_owed(self, fee: Fee) -> str:
        return str(fee.money)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # nothing is edited; a pending fee is settled with its buttons

    def has_settle_permission(self, request, fee: Fee | None = None) -> bool:
        return super().has_change_permission(request, fee)

    def get_urls(self):
        def view(action):
            return self.admin_site.admin_view(
                require_POST(lambda request, object_id: self.settle(request, object_id, action))
            )

        return [
            path("<path:object_id>/waive/", view("waive"), name="fee-waive"),
            path("<path:object_id>/mark-paid/", view("mark-paid"), name="fee-mark-paid"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        fee = self.get_object(request, object_id)
        may_settle = fee is not None and self.has_settle_permission(request, fee)
        context = {
            "title": f"{fee.get_kind_display()} fee, {fee.money}" if fee else "Fee",
            "subtitle": None,
            "buttons": fee_buttons(fee) if fee and may_settle else [],
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, context)

    def settle(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        """One pending fee waived or marked paid; back to the page the button was on."""
        fee = self.get_object(request, object_id)
        if fee is None or not self.has_settle_permission(request, fee):
            return not_found(request, self.opts, object_id)
        chosen = FEE_ACTIONS[action]
        try:
            chosen.service(fee=fee, actor=request.user)
        except services.ChangeError as error:
            messages.error(request, str(error))
        else:
            done = "fee waived" if action == "waive" else "fee marked paid"
            self.audit_object(request, Action.CHANGED, fee, done)
            kind = fee.get_kind_display().lower()
            messages.success(request, f"The {fee.money} {kind} fee is {chosen.done}")
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            back = reverse("admin:appointments_fee_change", args=[fee.pk])
        return redirect(back)

    def _settle(self, request, fees, service, verb):
        done = skipped = 0
        for fee in fees:
            try:
                service(fee=fee, actor=request.user)
                done += 1
            except services.ChangeError:
                skipped += 1
        messages.success(
            request,
            f"{done} fee{'s' if done != 1 else ''} {verb}"
            + (f"; {skipped} already settled and left as they were." if skipped else "."),
        )

    @admin.action(description="Waive the selected fees", permissions=["settle"])
    def waive(self, request, queryset):
        self._settle(request, queryset, services.fee_waive, "waived")

    @admin.action(description="Mark the selected fees paid", permissions=["settle"])
    def mark_paid(self, request, queryset):
        self._settle(request, queryset, services.fee_mark_paid, "marked paid")


class WaitlistOfferInline(admin.TabularInline):
    """The times offered to an entry, as a plain table: the entry's page only shows."""

    model = WaitlistOffer
    extra = 0
    can_delete = False
    fields = readonly_fields = ("start", "status", "created_at", "expires_at", "appointment")
    verbose_name_plural = "offers"
    template = "admin/edit_inline/records.html"
    empty_text = "No time has been offered yet."

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(PracticeScopedMixin, admin.ModelAdmin):
    """Who waits for which kind of time, in join order; read-only, as the client keeps it."""

    audit_client, audit_practice = "client", "provider"

    list_display = ["client", "appointment_type", "provider", "wishes", "status", "joined_at"]
    list_filter = ["status"]
    list_select_related = ["client", "appointment_type", "provider"]
    search_fields = ["client__email", "client__name"]
    ordering = ["joined_at", "pk"]
    fields = readonly_fields = (
        "client",
        "provider",
        "appointment_type",
        "wishes",
        "move_up",
        "status",
        "ended_reason",
        "joined_at",
        "ended_at",
    )
    inlines = [WaitlistOfferInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Policy)
class PracticePolicyAdmin(PracticeScopedMixin, PolicyAdmin):
    """Policies as appointments.policy_admin edits them, limited to the practice."""


# A practice lands on the provider's week (portal's admin site imports no app, so it is set here).
assert isinstance(admin.site, PortalAdminSite)
admin.site.landing = admin_week.practice_week
admin.site.practice_zone = practice_zone

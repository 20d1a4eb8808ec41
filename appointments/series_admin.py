"""
The practice's recurring series in the workspace: booked with the client's day-and-time picker
and a preview of every date, then listed, read, ended, skipped or moved from a date. Every
change goes through appointments.series, which checks who acts and records each session's
history; this module asks, shows and reports.

Each step is a page of its own reached by a plain link or form, so the keyboard and a browser
without JavaScript go the same way. What a step has chosen travels in its URL (the client and
type in the path, because the picker's day links replace the query), and nothing is saved
before the last page's one button.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.validators import MaxLengthValidator
from django.db.models import Count, Exists, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from appointments import selectors, services
from appointments import series as series_services
from appointments.forms import CancelForm, SlotForm
from appointments.models import (
    Appointment,
    AppointmentSeries,
    AppointmentType,
    CareTeamMember,
    SeriesChange,
)
from appointments.picker import chosen_day, day_page, slots_by_day
from appointments.practice import PracticeScopedMixin, not_found, practice_providers
from appointments.recurrence import WEEKS_APART, Repeat
from appointments.series import CLASH_WORDS, SeriesClashes, SeriesEnd, _day_of, _sessions_from
from portal.audit.admin_pages import LogsClientRecords
from portal.audit.models import Action
from portal.formatting import DAY, dated_time_range, format_date, when
from portal.forms import first_error
from portal.models import User

NOT_OURS_CLIENT = "Choose one of your practice's clients from the list."
NOT_OURS_TYPE = "Choose one of your practice's appointment types from the list."
BAD_DAY = "That date isn't valid. Pick a date from the list."
ENDS = [
    ("count", "After a number of sessions"),
    ("until", "On a last date"),
    ("never", "Never"),
]


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


# --- Forms ----------------------------------------------------------------------------------


class ClientChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.get_full_name()} ({obj.email})"


class TypeChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return f"{obj.name} with {obj.provider.display_name}"


class SeriesWhoForm(forms.Form):
    """Who the series is for and what kind of session: the practice's own, nobody else's."""

    client = ClientChoice(
        queryset=User.objects.none(),
        error_messages={"required": "Choose a client.", "invalid_choice": NOT_OURS_CLIENT},
    )
    appointment_type = TypeChoice(
        label="Appointment type",
        queryset=AppointmentType.objects.none(),
        error_messages={"required": "Choose an appointment type.", "invalid_choice": NOT_OURS_TYPE},
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        providers = practice_providers(user)
        clients = self.fields["client"]
        kinds = self.fields["appointment_type"]
        assert isinstance(clients, forms.ModelChoiceField)
        assert isinstance(kinds, forms.ModelChoiceField)
        clients.queryset = (
            User.objects.filter(care_team_memberships__provider__in=providers)
            .distinct()
            .order_by("name", "email")
        )
        kinds.queryset = (
            AppointmentType.objects.filter(provider__in=providers, is_active=True)
            .select_related("provider")
            .order_by("provider__display_name", "name")
        )

    def clean(self):
        data = super().clean() or {}
        client, kind = data.get("client"), data.get("appointment_type")
        if client is not None and kind is not None:
            member = CareTeamMember.objects.filter(provider=kind.provider, client=client)
            if not member.exists():
                raise forms.ValidationError(
                    f"{client.get_full_name()} is not a client of {kind.provider.display_name}. "
                    "Choose one of theirs, or another appointment type."
                )
        return data


class DaysField(forms.Field):
    """Dates as the preview's boxes send them (YYYY-MM-DD), any number of them."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[date]:
        days = []
        for raw in value or []:
            try:
                days.append(datetime.strptime(raw, "%Y-%m-%d").date())
            except (TypeError, ValueError):
                raise forms.ValidationError(BAD_DAY) from None
        return days


class SeriesRuleForm(SlotForm):
    """
    The first session (picked), how often, and how it ends. Only the shape is checked here; the
    series' rules (how many sessions, how far ahead, which repeats) are the booking service's,
    which says what is wrong in its own words.
    """

    start = forms.CharField(
        widget=forms.HiddenInput, error_messages={"required": "Pick a time from the list."}
    )
    repeat = forms.CharField(
        label="Repeats",
        # A bound as a validator: as `max_length` it would put maxlength on each radio button.
        validators=[MaxLengthValidator(20)],
        widget=forms.RadioSelect(choices=Repeat.choices),
        error_messages={"required": "Choose how often the sessions repeat."},
    )
    ends = forms.ChoiceField(
        label="Ends",
        choices=ENDS,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose how the series ends.",
            "invalid_choice": "Choose how the series ends from the list.",
        },
    )
    count = forms.IntegerField(label="Number of sessions", required=False)
    until = forms.DateField(
        label="Last date",
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "That last date isn't valid."},
    )
    skip = DaysField(required=False)

    def clean(self):
        data = super().clean() or {}
        ends = data.get("ends")
        if ends == "count" and data.get("count") is None and "count" not in self.errors:
            self.add_error("count", "Give the number of sessions.")
        if ends == "until" and data.get("until") is None and "until" not in self.errors:
            self.add_error("until", "Give the last date.")
        if not self.errors:
            data["end"] = SeriesEnd(
                count=data["count"] if ends == "count" else None,
                until=data["until"] if ends == "until" else None,
            )
        return data


class SeriesDayForm(forms.Form):
    """A date of the series, as the date lists link to it; an optional reason."""

    day = forms.DateField(
        input_formats=["%Y-%m-%d"], error_messages={"required": BAD_DAY, "invalid": BAD_DAY}
    )
    reason = CancelForm.base_fields["reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].help_text = "Recorded in each session's history."


# --- What the pages show --------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewRow:
    """One date of a preview: when, what happens, and whether it is left out by default."""

    day: date
    when: str
    note: str
    clash: str  # why the time is not free, or ""
    was: str = ""  # a moved session's time now


def session_number(appointment: Appointment) -> str:
    """'Every week on Tuesday (session 3 of 10)': which session of its series this is."""
    series = appointment.series
    assert series is not None
    number = len(series.dates(through=_day_of(appointment, series)))
    ended = not series.is_open_ended or series.stopped_from is not None
    of = f" of {len(series.dates())}" if ended else ""
    return f"{series.rule.describe()} (session {number}{of})"


def change_note(change: SeriesChange, zone) -> str:
    """A series change in words: what it booked, cancelled or moved."""
    details = change.details or {}

    def days(key: str) -> str:
        return ", ".join(
            format_date(date.fromisoformat(each), DAY) for each in details.get(key, [])
        )

    def count(key: str) -> int:
        return len(details.get(key, []))

    since = (
        f"From {format_date(date.fromisoformat(details['from']), DAY)}: "
        if "from" in details
        else ""
    )
    if change.kind == SeriesChange.Kind.BOOKED:
        note = f"{plural(count('booked'), 'session')} booked."
        return note + (f" Left out: {days('skipped')}." if count("skipped") else "")
    if change.kind == SeriesChange.Kind.EXTENDED:
        return (
            f"{plural(count('booked'), 'session')} booked further ahead. Left out, not free: "
            f"{days('skipped')}."
        )
    if change.kind == SeriesChange.Kind.CHANGED:
        note = f"{since}{plural(count('moved'), 'session')} moved to the new time"
        if count("added"):
            note += f", {plural(count('added'), 'session')} added"
        if count("cancelled"):
            note += f", {plural(count('cancelled'), 'session')} cancelled (not free)"
        return note + "."
    note = f"{since}{plural(count('cancelled'), 'session')} cancelled"
    if count("kept"):
        note += f", {plural(count('kept'), 'session')} kept (too late to cancel online)"
    if details.get("fees"):
        note += f"; fees: {', '.join(details['fees'])}"
    return note + "."


# A row of the series list: a series with the annotations get_queryset reads along with it
# (next_start, left, continued).
Listed = Any


class SeriesFilter(admin.SimpleListFilter):
    """Appointments that are sessions of a series, or not."""

    title = "series"
    parameter_name = "series"

    def lookups(self, request, model_admin):
        return [("yes", "In a series"), ("no", "Not in a series")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(series__isnull=False)
        if self.value() == "no":
            return queryset.filter(series__isnull=True)
        return queryset


@admin.register(AppointmentSeries)
class AppointmentSeriesAdmin(LogsClientRecords, PracticeScopedMixin, admin.ModelAdmin):
    """The practice's series: booked here, changed only through the series services."""

    audit_client, audit_practice = "client", "provider"

    list_display = [
        "client",
        "appointment_type",
        "provider",
        "rule",
        "next_session",
        "sessions_left",
        "status",
    ]
    list_select_related = ["client", "appointment_type", "provider"]
    list_display_links = ["client"]
    search_fields = ["client__email", "client__name"]
    fields = readonly_fields = (
        "client",
        "provider",
        "appointment_type",
        "rule",
        "status",
        "booked_by",
        "created_at",
        "continues",
    )
    change_form_template = "admin/appointments/series/change_form.html"

    def get_queryset(self, request):
        # The next session and how many are left, read with the list in one statement.
        upcoming = Appointment.objects.to_come(timezone.now()).filter(series=OuterRef("pk"))
        counted = upcoming.order_by().values("series").annotate(n=Count("pk")).values("n")
        return (
            super()
            .get_queryset(request)
            .select_related("client", "appointment_type", "provider", "previous")
            .annotate(
                next_start=Subquery(upcoming.order_by("start").values("start")[:1]),
                left=Coalesce(Subquery(counted), 0),
                continued=Exists(AppointmentSeries.objects.filter(previous=OuterRef("pk"))),
            )
        )

    @admin.display(description="repeats")
    def rule(self, series: AppointmentSeries) -> str:
        return series.describe()

    @admin.display(description="next session", ordering="next_start")
    def next_session(self, series: Listed) -> str:
        return when(series.next_start, series.zone) if series.next_start else "—"

    @admin.display(description="sessions left", ordering="left")
    def sessions_left(self, series: Listed) -> int:
        return series.left

    @admin.display(description="status")
    def status(self, series: Listed) -> str:
        if series.stopped_from is not None:
            verb = "Time changed" if series.continued else "Ended"
            return f"{verb} from {format_date(series.stopped_from, DAY)}"
        if not series.left:
            return "Finished" if not series.is_open_ended else "Ongoing, nothing booked yet"
        return "Ongoing"

    @admin.display(description="continues")
    def continues(self, series: AppointmentSeries) -> str:
        if series.previous is None:
            return "—"
        url = reverse("admin:appointments_appointmentseries_change", args=[series.previous_id])
        return format_html('<a href="{}">{}</a>', url, series.previous.describe())

    def has_change_permission(self, request, obj=None):
        return False  # the page only shows; may_act guards the changes

    def has_delete_permission(self, request, obj=None):
        return False  # a series is ended, never deleted

    def may_act(self, request: HttpRequest, series: AppointmentSeries | None = None) -> bool:
        return super().has_change_permission(request, series)

    def get_urls(self):
        def view(method):
            return self.admin_site.admin_view(method)

        return [
            path("add/<int:client_id>/<int:type_id>/", view(self.pick), name="series-pick"),
            path(
                "add/<int:client_id>/<int:type_id>/rule/", view(self.rule_step), name="series-rule"
            ),
            path("<path:object_id>/end/", view(self.end), name="series-end"),
            path("<path:object_id>/skip/", view(self.skip), name="series-skip"),
            path(
                "<path:object_id>/change-time/", view(self.change_time), name="series-change-time"
            ),
            path(
                "<path:object_id>/change-time/<str:from_day>/",
                view(self.change_time_pick),
                name="series-change-time-pick",
            ),
            path(
                "<path:object_id>/change-time/<str:from_day>/review/",
                view(self.change_time_review),
                name="series-change-time-review",
            ),
            *super().get_urls(),
        ]

    def page(self, request, template: str, context: dict, status: int = 200) -> TemplateResponse:
        context = {**self.admin_site.each_context(request), "opts": self.opts, **context}
        return TemplateResponse(
            request, f"admin/appointments/series/{template}", context, status=status
        )

    # --- The series' own page ---------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        series = self.get_object(request, object_id)
        if series is None:
            return super().change_view(request, object_id, form_url, extra_context)
        zone = series.zone
        sessions = series.sessions.order_by("occurrence", "start", "pk")
        changes = series.changes.select_related("actor").order_by("at", "pk")
        context = {
            "title": f"{series.appointment_type.name} with {series.client}",
            "subtitle": None,
            "may_act": self.may_act(request, series) and series.stopped_from is None,
            "sessions": [(each, dated_time_range(each.start, each.end, zone)) for each in sessions],
            "changes": [(each, change_note(each, zone)) for each in changes],
            "continued_by": AppointmentSeries.objects.filter(previous=series).first(),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, context)

    def audit_records_shown(self, request, series, context):
        # The page lists every session of the series (read above, for the page).
        shown = [series, *(session for session, _when in context.get("sessions", []))]
        return self.audit_targets(request, shown)

    # --- Booking: who, the picker, the rule and its preview ----------------------------------

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        bound = "client" in request.GET or "appointment_type" in request.GET
        form = SeriesWhoForm(request.GET if bound else None, user=request.user)
        if bound and form.is_valid():
            return redirect(
                "admin:series-pick",
                form.cleaned_data["client"].pk,
                form.cleaned_data["appointment_type"].pk,
            )
        return self.page(
            request,
            "choose.html",
            {"title": "Book a recurring series", "form": form},
            status=400 if bound else 200,
        )

    def chosen(self, request, client_id: int, type_id: int):
        """The client and type in the URL, if the practice may book them; else why not."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = SeriesWhoForm({"client": client_id, "appointment_type": type_id}, user=request.user)
        if not form.is_valid():
            messages.error(request, first_error(form))
            return None
        kind = form.cleaned_data["appointment_type"]
        timezone.activate(kind.provider.zone)  # a series keeps its provider's clock
        return form.cleaned_data["client"], kind

    def pick(self, request: HttpRequest, client_id: int, type_id: int) -> HttpResponse:
        """The first session's day and time, from the provider's open times for this client."""
        chosen = self.chosen(request, client_id, type_id)
        if chosen is None:
            return redirect("admin:appointments_appointmentseries_add")
        client, kind = chosen
        slots = selectors.open_slots(
            provider=kind.provider, appointment_type=kind, client=client, now=timezone.now()
        )
        rule_url = reverse("admin:series-rule", args=[client.pk, kind.pk])
        return self.picker_page(request, kind, slots, rule_url, {"client": client, "step": "pick"})

    def picker_page(self, request, kind, slots, review_url, context) -> HttpResponse:
        days = slots_by_day(slots)
        day, status = chosen_day(request, request.GET.get("day"), days)
        return self.page(
            request,
            "pick.html",
            {
                "title": "Pick the first session"
                if "series" not in context
                else "Pick the new time",
                "kind": kind,
                "provider": kind.provider,
                "chosen_day": day,
                **day_page(days, day, review_url),
                **context,
            },
            status=status,
        )

    def rule_step(self, request: HttpRequest, client_id: int, type_id: int) -> HttpResponse:
        """GET: the rule's form, then the preview of every date; POST: book them."""
        chosen = self.chosen(request, client_id, type_id)
        if chosen is None:
            return redirect("admin:appointments_appointmentseries_add")
        client, kind = chosen
        posted = request.method == "POST"
        bound = posted or "repeat" in request.GET or "ends" in request.GET
        data = request.POST if posted else request.GET
        form = SeriesRuleForm(data if bound else None, initial={"ends": "count", **data.dict()})
        start = SlotForm(data)
        if not start.is_valid():
            messages.error(request, first_error(start))
            return redirect("admin:series-pick", client.pk, kind.pk)
        context = {"client": client, "kind": kind, "provider": kind.provider, "form": form}
        context["start"] = start.cleaned_data["start"]
        if not bound:
            return self.page(request, "rule.html", {"title": "How the series repeats", **context})
        if not form.is_valid():
            return self.page(
                request, "rule.html", {"title": "How the series repeats", **context}, status=400
            )
        if posted:
            return self.book(request, form, client, kind, context)
        return self.preview(request, form, client, kind, context)

    def planned(self, form, client, kind):
        data = form.cleaned_data
        return series_services.plan_series(
            client=client,
            provider=kind.provider,
            appointment_type=kind,
            first_start=data["start"],
            repeat=data["repeat"],
            end=data["end"],
        )

    def preview(self, request, form, client, kind, context, status=200) -> HttpResponse:
        """Every date the series would have, and which are not free: nothing saved yet."""
        try:
            plan = self.planned(form, client, kind)
        except services.BookingError as error:
            form.add_error(None, str(error))
            return self.page(
                request, "rule.html", {"title": "How the series repeats", **context}, status=400
            )
        zone = kind.provider.zone
        rows = [
            PreviewRow(
                each.day,
                dated_time_range(each.start, each.start + kind.duration, zone),
                CLASH_WORDS[each.clash] if each.clash else "Free",
                CLASH_WORDS[each.clash] if each.clash else "",
            )
            for each in plan.sessions
        ]
        data = form.cleaned_data
        first = data["start"].astimezone(zone)
        rule = AppointmentSeries(
            provider=kind.provider,
            appointment_type=kind,
            repeat=data["repeat"],
            time_zone=kind.provider.time_zone,
            first_date=first.date(),
            start_time=first.time(),
            count=data["end"].count,
            until=data["end"].until,
        )
        return self.page(
            request,
            "rule.html",
            {
                "title": "Check the dates",
                **context,
                "rows": rows,
                "rule_words": rule.describe(),
                "open_ended": rule.is_open_ended,
                "clashes": len(plan.clashes),
                "free": len(plan.free),
                "pick_again": reverse("admin:series-pick", args=[client.pk, kind.pk])
                + f"?day={first.date().isoformat()}",
            },
            status=status,
        )

    def book(self, request, form, client, kind, context) -> HttpResponse:
        data = form.cleaned_data
        try:
            booked = series_services.series_book(
                client=client,
                provider=kind.provider,
                appointment_type=kind,
                first_start=data["start"],
                repeat=data["repeat"],
                end=data["end"],
                booked_by=request.user,
                skip=data["skip"],
            )
        except SeriesClashes as error:
            # Taken since the preview: the fresh list, with the dates that now clash.
            messages.error(request, str(error))
            return self.preview(request, form, client, kind, context, status=409)
        except services.BookingError as error:
            form.add_error(None, str(error))
            return self.page(
                request, "rule.html", {"title": "How the series repeats", **context}, status=400
            )
        detail = f"booked a series of {plural(len(booked.sessions), 'session')}"
        self.audit_object(request, Action.CHANGED, booked.series, detail)
        left_out = f" {plural(len(booked.skipped), 'date')} left out." if booked.skipped else ""
        messages.success(
            request,
            f"{plural(len(booked.sessions), 'session')} booked.{left_out} An email to the client "
            "is on its way.",
        )
        return redirect("admin:appointments_appointmentseries_change", booked.series.pk)

    # --- Changes: end from a date, skip a date, change the time from a date -------------------

    def acting_on(self, request, object_id: str) -> AppointmentSeries | None:
        if not self.may_act(request):
            raise PermissionDenied
        series = self.get_object(request, object_id)
        if series is None or not self.may_act(request, series):
            return None
        timezone.activate(series.zone)  # its dates are the series' own
        if request.method != "POST":
            # Each step's page lists the series' sessions; a POST is logged as the change.
            self.audit_object(request, Action.VIEWED, series)
        return series

    def upcoming_days(self, series: AppointmentSeries) -> list[tuple[date, str]]:
        """The dates of the series' sessions still to come, each as the lists show it."""
        sessions = series.sessions.to_come(timezone.now()).order_by("occurrence", "start")
        return [
            (_day_of(each, series), dated_time_range(each.start, each.end, series.zone))
            for each in sessions
        ]

    def action_context(self, series: AppointmentSeries, action: str) -> dict:
        return {
            "series": series,
            "action": action,
            "back": reverse("admin:appointments_appointmentseries_change", args=[series.pk]),
            "subtitle": None,
        }

    def end(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self.dated_action(request, object_id, "end")

    def skip(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return self.dated_action(request, object_id, "skip")

    def dated_action(self, request: HttpRequest, object_id: str, action: str) -> HttpResponse:
        """A date from the list, then a page that says what changes, then the change."""
        series = self.acting_on(request, object_id)
        if series is None:
            return not_found(request, self.opts, object_id)
        name = "from" if action == "end" else "day"
        raw = request.POST if request.method == "POST" else request.GET
        context = {
            **self.action_context(series, action),
            "title": "End the series" if action == "end" else "Skip one date",
            "param": name,
            "days": self.upcoming_days(series),
        }
        if request.method != "POST" and name not in raw:
            return self.page(request, "action.html", context)
        form = SeriesDayForm({"day": raw.get(name), "reason": raw.get("reason", "")})
        if not form.is_valid():
            messages.error(request, first_error(form))
            return self.page(request, "action.html", {**context, "form": form}, status=400)
        day = form.cleaned_data["day"]
        if request.method != "POST":
            return self.page(
                request, "action.html", {**context, **self.confirming(series, action, day, form)}
            )
        try:
            done = self.perform(request, series, action, day, form.cleaned_data["reason"])
        except (services.ChangeError, services.BookingError) as error:
            messages.error(request, str(error))
        else:
            messages.success(request, done)
        return redirect(context["back"])

    def confirming(self, series, action, day: date, form) -> dict:
        if action == "end":
            now = timezone.now()
            going = [each for each in _sessions_from(series, day) if each.start > now]
        else:
            going = [each for each in _sessions_from(series, day) if _day_of(each, series) == day]
        return {
            "day": day,
            "day_words": format_date(day, DAY),
            "form": form,
            "going": [dated_time_range(each.start, each.end, series.zone) for each in going],
        }

    def perform(self, request, series, action: str, day: date, reason: str) -> str:
        if action == "end":
            ended = series_services.series_end(
                series=series, actor=request.user, from_day=day, reason=reason
            )
            detail = f"ended from {day.isoformat()}: {plural(len(ended.cancelled), 'session')}"
            self.audit_object(request, Action.CHANGED, series, detail + " cancelled")
            return (
                f"The series ends from {format_date(day, DAY)}: "
                f"{plural(len(ended.cancelled), 'session')} cancelled, free. An email to the "
                "client is on its way."
            )
        series_services.series_skip(series=series, actor=request.user, day=day, reason=reason)
        self.audit_object(request, Action.CHANGED, series, f"skipped {day.isoformat()}")
        return (
            f"{format_date(day, DAY)} is skipped: that session is cancelled, free, and the "
            "series goes on. An email to the client is on its way."
        )

    def change_time(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """From which date the new time applies: each links to the picker."""
        series = self.acting_on(request, object_id)
        if series is None:
            return not_found(request, self.opts, object_id)
        return self.page(
            request,
            "action.html",
            {
                **self.action_context(series, "change-time"),
                "title": "Change the time or weekday",
                "days": self.upcoming_days(series),
            },
        )

    def moving_from(
        self, request, object_id: str, raw: str
    ) -> tuple[AppointmentSeries, date] | HttpResponse:
        """The series and the date its new time applies from, or the page that says why not."""
        series = self.acting_on(request, object_id)
        if series is None:
            return not_found(request, self.opts, object_id)
        form = SeriesDayForm({"day": raw})
        if not form.is_valid():
            messages.error(request, first_error(form))
            return redirect("admin:series-change-time", series.pk)
        return series, form.cleaned_data["day"]

    def change_time_pick(self, request: HttpRequest, object_id: str, from_day: str):
        found = self.moving_from(request, object_id, from_day)
        if isinstance(found, HttpResponse):
            return found
        series, day = found
        zone = series.provider.zone
        now = timezone.now()
        moving = next(iter(_sessions_from(series, day)), None)
        # The new time's first week (or month): the n-th session of the old rule becomes the
        # n-th of the new one, so a first session further on would leave dates behind.
        weeks = WEEKS_APART.get(Repeat(series.repeat), 5)
        window_start = max(now, datetime.combine(day, time.min, tzinfo=zone))
        slots = selectors.open_slots(
            provider=series.provider,
            appointment_type=series.appointment_type,
            client=series.client,
            now=now,
            window_start=window_start,
            window_end=datetime.combine(day + timedelta(weeks=weeks), time.min, tzinfo=zone),
            exclude_appointment=moving,
        )
        review = reverse("admin:series-change-time-review", args=[series.pk, day.isoformat()])
        return self.picker_page(
            request,
            series.appointment_type,
            slots,
            review,
            {
                **self.action_context(series, "change-time"),
                "client": series.client,
                "step": "change-time",
                "from_words": format_date(day, DAY),
            },
        )

    def change_time_review(self, request: HttpRequest, object_id: str, from_day: str):
        """GET: what moves where, and what is not free; POST: the change."""
        found = self.moving_from(request, object_id, from_day)
        if isinstance(found, HttpResponse):
            return found
        series, day = found
        data = request.POST if request.method == "POST" else request.GET
        picker = reverse("admin:series-change-time-pick", args=[series.pk, day.isoformat()])
        slot = SlotForm(data)
        if not slot.is_valid():
            messages.error(request, first_error(slot))
            return redirect(picker)
        new_start = slot.cleaned_data["start"]
        try:
            skipped = DaysField(required=False).clean(data.getlist("skip"))
        except forms.ValidationError as error:
            messages.error(request, error.messages[0])
            return redirect(picker)
        if request.method == "POST":
            actor = request.user
            assert isinstance(actor, User)  # the admin lets in no one else
            try:
                new = series_services.series_change_time(
                    series=series,
                    actor=actor,
                    from_day=day,
                    new_first_start=new_start,
                    skip=skipped,
                )
            except SeriesClashes as error:
                messages.error(request, str(error))
                return self.time_change_page(request, series, day, new_start, picker, 409)
            except (services.ChangeError, services.BookingError) as error:
                messages.error(request, str(error))
                return redirect(picker)
            detail = f"time changed from {day.isoformat()}: {new.describe()}"
            self.audit_note(
                request,
                Action.CHANGED,
                self.audit_targets(request, [series, new]),
                detail,
            )
            messages.success(
                request,
                f"From {format_date(day, DAY)} the sessions are {new.describe()}. The client "
                "is emailed the new times.",
            )
            return redirect("admin:appointments_appointmentseries_change", new.pk)
        return self.time_change_page(request, series, day, new_start, picker)

    def time_change_page(self, request, series, day, new_start, picker, status=200):
        try:
            change = series_services.plan_time_change(
                series=series, actor=request.user, from_day=day, new_first_start=new_start
            )
        except (services.ChangeError, services.BookingError) as error:
            messages.error(request, str(error))
            return redirect(picker)
        zone, duration = series.zone, series.appointment_type.duration
        rows = [
            PreviewRow(
                planned.day,
                dated_time_range(planned.start, planned.start + duration, zone),
                CLASH_WORDS[planned.clash] if planned.clash else "Moves here",
                CLASH_WORDS[planned.clash] if planned.clash else "",
                was=dated_time_range(session.start, session.end, zone),
            )
            for session, planned in change.moves
        ]
        rows += [
            PreviewRow(
                planned.day,
                dated_time_range(planned.start, planned.start + duration, zone),
                CLASH_WORDS[planned.clash] if planned.clash else "A new session",
                CLASH_WORDS[planned.clash] if planned.clash else "",
            )
            for planned in change.added
        ]
        dropped = [dated_time_range(each.start, each.end, zone) for each in change.dropped]
        return self.page(
            request,
            "change_time.html",
            {
                **self.action_context(series, "change-time"),
                "title": "Check the new times",
                "from_words": format_date(day, DAY),
                "start": new_start,
                "rows": rows,
                "dropped": dropped,
                "clashes": len(change.clashes),
                "pick_again": picker + f"?day={new_start.astimezone(zone).date().isoformat()}",
            },
            status=status,
        )

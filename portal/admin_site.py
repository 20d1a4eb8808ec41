from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin import widgets
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import ValidationError
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.views.decorators.http import require_GET, require_POST

from portal.audit.admin_pages import LogsClientRecords
from portal.auth import second_step_done
from portal.inputs import EARLIEST_INSTANT, LATEST_INSTANT, RefusedInput, parse_id, year_in_range

BAD_DATE = (
    "That date can't be shown. Pick a year, month or day from the list above the table; "
    f"years go from {EARLIEST_INSTANT.year} to {LATEST_INSTANT.year - 1}."
)
BAD_SELECTION = (
    "That selection isn't one this list offers, so nothing was changed. "
    "Tick the rows in the list and try again."
)


class AdminSignInForm(AdminAuthenticationForm):
    """
    The admin's sign-in, with the email checked before anyone tries it. Django sets the
    username's max_length after the field is made, so it is never enforced, and an over-long
    name reached django-axes's 255-character column as a database error.
    """

    username = forms.EmailField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )


if TYPE_CHECKING:
    MixedIntoModelAdmin = admin.ModelAdmin
else:
    MixedIntoModelAdmin = object


class RefuseHostileInput(MixedIntoModelAdmin):
    """
    Mixed into every ModelAdmin the site registers, Django's and other apps' included: the
    changelist's date drill-down and its actions read the query and the form without bounds,
    so a year of 9999 or a selected id of "abc" was a 500. Both are a 400 that says why.
    """

    def changelist_view(self, request, extra_context=None):
        self.refuse_bad_date_drilldown(request)
        if request.method == "POST" and "action" in request.POST:
            self.refuse_bad_selection(request)
        return super().changelist_view(request, extra_context)

    def refuse_bad_date_drilldown(self, request) -> None:
        field = self.date_hierarchy
        if not field:
            return
        raw = {part: request.GET.get(f"{field}__{part}") for part in ("year", "month", "day")}
        given = {part: value for part, value in raw.items() if value is not None}
        if not given:
            return
        numbers = {part: parse_id(value) for part, value in given.items()}
        year, month, day = numbers.get("year"), numbers.get("month", 1), numbers.get("day", 1)
        if year is None or month is None or day is None or not year_in_range(year):
            raise RefusedInput(BAD_DATE)
        try:
            date(year, month, day)
        except ValueError:
            raise RefusedInput(BAD_DATE) from None

    def refuse_bad_selection(self, request) -> None:
        pk = self.model._meta.pk
        for value in request.POST.getlist(ACTION_CHECKBOX_NAME):
            if isinstance(pk, models.IntegerField):
                # Stricter than int(): ASCII digits that fit the column, on both databases.
                valid = parse_id(value) is not None
            else:
                try:
                    pk.to_python(value)
                    valid = True
                except ValidationError:
                    valid = False
            if not valid:
                raise RefusedInput(BAD_SELECTION)


class _NoZoneNoteReference:
    """
    Django's date and time inputs say aria-describedby="..._timezone_warning_helptext", a note
    its script adds only when the browser's clock differs from the page's. Everywhere else the
    id names nothing, which the HTML checker reports and screen readers trip over; the note,
    when the script adds it, still shows beside the input.
    """

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)  # type: ignore[misc]
        context["widget"]["attrs"].pop("aria-describedby", None)
        return context


class DateInput(_NoZoneNoteReference, widgets.AdminDateWidget):
    pass


class TimeInput(_NoZoneNoteReference, widgets.AdminTimeWidget):
    pass


class NoDanglingReferences(MixedIntoModelAdmin):
    """For admins and inlines: date and time inputs that describe themselves by nothing absent."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None:
            for stock, ours in (
                (widgets.AdminDateWidget, DateInput),
                (widgets.AdminTimeWidget, TimeInput),
            ):
                if type(field.widget) is stock:
                    field.widget = ours(attrs=field.widget.attrs)
        return field


class PlainTitles(MixedIntoModelAdmin):
    """
    Mixed into every ModelAdmin the site registers: a list is headed by what it lists
    ("Fees"), not Django's "Select fee to change", which reads as an instruction.
    """

    def changelist_view(self, request, extra_context=None):
        title = capfirst(self.model._meta.verbose_name_plural)
        return super().changelist_view(request, {"title": title, **(extra_context or {})})


class PortalAdminSite(admin.AdminSite):
    """The practice workspace. With ADMIN_REQUIRE_2FA, nobody gets in on a password alone."""

    site_header = "Client Portal · Practice"
    site_title = "Client Portal practice"
    index_title = "Your practice"
    login_form = AdminSignInForm

    def register(self, model_or_iterable, admin_class=None, **options):
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, RefuseHostileInput):
            admin_class = type(
                admin_class.__name__,
                (
                    RefuseHostileInput,
                    PlainTitles,
                    NoDanglingReferences,
                    # What the admin shows of client records is logged: it declares how.
                    *(() if issubclass(admin_class, LogsClientRecords) else (LogsClientRecords,)),
                    admin_class,
                ),
                {"__module__": admin_class.__module__, "__doc__": admin_class.__doc__},
            )
        super().register(model_or_iterable, admin_class, **options)

    # The page a practice lands on at /admin/, set by the app that owns it (portal imports no
    # app): called with (request, site), it answers, or returns None for the stock index.
    landing: Callable[[HttpRequest, "PortalAdminSite"], HttpResponse | None] | None = None

    # The zone the workspace shows a user's times in, set by the app that knows practices:
    # called with the signed-in user, it returns a zone, or None to keep the user's own.
    practice_zone: Callable[[Any], ZoneInfo | None] | None = None

    def admin_view(self, view, cacheable=False):
        """Every workspace page on the practice's clock (the middleware resets it after)."""
        guarded = super().admin_view(view, cacheable)

        @wraps(guarded)
        def on_practice_clock(request, *args, **kwargs):
            if self.practice_zone is not None and request.user.is_authenticated:
                zone = self.practice_zone(request.user)
                if zone is not None:
                    timezone.activate(zone)
            return guarded(request, *args, **kwargs)

        return on_practice_clock

    def index(self, request, extra_context=None):
        if self.landing is not None:
            response = self.landing(request, self)
            if response is not None:
                return response
        return super().index(request, extra_context)

    def has_permission(self, request) -> bool:
        if not super().has_permission(request):
            return False
        return not settings.ADMIN_REQUIRE_2FA or second_step_done(request.user)

    def login(self, request, extra_context=None):
        user = request.user
        if (
            settings.ADMIN_REQUIRE_2FA
            and user.is_authenticated
            and user.is_active
            and user.is_staff
            and not second_step_done(user)
        ):
            target = request.GET.get("next") or reverse("admin:index")
            # Encoded: a next of /admin/x/?a=1&b=2#top must come back whole, not as next=/admin
            # /x/?a=1 with a stray b and a fragment the browser keeps to itself.
            return redirect(f"{reverse('admin:two-factor')}?{urlencode({'next': target})}")
        return super().login(request, extra_context)

    def get_urls(self):
        # Models are loaded only once the admin is; converters registers <session:...>.
        from portal import admin_sessions, converters, two_factor  # noqa: F401

        get, post = require_GET, require_POST
        return [
            path(
                "sessions/",
                self.admin_view(get(lambda request: admin_sessions.session_list(request, self))),
                name="sessions",
            ),
            path(
                "sessions/<session:handle>/end/",
                self.admin_view(post(admin_sessions.session_end)),
                name="session-end",
            ),
            path(
                "sessions/end-others/",
                self.admin_view(post(admin_sessions.sessions_end_others)),
                name="sessions-end-others",
            ),
            path(
                "two-factor/",
                lambda request: two_factor.two_factor(request, self),
                name="two-factor",
            ),
            path(
                "two-factor/set-up/<str:token>/",
                lambda request, token: two_factor.enrol(request, self, token),
                name="two-factor-enrol",
            ),
            path(
                "two-factor/recovery-codes/",
                lambda request: two_factor.recovery_codes(request, self),
                name="two-factor-codes",
            ),
            *super().get_urls(),
        ]

"""
The access log in the admin, for superusers only, and only to read: no add, change or delete,
no actions. Every filter is a query one of the log's indexes answers ((client, at, id),
(actor, at, id) or (at)), and nothing on the page grows with the log's size:

- the client and staff-member filters are an email typed into a box, not a list of every user
  (a dropdown of 10,000 clients is a page nobody can use, and a query over all of them);
- there is no date drill-down (Django's runs DISTINCT over the whole table) but two dates;
- the count stops at `COUNT_CAP`, and no full count of the table is made;
- no column sorts, since any order but the newest first would have no index to read from.
"""

import json
from datetime import date, datetime, time, timedelta

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import cached_property

from portal.admin import SuperuserOnlyMixin
from portal.audit.models import AuditEntry
from portal.inputs import RefusedInput, year_in_range
from portal.models import User, normalize_email_address

COUNT_CAP = 10_000


class CappedPaginator(Paginator):
    """Counts at most COUNT_CAP rows (a LIMIT inside the COUNT): ten million are never counted."""

    @cached_property
    def count(self) -> int:
        rows: QuerySet = self.object_list  # type: ignore[assignment]
        return rows[:COUNT_CAP].count()


class InputFilter(admin.ListFilter):
    """A filter that is one typed value (an email, a date) rather than a list of choices."""

    template = "admin/portal/input_filter.html"
    parameter_name = ""
    input_type = "text"
    label = ""

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        raw = params.pop(self.parameter_name, None)
        value = (raw[-1] if isinstance(raw, list) else raw or "").strip()
        self.raw = value
        self.parsed = self.parse(value) if value else None
        if value:
            self.used_parameters[self.parameter_name] = value

    def parse(self, value: str):
        return value

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str | None]:
        return [self.parameter_name]

    def choices(self, changelist):
        # The other filters' values ride along as hidden inputs, so typing here keeps them.
        keep = {
            name: value for name, value in changelist.params.items() if name != self.parameter_name
        }
        yield {
            "name": self.parameter_name,
            "type": self.input_type,
            "label": self.label,
            "value": self.raw,
            "hidden": sorted(keep.items()),
            "clear": changelist.get_query_string(remove=[self.parameter_name]),
        }


class EmailFilter(InputFilter):
    input_type = "email"
    field = ""

    def parse(self, value: str) -> int:
        # One lookup by the unique email (stored folded); a stranger's email finds no account.
        found = User.objects.filter(email=normalize_email_address(value)).values_list(
            "pk", flat=True
        )
        return next(iter(found), 0)

    def queryset(self, request, queryset):
        if self.parsed is None:
            return queryset
        return queryset.filter(**{f"{self.field}_id": self.parsed})


class ClientFilter(EmailFilter):
    title = "client"
    label = "Client's email"
    parameter_name = "client_email"
    field = "client"


class ActorFilter(EmailFilter):
    title = "staff member"
    label = "Staff member's email"
    parameter_name = "actor_email"
    field = "actor"


class DateFilter(InputFilter):
    input_type = "date"

    def parse(self, value: str) -> datetime:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise RefusedInput(f"{value!r} is not a date; pick one like 2026-03-10.") from None
        if not year_in_range(day.year):
            raise RefusedInput(f"{value} is out of range; pick a date nearer today.")
        return self.bound(day)

    def bound(self, day: date) -> datetime:
        raise NotImplementedError


class FromFilter(DateFilter):
    title = "date, from"
    label = "On or after (your time)"
    parameter_name = "on_or_after"

    def bound(self, day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())

    def queryset(self, request, queryset):
        return queryset if self.parsed is None else queryset.filter(at__gte=self.parsed)


class ToFilter(DateFilter):
    title = "date, to"
    label = "On or before (your time)"
    parameter_name = "on_or_before"

    def bound(self, day: date) -> datetime:
        # The whole day: up to the next one's midnight, in the viewer's zone.
        next_day = day + timedelta(days=1)
        return datetime.combine(next_day, time.min, tzinfo=timezone.get_current_timezone())

    def queryset(self, request, queryset):
        return queryset if self.parsed is None else queryset.filter(at__lt=self.parsed)


def _body(entry: AuditEntry) -> dict:
    try:
        body = json.loads(entry.body)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _email(user: User | None, pk: int | None) -> str:
    if user is not None:
        return user.email
    return f"account {pk} (deleted)" if pk else ""


ENTRY_FIELDS = (
    "seq",
    "when",
    "actor_email",
    "actor_role",
    "practice",
    "client_email",
    "action",
    "records",
    "detail",
    "origin",
    "address",
)


@admin.register(AuditEntry)
class AuditEntryAdmin(SuperuserOnlyMixin, admin.ModelAdmin):
    list_display = ENTRY_FIELDS
    list_display_links = ("seq",)
    list_filter = (ClientFilter, ActorFilter, FromFilter, ToFilter)
    list_select_related = ("actor", "client")
    # Newest first, the order the (client, at, id), (actor, at, id) and (at) indexes read in.
    ordering = ("-at", "-id")
    sortable_by = ()
    actions = None
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER  # a count per filter choice, over the whole log
    paginator = CappedPaginator
    list_per_page = 50
    fields = readonly_fields = ENTRY_FIELDS

    def changelist_view(self, request: HttpRequest, extra_context=None):
        subtitle = (
            f"Newest first, times in {timezone.get_current_timezone_name()}. The count stops "
            f"at {COUNT_CAP:,}: narrow by client, staff member or dates to reach further back."
        )
        return super().changelist_view(request, {"subtitle": subtitle, **(extra_context or {})})

    @admin.display(description="when")
    def when(self, entry: AuditEntry) -> str:
        return f"{timezone.localtime(entry.at):%Y-%m-%d %H:%M:%S %Z}"

    @admin.display(description="staff member")
    def actor_email(self, entry: AuditEntry) -> str:
        return _email(entry.actor, entry.actor_id)

    @admin.display(description="client")
    def client_email(self, entry: AuditEntry) -> str:
        return _email(entry.client, entry.client_id)

    @admin.display(description="practice")
    def practice(self, entry: AuditEntry) -> str:
        return "" if entry.practice_id is None else f"practice {entry.practice_id}"

    @admin.display(description="records")
    def records(self, entry: AuditEntry) -> str:
        return ", ".join(_body(entry).get("r", []))

    @admin.display(description="detail")
    def detail(self, entry: AuditEntry) -> str:
        return str(_body(entry).get("d", ""))

    @admin.display(description="origin")
    def origin(self, entry: AuditEntry) -> str:
        return str(_body(entry).get("o", ""))

"""
What the practice workspace shows and changes of client records, noted for the access log
(portal.audit.buffer): the middleware writes a page's entries in one INSERT after it answered.

`LogsClientRecords` is mixed into every ModelAdmin by `PortalAdminSite.register`. An admin
that shows client records says how to find the client and the practice of one of its rows
(`audit_client`, `audit_practice`, ORM paths); one that declares nothing holds no client data
and logs nothing. The paths are followed on rows the page has already read (the changelist's
`list_select_related`, the object of a change page), so logging costs no query of its own
beyond the INSERT.

Entries are noted from what a view answered, not from `get_object`: a page that refused
(403), found nothing (the redirect for a missing object) or failed showed no record.
"""

import dataclasses
import json
from collections.abc import Iterable
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.db.models import Model
from django.http import HttpRequest
from django.template.response import TemplateResponse

from portal.audit import buffer
from portal.audit.models import Action
from portal.audit.requests import listed_entries, record_name

if TYPE_CHECKING:
    MixedIntoModelAdmin = admin.ModelAdmin
else:
    MixedIntoModelAdmin = object

# (client_id, practice_id, record): one row as the log sees it.
Target = tuple[int | None, int | None, str]


def follow(obj: Model | None, path: str | None) -> Any:
    """
    The value at the end of an ORM path ("appointment__provider"), as the id a foreign key
    holds (no query for its last step); "" is the object's own pk, None is no value.
    """
    if obj is None or path is None:
        return None
    if path == "":
        return obj.pk
    *through, last = path.split("__")
    for name in through:
        obj = getattr(obj, name)
        if obj is None:
            return None
    field = obj._meta.get_field(last)
    return getattr(obj, getattr(field, "attname", last))


def change_words(message) -> str:
    """An admin change message (Django's JSON list, or text) in the words the history uses."""
    if isinstance(message, str):
        return message
    return LogEntry(change_message=json.dumps(message)).get_change_message()


class LogsClientRecords(MixedIntoModelAdmin):
    """
    An admin declares, as class attributes (read here with getattr, so that this mixin, which
    `PortalAdminSite.register` puts before the admin's own class, does not hide them):

    - `audit_client`: from a row to its client's account, "client"; "" when the row is the
      client's own account (the user list). Undeclared: the admin shows no client's record.
    - `audit_practice`: from a row to its practice (an appointments.Provider), "provider".
      Undeclared: the rows belong to no one practice.

    An admin that shapes its entries further (what its change page lists, how its rows name a
    client) subclasses this mixin itself and overrides `audit_targets` or
    `audit_records_shown`; register then adds nothing.
    """

    @property
    def audit_client_path(self) -> str | None:
        return getattr(self, "audit_client", None)

    @property
    def audit_practice_path(self) -> str | None:
        return getattr(self, "audit_practice", None)

    # --- Which client and practice -----------------------------------------------------------

    def audit_targets(self, request: HttpRequest, objects: Iterable[Model]) -> list[Target]:
        """Rows already read, as (client, practice, record), with no query of their own."""
        return [
            (
                follow(obj, self.audit_client_path),
                follow(obj, self.audit_practice_path),
                record_name(obj),
            )
            for obj in objects
        ]

    def audit_targets_of_queryset(self, request: HttpRequest, queryset) -> list[Target]:
        """Rows not read yet (an action's selection): their ids in one query, not each row."""
        label = self.model._meta.label_lower
        practice = self.audit_practice_path
        fields = ["pk", self.audit_client_path or "pk", *([practice] if practice else [])]
        return [
            (row[1], row[2] if practice else None, f"{label}:{row[0]}")
            for row in queryset.order_by().values_list(*fields)
        ]

    def audit_note(
        self,
        request: HttpRequest,
        action: str,
        targets: Iterable[Target],
        detail: str = "",
    ) -> None:
        """One entry per client (and practice) among `targets`, naming all their records."""
        if self.audit_client_path is None:
            return
        entries = listed_entries(request, targets, action=action, detail=detail)
        if entries:
            buffer.note(*entries)

    def audit_object(self, request: HttpRequest, action: str, obj, detail: str = "") -> None:
        self.audit_note(request, action, self.audit_targets(request, [obj]), detail)

    def audit_records_shown(self, request: HttpRequest, obj, context: dict) -> list[Target]:
        """What a change page shows of the client: the object; admins add what they list."""
        return self.audit_targets(request, [obj])

    # --- Reads ---------------------------------------------------------------------------------

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = _context(response).get("cl")
        if changelist is not None and self.audit_client_path is not None:
            rows = list(changelist.result_list)  # the page's own rows, read once and kept
            self.audit_note(request, Action.LISTED, self.audit_targets(request, rows))
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        context = _context(response)
        obj = context.get("original")
        if obj is None:
            return response
        if self.audit_client_path is not None:
            targets = self.audit_records_shown(request, obj, context)
            self.audit_note(request, Action.VIEWED, targets)
        # Rows of inlines that show clients (a practice's care team on its profile), listed.
        for inline in context.get("inline_admin_formsets", []):
            client = getattr(inline.opts, "audit_client", None)
            if client is None:
                continue
            practice = getattr(inline.opts, "audit_practice", None)
            rows = [
                (follow(form.instance, client), follow(form.instance, practice), form.instance)
                for form in inline.formset.initial_forms
            ]
            entries = listed_entries(
                request, [(who, where, record_name(row)) for who, where, row in rows]
            )
            if entries:
                buffer.note(*entries)
        return response

    def history_view(self, request, object_id, extra_context=None):
        response = super().history_view(request, object_id, extra_context)
        obj = _context(response).get("object")
        if obj is not None:
            self.audit_object(request, Action.VIEWED_HISTORY, obj)
        return response

    def delete_view(self, request, object_id, extra_context=None):
        # The confirmation page shows the record; the deletion itself is noted by
        # log_deletions.
        response = super().delete_view(request, object_id, extra_context)
        obj = _context(response).get("object")
        if obj is not None:
            self.audit_object(request, Action.VIEWED, obj)
        return response

    # --- Writes ----------------------------------------------------------------------------------

    def log_addition(self, request, obj, message):
        self.audit_object(request, Action.CHANGED, obj, f"added: {change_words(message)}")
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self.audit_object(request, Action.CHANGED, obj, change_words(message))
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        if getattr(request, "_audit_action_running", False):
            # Deleted by an action, whose own entry names it: one entry per client, not two.
            return super().log_deletions(request, queryset)
        if isinstance(queryset, list | tuple):
            targets = self.audit_targets(request, queryset)
        else:
            targets = self.audit_targets_of_queryset(request, queryset)
        self.audit_note(request, Action.CHANGED, targets, "deleted")
        return super().log_deletions(request, queryset)

    def _get_base_actions(self, *args, **kwargs):
        """
        Each action run on client rows is noted, by name, for every client it touched. Django
        gathers the site's actions (delete_selected) and the admin's own here, and only here:
        the site's never pass through get_action.
        """
        found = super()._get_base_actions(*args, **kwargs)  # type: ignore[misc]
        if self.audit_client_path is None:
            return found
        return [
            dataclasses.replace(each, func=self._audited(each.func, each.name)) for each in found
        ]

    def _audited(self, func, name: str):
        @wraps(func)
        def logged(modeladmin, request, queryset):
            # Django's delete_selected first only asks; the deletion runs on the second POST.
            runs = name != "delete_selected" or bool(request.POST.get("post"))
            targets = self.audit_targets_of_queryset(request, queryset) if runs else []
            request._audit_action_running = True
            try:
                response = func(modeladmin, request, queryset)
            finally:
                request._audit_action_running = False
            self.audit_note(request, Action.ADMIN_ACTION, targets, name)
            return response

        return logged


def _context(response) -> dict:
    if isinstance(response, TemplateResponse) and response.context_data is not None:
        return dict(response.context_data)
    return {}

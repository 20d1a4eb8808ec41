"""
A series' emails: one to the client and one to the provider for the series as a whole (booked,
ended, its time changed, dates left out when it was booked further ahead), never one per
session, each with the series' calendar file. Written by the worker from the SeriesChange, as
appointments/emails.py writes a single appointment's from its history entry: the keys follow
from the change's random seed, so a task run twice writes them once.

The text reports the change as it was recorded (its `details`); the calendar file is the series
as it stands when the email is written, with the SEQUENCE it has then, so a file written late
never undoes a later change in anyone's calendar.
"""

import uuid
from datetime import date, datetime

from django.conf import settings
from django.db import transaction
from django.tasks import task
from django.urls import reverse
from django.utils import timezone

from appointments.calendar import series_invitation
from appointments.emails import AUDIENCES, requeue, unwritten, write_once, written
from appointments.models import Appointment, AppointmentSeries, SeriesChange
from portal.mail import queue_email


def queue_series_emails(change: SeriesChange) -> None:
    """Call it inside the change's transaction: the worker writes and sends the emails."""
    with transaction.atomic(savepoint=False):
        write_series_emails.enqueue(change.pk)


def series_email_key(change: SeriesChange, audience: str) -> uuid.UUID:
    """The key of the change's email to `audience`: the same every time it is derived."""
    return uuid.uuid5(change.email_seed, audience)


def _series(pk: int) -> AppointmentSeries:
    return AppointmentSeries.objects.select_related(
        "client", "provider__user", "appointment_type"
    ).get(pk=pk)


def _instants(values: list[str]) -> list[datetime]:
    return [datetime.fromisoformat(value) for value in values]


def _left_out(series: AppointmentSeries, details: dict) -> list[tuple[datetime, str]]:
    """The dates left out, at the time the rule gave them, and why."""
    from appointments.series import CLASH_WORDS  # the services queue these emails

    why = details.get("clashes", {})
    return [
        (
            series.occurrence(date.fromisoformat(day)),
            CLASH_WORDS.get(why.get(day), "left out when the series was booked"),
        )
        for day in details.get("skipped", [])
    ]


def _context(change: SeriesChange, series: AppointmentSeries) -> dict:
    """
    What the templates say: the change as it was recorded, whatever happened since. Instants
    stay aware: the `date` filter shows them in the zone active when the email is rendered,
    the recipient's.
    """
    details = change.details
    charged = details.get("charged", {})
    moved = [
        (datetime.fromisoformat(old), datetime.fromisoformat(new))
        for old, new in details.get("moved", [])
    ]
    added = _instants(details.get("added", []))
    return {
        "change": change,
        "series": series,
        "client": series.client,
        "provider": series.provider,
        "repeat": series.get_repeat_display(),
        "ended_by_client": change.actor_id == series.client_id,
        "from_day": series.occurrence(date.fromisoformat(details["from"]))
        if "from" in details
        else None,
        "open_ended": series.is_open_ended,
        "booked": _instants(details.get("booked", [])),
        "left_out": _left_out(series, details),
        "cancelled": [
            (datetime.fromisoformat(start), charged.get(start))
            for start in details.get("cancelled", [])
        ],
        "kept": _instants(details.get("kept", [])),
        "moved": moved,
        "added": added,
        "new_first": min([new for _, new in moved] + added, default=None),
        "portal_url": settings.PORTAL_BASE_URL,
        "portal_name": settings.PORTAL_NAME,
    }


def _link(audience: str, session: Appointment | None) -> str:
    """
    The client's Appointments tab; for the provider, the page of the first session of the
    series (the new one, when the time changed).
    """
    if audience == "client":
        return settings.PORTAL_BASE_URL + reverse("appointments:list")
    if session is None:
        return settings.PORTAL_BASE_URL + reverse("admin:appointments_appointment_changelist")
    return settings.PORTAL_BASE_URL + reverse(
        "admin:appointments_appointment_change", args=[session.pk]
    )


@task
def write_series_emails(change_id: int) -> int:
    """The change's two emails; how many were written (none when they already were)."""
    change = SeriesChange.objects.get(pk=change_id)
    keys = {audience: series_email_key(change, audience) for audience in AUDIENCES}
    if written(keys):
        return 0
    series = _series(change.series_id)
    context = _context(change, series)
    # A change of time ends this series and a new one goes on: two calendar entries.
    entries = [series]
    if "continued_by" in change.details:
        continued = _series(change.details["continued_by"])
        entries.append(continued)
        context["continued"] = continued
    recipients = {
        "client": (series.client, series.client.zone),
        "provider": (series.provider.user, series.provider.zone),
    }

    def write(audience: str, key: uuid.UUID) -> None:
        recipient, zone = recipients[audience]
        files = [series_invitation(each, attendee=recipient.email) for each in entries]
        attachments: list[tuple[str, bytes | str, str]] = [
            (f"series-{each.pk}.ics", ics, f"text/calendar; charset=utf-8; method={method}")
            for each, (method, ics) in zip(entries, files, strict=True)
        ]
        with timezone.override(zone):
            queue_email(
                f"series-{change.kind}",
                context
                | {
                    "audience": audience,
                    "recipient": recipient,
                    "cancelled_whole": files[0][0] == "CANCEL",
                    "link": _link(audience, entries[-1].sessions.order_by("occurrence").first()),
                },
                to=recipient.email,
                attachments=attachments,
                key=key,
                client_id=series.client_id,
                practice_id=series.provider_id,
                about=[f"appointments.appointmentseries:{each.pk}" for each in entries],
            )

    return write_once(keys, write)


def unwritten_series_changes(now: datetime, *, batch: int = 500) -> list[int]:
    """The series changes whose emails are missing (see appointments.emails.unwritten)."""
    return unwritten(
        SeriesChange.objects.all(), lambda change: series_email_key(change, "client"), now, batch
    )


def requeue_unwritten_series(now: datetime, dry_run: bool) -> tuple[str, int]:
    return requeue("series change", write_series_emails, unwritten_series_changes(now), dry_run)

"""
Appointment emails. They say that something happened and link to the portal: no clinical
content (no appointment type, no notes), and a calendar file for the recipient's calendar.

The change queues one task in its own transaction (`queue_appointment_emails`), and the worker
writes the two emails from the change's history entry, as the change stood then: a booking
moved a minute later still gets its "booked" email with the first time and its own calendar
SEQUENCE. Each email's key (its Message-ID) follows from the entry's random `email_seed` and
the recipient, so the emails of one change are written once, however often the task runs, and
no other database (a second installation, a staging copy, a restored backup) gives the same
key to an email of its own.
"""

import copy
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.tasks import Task, task
from django.utils import timezone

from appointments.calendar import appointment_calendar
from appointments.models import Appointment, AppointmentEvent, AppointmentSeries
from portal.mail import LOST_AFTER, queue_email
from portal.models import Email

# What each kind of change says, and the calendar method its attachment carries.
KINDS: dict[str, str] = {
    AppointmentEvent.Kind.BOOKED: "REQUEST",
    AppointmentEvent.Kind.RESCHEDULED: "REQUEST",
    AppointmentEvent.Kind.CANCELLED: "CANCEL",
}
AUDIENCES = ("client", "provider")


def email_key(event: AppointmentEvent, audience: str) -> uuid.UUID:
    """The key of the change's email to `audience`: the same every time it is derived."""
    if event.email_seed is None:
        # Recorded before entries had a seed (appointments migration 0015): their emails may
        # be written already, or their task still queued across the deploy, so they keep the
        # keys they had, derived from the id. No backfilled seed could give two such keys.
        return uuid.uuid5(
            uuid.NAMESPACE_URL,
            f"https://{settings.PORTAL_CALENDAR_DOMAIN}/appointment-event/{event.pk}/{audience}",
        )
    return uuid.uuid5(event.email_seed, audience)


def as_it_stood(event: AppointmentEvent) -> Appointment:
    """The event's appointment with the time, status and calendar SEQUENCE the change gave it."""
    appointment = copy.copy(event.appointment)
    start = event.new_start or event.old_start
    if start is None or event.ics_sequence is None:
        raise ValueError(f"History entry {event.pk} is not a change the emails report.")
    appointment.end = start + appointment.duration
    appointment.start = start
    appointment.ics_sequence = event.ics_sequence
    cancelled = event.kind == AppointmentEvent.Kind.CANCELLED
    appointment.status = Appointment.Status.CANCELLED if cancelled else Appointment.Status.SCHEDULED
    if appointment.series_id is not None:
        _in_series_as_it_stood(event, appointment)
    return appointment


def _in_series_as_it_stood(event: AppointmentEvent, appointment: Appointment) -> None:
    """
    A session's series and rule date as they were at the change. Changing a series' time from
    a date moves its sessions to the series that continues it, with new rule dates; an email
    written after that still updates the date of the series the change was made in.
    """
    placed = (
        AppointmentEvent.objects.filter(
            appointment_id=event.appointment_id,
            pk__lt=event.pk,
            kind__in=[AppointmentEvent.Kind.BOOKED, AppointmentEvent.Kind.RESCHEDULED],
            details__has_key="series",
        )
        .order_by("-pk")
        .only("new_start", "details")
        .first()
    )
    if placed is None or placed.details["series"] == appointment.series_id:
        return
    appointment.series = AppointmentSeries.objects.get(pk=placed.details["series"])
    appointment.occurrence = placed.new_start


def _queue(
    appointment: Appointment, kind: str, *, recipient, audience: str, zone, old_start, key
) -> None:
    with timezone.override(zone):
        context = {
            "appointment": appointment,
            "audience": audience,
            "recipient": recipient,
            "start": timezone.localtime(appointment.start),
            "old_start": timezone.localtime(old_start) if old_start else None,
            "portal_url": settings.PORTAL_BASE_URL,
            "portal_name": settings.PORTAL_NAME,
        }
        method = KINDS[kind]
        ics = appointment_calendar(appointment, method=method, attendee=recipient.email)
        queue_email(
            f"appointment-{kind}",
            context,
            to=recipient.email,
            attachments=[
                ("appointment.ics", ics, f"text/calendar; charset=utf-8; method={method}")
            ],
            key=key,
            # The provider's copy is about the client's appointment as much as theirs.
            client_id=appointment.client_id,
            practice_id=appointment.provider_id,
            about=[f"appointments.appointment:{appointment.pk}"],
        )


def queue_appointment_emails(event: AppointmentEvent) -> None:
    """Call it inside the change's transaction: the worker writes and sends the emails."""
    # With the change: no savepoint of its own (a failure fails the change).
    with transaction.atomic(savepoint=False):
        write_appointment_emails.enqueue(event.pk)


@task
def write_appointment_emails(event_id: int) -> int:
    """
    One email to the client and one to the provider, each in their own time zone, queued for
    delivery together; how many were written (none when they already were).
    """
    event = AppointmentEvent.objects.select_related(
        "appointment__client",
        "appointment__provider__user",
        "appointment__appointment_type",
        "appointment__series",
    ).get(pk=event_id)
    keys = {audience: email_key(event, audience) for audience in AUDIENCES}
    if written(keys):
        return 0
    appointment = as_it_stood(event)
    old_start = event.old_start if event.kind == AppointmentEvent.Kind.RESCHEDULED else None
    recipients = {
        "client": (appointment.client, appointment.client.zone),
        "provider": (appointment.provider.user, appointment.provider.zone),
    }

    def write(audience: str, key: uuid.UUID) -> None:
        recipient, zone = recipients[audience]
        _queue(
            appointment,
            event.kind,
            recipient=recipient,
            audience=audience,
            zone=zone,
            old_start=old_start,
            key=key,
        )

    return write_once(keys, write)


def written(keys: dict[str, uuid.UUID]) -> bool:
    """Whether the emails of these keys are written (one stands for all: they are together)."""
    return Email.objects.filter(key__in=keys.values()).exists()


def write_once(keys: dict[str, uuid.UUID], write: Callable[[str, uuid.UUID], None]) -> int:
    """
    A change's emails, one to each audience with its key, all together or none; how many were
    written (none when a run of the same task wrote them first).
    """
    try:
        with transaction.atomic():
            for audience, key in keys.items():
                write(audience, key)
    except IntegrityError:
        # Another run of this task wrote them first.
        if written(keys):
            return 0
        raise
    return len(keys)


def unwritten(
    changes: models.QuerySet, client_key: Callable[[Any], uuid.UUID], now: datetime, batch: int
) -> list[int]:
    """
    Of `changes` (rows with `at` and `email_seed`), those whose emails are not written
    LOST_AFTER on (their task was lost with a worker, or failed), newest first, from as long
    ago as an email is retried.
    """
    rows = list(
        changes.filter(
            at__gte=now - settings.PORTAL_EMAIL_RETRY_FOR,
            at__lt=now - LOST_AFTER,
        )
        .order_by("-at", "-pk")
        .only("pk", "email_seed")
    )
    found = []
    for offset in range(0, len(rows), batch):
        chunk = rows[offset : offset + batch]
        # Both emails of a change are written together: the client's stands for the two.
        keys = {client_key(row): row.pk for row in chunk}
        done = set(Email.objects.filter(key__in=keys).values_list("key", flat=True))
        found += [pk for key, pk in keys.items() if key not in done]
    return found


def unwritten_changes(now: datetime, *, batch: int = 500) -> list[int]:
    """The emailed appointment changes whose emails are missing (see `unwritten`)."""
    return unwritten(
        AppointmentEvent.objects.filter(ics_sequence__isnull=False),
        lambda event: email_key(event, "client"),
        now,
        batch,
    )


def requeue(what: str, writer: Task, ids: list[int], dry_run: bool) -> tuple[str, int]:
    """For requeue_lost_work: a new task of `writer` for each change whose emails are missing."""
    if not dry_run:
        for pk in ids:
            writer.enqueue(pk)
    return what, len(ids)


def requeue_unwritten(now: datetime, dry_run: bool) -> tuple[str, int]:
    return requeue("appointment change", write_appointment_emails, unwritten_changes(now), dry_run)

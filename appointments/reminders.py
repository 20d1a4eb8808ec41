from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from appointments.models import Appointment, Reminder
from portal.mail import queue_email


def due_for_reminder(now: datetime, hours_ahead: int):
    kind = f"{hours_ahead}h"
    return (
        Appointment.objects.active()
        .filter(start__gt=now, start__lte=now + timedelta(hours=hours_ahead))
        .exclude(reminders__kind=kind)
        .select_related("client", "provider")
        .order_by("start")
    )


def queue_reminders(*, hours_ahead: int, now: datetime | None = None, dry_run: bool = False) -> int:
    """
    Queue a reminder email to each client about appointments starting within `hours_ahead`,
    once per appointment and kind. The reminder row is claimed and its email queued in one
    transaction: when two copies run at once, the unique constraint lets only one claim it.
    An email that cannot go out before the appointment starts is not sent at all.
    """
    now = now or timezone.now()
    kind = f"{hours_ahead}h"
    queued = 0
    for appointment in due_for_reminder(now, hours_ahead):
        if dry_run:
            queued += 1
            continue
        with timezone.override(appointment.client.zone):
            context = {
                "appointment": appointment,
                "recipient": appointment.client,
                "start": timezone.localtime(appointment.start),
                "portal_url": settings.PORTAL_BASE_URL,
                "portal_name": settings.PORTAL_NAME,
            }
            try:
                with transaction.atomic():
                    reminder = Reminder.objects.create(
                        appointment=appointment, kind=kind, queued_at=now
                    )
                    reminder.email = queue_email(
                        "appointment-reminder",
                        context,
                        to=appointment.client.email,
                        send_before=appointment.start,
                        client_id=appointment.client_id,
                        practice_id=appointment.provider_id,
                        about=[f"appointments.appointment:{appointment.pk}"],
                    )
                    reminder.save(update_fields=["email"])
            except IntegrityError:
                continue  # another copy of the command claimed it
        queued += 1
    return queued

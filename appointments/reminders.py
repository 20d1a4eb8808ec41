from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from appointments.models import Appointment, Reminder
from portal.mail import send_templated


def due_for_reminder(now: datetime, hours_ahead: int):
    kind = f"{hours_ahead}h"
    return (
        Appointment.objects.active()
        .filter(start__gt=now, start__lte=now + timedelta(hours=hours_ahead))
        .exclude(reminders__kind=kind)
        .select_related("client", "provider")
        .order_by("start")
    )


def send_reminders(*, hours_ahead: int, now: datetime | None = None, dry_run: bool = False) -> int:
    """
    Email each client about appointments starting within `hours_ahead`, once per appointment
    and kind. The reminder row is claimed before the email goes: when two copies run at once,
    the unique constraint lets only one of them claim it.
    """
    now = now or timezone.now()
    kind = f"{hours_ahead}h"
    sent = 0
    for appointment in due_for_reminder(now, hours_ahead):
        if dry_run:
            sent += 1
            continue
        try:
            with transaction.atomic():
                Reminder.objects.create(appointment=appointment, kind=kind, sent_at=now)
        except IntegrityError:
            continue  # another copy of the command claimed it
        with timezone.override(appointment.client.zone):
            context = {
                "appointment": appointment,
                "recipient": appointment.client,
                "start": timezone.localtime(appointment.start),
                "portal_url": settings.PORTAL_BASE_URL,
                "portal_name": settings.PORTAL_NAME,
            }
            send_templated("appointment-reminder", context, to=[appointment.client.email])
        sent += 1
    return sent

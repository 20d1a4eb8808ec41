"""
Appointment emails. They say that something happened and link to the portal: no clinical
content (no appointment type, no notes), and a calendar file for the recipient's calendar.
They are queued in the transaction of the change, written as it stands then.
"""

from django.conf import settings
from django.utils import timezone

from appointments.calendar import appointment_calendar
from appointments.models import Appointment
from portal.mail import queue_email

# What each kind of email says, and the calendar method its attachment carries.
KINDS = {
    "booked": "REQUEST",
    "rescheduled": "REQUEST",
    "cancelled": "CANCEL",
}


def _queue(
    appointment: Appointment, kind: str, *, recipient, audience: str, zone, old_start
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
        )


def queue_appointment_emails(appointment: Appointment, kind: str, old_start=None) -> None:
    """One email to the client and one to the provider, each in their own time zone."""
    for recipient, audience, zone in [
        (appointment.client, "client", appointment.client.zone),
        (appointment.provider.user, "provider", appointment.provider.zone),
    ]:
        _queue(
            appointment,
            kind,
            recipient=recipient,
            audience=audience,
            zone=zone,
            old_start=old_start,
        )

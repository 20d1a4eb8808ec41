"""Calendar files (.ics) for appointments: one stable UID per appointment, stored with it, so
that a later file with a higher SEQUENCE moves the same calendar entry and METHOD:CANCEL
removes it."""

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress, vText

from appointments.models import Appointment, Modality


def appointment_uid(appointment: Appointment) -> str:
    # None only for an appointment the previous release booked while the new one was being
    # deployed (after appointments migration 0016 ran): the UID that release gave it.
    if appointment.calendar_uid is None:
        return f"appointment-{appointment.pk}@{settings.PORTAL_CALENDAR_DOMAIN}"
    return appointment.calendar_uid


def appointment_location(appointment: Appointment) -> str:
    kind = appointment.appointment_type
    if kind.modality == Modality.IN_PERSON:
        return kind.address
    if kind.modality == Modality.VIDEO:
        return kind.video_link
    return "By phone"


def appointment_calendar(
    appointment: Appointment, *, method: str = "PUBLISH", attendee: str | None = None
) -> bytes:
    """
    PUBLISH for a download; REQUEST (with the recipient as attendee) or CANCEL in emails.
    The summary names only the provider: no clinical detail leaves the portal.
    """
    calendar = Calendar()
    calendar.add("prodid", f"-//{settings.PORTAL_NAME}//Appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", appointment_uid(appointment))
    event.add("sequence", appointment.ics_sequence)
    event.add("dtstamp", timezone.now())
    event.add("dtstart", appointment.start)
    event.add("dtend", appointment.end)
    event.add("summary", f"Appointment with {appointment.provider.display_name}")
    event.add("location", appointment_location(appointment))
    page = settings.PORTAL_BASE_URL + reverse("appointments:list")
    event.add("url", page)
    event.add("description", f"Details and changes: {page}")
    cancelled = method == "CANCEL" or appointment.status == Appointment.Status.CANCELLED
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if method != "PUBLISH":
        organizer = vCalAddress(f"mailto:{settings.PORTAL_ORGANIZER_EMAIL}")
        organizer.params["cn"] = vText(settings.PORTAL_NAME)
        event.add("organizer", organizer)
        if attendee:
            event.add("attendee", vCalAddress(f"mailto:{attendee}"))
    calendar.add_component(event)
    return calendar.to_ical()

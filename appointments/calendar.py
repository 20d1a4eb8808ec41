"""
Calendar files (.ics) for appointments: one stable UID per appointment, stored with it, so
that a later file with a higher SEQUENCE moves the same calendar entry and METHOD:CANCEL
removes it.

A recurring series is one entry: a master VEVENT at the series' wall-clock time in its zone
(TZID, with the zone's VTIMEZONE), an RRULE, an EXDATE for each date of the rule without a
session, and an override VEVENT (same UID, RECURRENCE-ID = the date the rule gave it) for each
session moved off the rule. A session of a series is that entry's occurrence in every file, so
cancelling or moving one session changes that one date of the series in the calendar.

SEQUENCE (RFC 5546 applies a component only when its SEQUENCE rises): the master carries the
series' counter, which every change to the series as a whole raises (series.py); an occurrence
carries the series' counter plus its session's own, which every change to that session raises
(services.py). Both only rise, so their sum does too, and a file for the whole series outranks
each occurrence file written before it; and an override never carries a lower SEQUENCE than
its master, which some readers would take for a stale one.
"""

from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event, Timezone, vCalAddress, vText

from appointments.models import Appointment, AppointmentSeries, Modality, Provider

# How far past its last booked date an open-ended series' VTIMEZONE reaches: its RRULE never
# ends. Calendars that know the zone by its name (all the common ones) read no further anyway.
OPEN_ENDED_ZONE_YEARS = 10


def appointment_uid(appointment: Appointment) -> str:
    # None only for an appointment the previous release booked while the new one was being
    # deployed (after appointments migration 0016 ran): the UID that release gave it.
    if appointment.calendar_uid is None:
        return f"appointment-{appointment.pk}@{settings.PORTAL_CALENDAR_DOMAIN}"
    return appointment.calendar_uid


def appointment_location(appointment: Appointment | AppointmentSeries) -> str:
    kind = appointment.appointment_type
    if kind.modality == Modality.IN_PERSON:
        return kind.address
    if kind.modality == Modality.VIDEO:
        return kind.video_link
    return "By phone"


def _calendar(method: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", f"-//{settings.PORTAL_NAME}//Appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    return calendar


def _event(
    *,
    uid: str,
    sequence: int,
    start: datetime,
    end: datetime,
    provider: Provider,
    location: str,
    cancelled: bool,
    method: str,
    attendee: str | None,
) -> Event:
    """
    The fields every entry has, a single appointment's or a series'. The summary names only the
    provider: no clinical detail leaves the portal.
    """
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", timezone.now())
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", f"Appointment with {provider.display_name}")
    event.add("location", location)
    page = settings.PORTAL_BASE_URL + reverse("appointments:list")
    event.add("url", page)
    event.add("description", f"Details and changes: {page}")
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if method != "PUBLISH":
        organizer = vCalAddress(f"mailto:{settings.PORTAL_ORGANIZER_EMAIL}")
        organizer.params["cn"] = vText(settings.PORTAL_NAME)
        event.add("organizer", organizer)
        if attendee:
            event.add("attendee", vCalAddress(f"mailto:{attendee}"))
    return event


def _zone_component(zone_name: str, first: date, last: date) -> Timezone:
    """The VTIMEZONE a TZID of the series refers to, covering `first` to `last`."""
    return Timezone.from_tzinfo(
        ZoneInfo(zone_name),
        tzid=zone_name,
        first_date=date(first.year, 1, 1),
        last_date=date(last.year + 1, 1, 1),
    )


def appointment_calendar(
    appointment: Appointment, *, method: str = "PUBLISH", attendee: str | None = None
) -> bytes:
    """
    PUBLISH for a download; REQUEST (with the recipient as attendee) or CANCEL in emails. A
    session of a series is the series' occurrence on its rule date (`appointment.series` and
    `appointment.occurrence`).
    """
    if appointment.series_id is not None:
        return _occurrence_calendar(appointment, method=method, attendee=attendee)
    calendar = _calendar(method)
    cancelled = method == "CANCEL" or appointment.status == Appointment.Status.CANCELLED
    calendar.add_component(
        _event(
            uid=appointment_uid(appointment),
            sequence=appointment.ics_sequence,
            start=appointment.start,
            end=appointment.end,
            provider=appointment.provider,
            location=appointment_location(appointment),
            cancelled=cancelled,
            method=method,
            attendee=attendee,
        )
    )
    return calendar.to_ical()


def _occurrence_event(
    series: AppointmentSeries,
    session: Appointment,
    *,
    provider: Provider,
    location: str,
    method: str,
    attendee: str | None,
) -> Event:
    """One session as the override of its date in the series (RFC 5545 3.8.4.4)."""
    assert session.occurrence is not None  # every session of a series has its rule date
    zone = series.zone
    event = _event(
        uid=series.calendar_uid,
        sequence=series.ics_sequence + session.ics_sequence,
        start=session.start.astimezone(zone),
        end=session.end.astimezone(zone),
        provider=provider,
        location=location,
        cancelled=method == "CANCEL" or session.status == Appointment.Status.CANCELLED,
        method=method,
        attendee=attendee,
    )
    event.add("recurrence-id", session.occurrence.astimezone(zone))
    return event


def _occurrence_calendar(appointment: Appointment, *, method: str, attendee: str | None) -> bytes:
    series = appointment.series
    assert series is not None and appointment.occurrence is not None
    calendar = _calendar(method)
    days = [
        each.astimezone(series.zone).date() for each in (appointment.occurrence, appointment.start)
    ]
    calendar.add_component(_zone_component(series.time_zone, min(days), max(days)))
    calendar.add_component(
        _occurrence_event(
            series,
            appointment,
            provider=appointment.provider,
            location=appointment_location(appointment),
            method=method,
            attendee=attendee,
        )
    )
    return calendar.to_ical()


def _rule_dates(series: AppointmentSeries) -> list[date]:
    """The rule's dates a calendar shows as booked or excepted: an open one, those booked yet."""
    if series.is_open_ended and series.stopped_from is None:
        return series.dates(through=series.booked_through)
    return series.dates()


def series_calendar(
    series: AppointmentSeries, *, method: str = "PUBLISH", attendee: str | None = None
) -> bytes:
    """
    The whole series as one calendar entry, as it stands: PUBLISH for a download, REQUEST in
    emails. A series with no session left (ended from its start) is cancelled: CANCEL in an
    email, STATUS:CANCELLED in a download.
    """
    return _series_file(series, method, attendee)[1]


def series_invitation(series: AppointmentSeries, *, attendee: str) -> tuple[str, bytes]:
    """The series' file for an email to `attendee`, and its METHOD: REQUEST, or CANCEL."""
    return _series_file(series, "REQUEST", attendee)


def _series_file(series: AppointmentSeries, method: str, attendee: str | None) -> tuple[str, bytes]:
    zone = series.zone
    dates = _rule_dates(series)
    sessions = {
        each.occurrence.astimezone(zone).date(): each
        for each in series.sessions.exclude(status=Appointment.Status.CANCELLED).order_by(
            "occurrence"
        )
        if each.occurrence is not None
    }
    live = [sessions[day] for day in dates if day in sessions]
    cancelled = not live
    if cancelled and method != "PUBLISH":
        method = "CANCEL"
    calendar = _calendar(method)
    days = [series.first_date, *dates[-1:], *(each.start.astimezone(zone).date() for each in live)]
    last = max(days)
    if series.is_open_ended and series.stopped_from is None:
        last = date(last.year + OPEN_ENDED_ZONE_YEARS, 1, 1)
    calendar.add_component(_zone_component(series.time_zone, min(days), last))

    first_start = series.occurrence(series.first_date).astimezone(zone)
    duration = live[0].duration if live else series.appointment_type.duration
    location = appointment_location(series)
    master = _event(
        uid=series.calendar_uid,
        sequence=series.ics_sequence,
        start=first_start,
        end=first_start + duration,
        provider=series.provider,
        location=location,
        cancelled=cancelled,
        method=method,
        attendee=attendee,
    )
    if dates:
        master.add("rrule", _rrule(series, dates[-1]))
    left_out = [series.occurrence(day).astimezone(zone) for day in dates if day not in sessions]
    if left_out:
        master.add("exdate", left_out)
    calendar.add_component(master)
    for session in live:
        assert session.occurrence is not None
        if (session.start, session.end) != (session.occurrence, session.occurrence + duration):
            calendar.add_component(
                _occurrence_event(
                    series,
                    session,
                    provider=series.provider,
                    location=location,
                    method=method,
                    attendee=attendee,
                )
            )
    return method, calendar.to_ical()


def _rrule(series: AppointmentSeries, last: date) -> dict:
    """
    COUNT while the series keeps its count; UNTIL (the start of its last session, in UTC) once
    it ends by a date or was ended early; neither while it is open-ended.
    """
    if series.stopped_from is not None:
        return replace(series.rule, count=None).rrule(series.occurrence(last))
    return series.rule.rrule(series.occurrence(last) if series.until else None)


def appointments_calendar(appointments: list[Appointment]) -> bytes:
    """
    Many appointments in one PUBLISH calendar (the client's copy of their data), each the
    entry its emails made: the same UID, so importing it updates those entries rather than
    doubling them. A session of a series is its series' occurrence, as in its own file; each
    series' zone is given once. `appointments` come with their provider, type and series.
    """
    calendar = _calendar("PUBLISH")
    spans: dict[str, list[date]] = {}
    events = []
    for appointment in appointments:
        series = appointment.series
        if series is None or appointment.occurrence is None:
            events.append(
                _event(
                    uid=appointment_uid(appointment),
                    sequence=appointment.ics_sequence,
                    start=appointment.start,
                    end=appointment.end,
                    provider=appointment.provider,
                    location=appointment_location(appointment),
                    cancelled=appointment.status == Appointment.Status.CANCELLED,
                    method="PUBLISH",
                    attendee=None,
                )
            )
            continue
        days = spans.setdefault(series.time_zone, [])
        days += [
            each.astimezone(series.zone).date()
            for each in (appointment.occurrence, appointment.start)
        ]
        events.append(
            _occurrence_event(
                series,
                appointment,
                provider=appointment.provider,
                location=appointment_location(appointment),
                method="PUBLISH",
                attendee=None,
            )
        )
    for zone_name, days in sorted(spans.items()):
        calendar.add_component(_zone_component(zone_name, min(days), max(days)))
    for event in events:
        calendar.add_component(event)
    return calendar.to_ical()

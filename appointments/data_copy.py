"""
The appointments app's part of a client's copy of their data (portal.data_copy): their
appointments (a spreadsheet and one calendar file), fees and waitlist requests. Each file is
one query, however many rows.
"""

from appointments.calendar import appointment_location, appointments_calendar
from appointments.models import (
    Appointment,
    Fee,
    OfficeStaff,
    PartOfDay,
    Provider,
    WaitlistEntry,
    Weekday,
)
from portal.audit.models import Role
from portal.data_copy import Files, csv_file, local_time
from portal.models import User


def appointment_files(client: User) -> Files:
    appointments = list(
        Appointment.objects.filter(client=client)
        .select_related("provider", "appointment_type", "series")
        .order_by("start", "pk")
    )
    rows = (
        (
            local_time(each.start, client),
            local_time(each.end, client),
            each.provider.full_name,
            each.appointment_type.name,
            each.appointment_type.get_modality_display(),
            appointment_location(each),
            each.get_status_display(),
            local_time(each.created_at, client),
        )
        for each in appointments
    )
    header = ["start", "end", "provider", "type", "how", "where", "status", "booked at"]
    yield "appointments.csv", csv_file(header, rows)
    yield "appointments.ics", appointments_calendar(appointments)


def fee_files(client: User) -> Files:
    fees = (
        Fee.objects.of_client(client)
        .select_related("appointment__provider")
        .order_by("created_at", "pk")
    )
    rows = (
        (
            local_time(fee.created_at, client),
            fee.get_kind_display(),
            fee.amount,
            fee.currency,
            fee.get_status_display(),
            local_time(fee.appointment.start, client),
            fee.appointment.provider.full_name,
        )
        for fee in fees
    )
    header = ["charged at", "for", "amount", "currency", "status", "appointment", "provider"]
    yield "fees.csv", csv_file(header, rows)


def waitlist_files(client: User) -> Files:
    entries = (
        WaitlistEntry.objects.filter(client=client)
        .select_related("provider", "appointment_type")
        .order_by("joined_at", "pk")
    )
    days, parts = dict(Weekday.choices), dict(PartOfDay.choices)
    rows = (
        (
            local_time(entry.joined_at, client),
            entry.provider.full_name,
            entry.appointment_type.name,
            "; ".join(str(days.get(day, day)) for day in entry.weekdays) or "any day",
            "; ".join(str(parts.get(part, part)) for part in entry.parts) or "any time",
            entry.not_after.isoformat() if entry.not_after else "",
            entry.get_status_display(),
            entry.get_ended_reason_display() if entry.ended_reason else "",
            local_time(entry.ended_at, client),
        )
        for entry in entries
    )
    header = [
        "joined at",
        "provider",
        "type",
        "days",
        "times of day",
        "until",
        "status",
        "ended because",
        "ended at",
    ]
    yield "waitlist.csv", csv_file(header, rows)


def files(client: User) -> Files:
    yield from appointment_files(client)
    yield from fee_files(client)
    yield from waitlist_files(client)


def care_team_of(actor: User, client: User) -> tuple[int, str] | None:
    """
    The provider `actor` works for (as the provider or on their office staff) that has
    `client` on its care team, and the role they act in; None when there is none.
    """
    own = Provider.objects.filter(user=actor, clients=client).values_list("pk", flat=True).first()
    if own is not None:
        return own, Role.PROVIDER
    staffed = (
        OfficeStaff.objects.filter(user=actor, provider__clients=client)
        .values_list("provider_id", flat=True)
        .first()
    )
    if staffed is not None:
        return staffed, Role.OFFICE_STAFF
    return None

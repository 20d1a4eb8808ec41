"""Writes to appointments. Each is one transaction; every write to the schedule locks first."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from appointments import selectors
from appointments.emails import send_appointment_emails
from appointments.models import Appointment, AppointmentEvent, AppointmentType, Provider
from portal.models import User


class BookingError(Exception):
    """A booking that cannot be made; the message is written for the client."""


class SlotUnavailable(BookingError):
    def __init__(self, message: str = "That time was just taken. Please pick another."):
        super().__init__(message)


class NotBookable(BookingError):
    pass


def lock_schedules(*, client: User, provider: Provider) -> Provider:
    """
    Serialise every write to these two schedules. Rows are always locked client first, then
    provider, so two bookings cannot wait on each other. On SQLite select_for_update is a
    no-op; there the IMMEDIATE transaction already holds the database's single write lock.
    """
    User.objects.select_for_update().only("pk").get(pk=client.pk)
    return Provider.objects.select_for_update().get(pk=provider.pk)


def appointment_book(
    *,
    client: User,
    provider: Provider,
    appointment_type: AppointmentType,
    start: datetime,
    booked_by: User,
    now: datetime | None = None,
) -> Appointment:
    """Book `start` if it is open for this client; raise a BookingError otherwise."""
    if timezone.is_naive(start):
        raise ValueError("start must be an aware datetime")
    try:
        with transaction.atomic():
            provider = lock_schedules(client=client, provider=provider)
            now = now or timezone.now()
            # Checked again under the lock: the page the client saw may be minutes old.
            if not provider.clients.filter(pk=client.pk).exists():
                raise NotBookable("You can only book with providers on your care team.")
            if (
                appointment_type.provider_id != provider.pk
                or not selectors.bookable_types(provider).filter(pk=appointment_type.pk).exists()
            ):
                raise NotBookable("That kind of appointment can't be booked online.")
            if not selectors.is_open_slot(
                provider=provider,
                appointment_type=appointment_type,
                client=client,
                start=start,
                now=now,
            ):
                raise SlotUnavailable()
            appointment = Appointment.objects.create(
                provider=provider,
                client=client,
                appointment_type=appointment_type,
                start=start,
                end=start + appointment_type.duration,
                booked_by=booked_by,
                created_at=now,
            )
            AppointmentEvent.objects.create(
                appointment=appointment,
                kind=AppointmentEvent.Kind.BOOKED,
                actor=booked_by,
                at=now,
                new_start=start,
            )
            transaction.on_commit(lambda: send_appointment_emails(appointment, "booked"))
    except IntegrityError as error:
        # The exclusion constraint caught an overlap the lock should have prevented.
        raise SlotUnavailable() from error
    return appointment

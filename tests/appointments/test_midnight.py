"""A session that ends after midnight in the client's zone says so wherever its times show."""

from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from appointments.models import Appointment
from tests.factories import AppointmentFactory, PolicyFactory, open_slots_after

pytestmark = pytest.mark.django_db

ZONES = ["Asia/Shanghai", "Asia/Kolkata", "Europe/London", "Pacific/Auckland", "Asia/Tokyo"]


def crosses_midnight(start, end, zone: str) -> bool:
    return start.astimezone(ZoneInfo(zone)).date() != end.astimezone(ZoneInfo(zone)).date()


@pytest.fixture
def late(client_user, provider, session_type):
    """An open time that ends on the next day in the client's zone, which is set to suit it."""
    for start in open_slots_after(client_user, provider, session_type, days=3):
        for zone in ZONES:
            if crosses_midnight(start, start + session_type.duration, zone):
                client_user.time_zone = zone
                client_user.save()
                return start
    raise AssertionError("no open time crosses midnight in any of the zones")


def expected(start, end, zone: str) -> str:
    local_start, local_end = start.astimezone(ZoneInfo(zone)), end.astimezone(ZoneInfo(zone))
    return (
        f"{local_start.hour % 12 or 12}:{local_start:%M %p} – "
        f"{local_end.hour % 12 or 12}:{local_end:%M %p} (next day)"
    )


def test_the_card_and_the_detail_say_it_ends_the_next_day(
    signed_in, client_user, session_type, late
):
    appointment = AppointmentFactory(appointment_type=session_type, client=client_user, start=late)
    text = expected(appointment.start, appointment.end, client_user.time_zone)
    assert text in signed_in.get(reverse("appointments:list")).text
    assert text in signed_in.get(reverse("appointments:detail", args=[appointment.pk])).text


def test_the_booking_review_says_it_ends_the_next_day(
    signed_in, client_user, provider, session_type, late
):
    url = reverse("appointments:book-review", args=[provider.pk, session_type.pk])
    page = signed_in.get(url, {"start": late.isoformat()}).text
    assert expected(late, late + session_type.duration, client_user.time_zone) in page


def test_the_reschedule_review_says_it_ends_the_next_day(
    signed_in, client_user, provider, session_type, late
):
    PolicyFactory(provider=provider)
    zone = client_user.time_zone
    appointment = AppointmentFactory(
        appointment_type=session_type,
        client=client_user,
        start=max(open_slots_after(client_user, provider, session_type, days=8)),
    )
    url = reverse("appointments:reschedule-review", args=[appointment.pk])
    page = signed_in.get(url, {"start": late.isoformat()}).text
    assert "Confirm new time" in page
    assert expected(late, late + appointment.duration, zone) in page
    assert Appointment.objects.get().start == appointment.start

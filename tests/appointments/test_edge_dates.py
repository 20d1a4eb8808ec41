"""
Instants at the edges of the calendar, sent by hand to every page that reads one. Each was a
500 (an OverflowError shown in a zone or moved by a notice); each is now a 400 with a message,
and nothing changes.
"""

import pytest
from django.urls import reverse

from appointments.models import Appointment
from tests.factories import PolicyFactory, book

pytestmark = pytest.mark.django_db

EDGES = [
    "0001-01-01T00:00:00+00:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59.999999+00:00",
    "9999-12-31T20:00:00-14:00",
]


@pytest.fixture
def appointment(client_user, provider, session_type):
    PolicyFactory(provider=provider)
    return book(client_user, provider, session_type, days=5, booked_days_ago=3)


def book_review(provider, session_type):
    return reverse("appointments:book-review", args=[provider.pk, session_type.pk])


def reschedule_review(appointment):
    return reverse("appointments:reschedule-review", args=[appointment.pk])


def assert_unchanged(appointment):
    before = (appointment.start, appointment.status, appointment.events.count())
    appointment.refresh_from_db()
    assert (appointment.start, appointment.status, appointment.events.count()) == before
    assert Appointment.objects.count() == 1


@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize("method", ["get", "post"])
def test_booking_a_start_at_the_edge_of_the_calendar_gets_a_message(
    signed_in, provider, session_type, appointment, edge, method
):
    response = getattr(signed_in, method)(book_review(provider, session_type), {"start": edge})
    assert response.status_code == 400
    assert "That time isn&#x27;t valid. Pick a time from the list." in response.text
    assert_unchanged(appointment)


@pytest.mark.parametrize("edge", EDGES)
def test_an_htmx_booking_at_the_edge_gets_the_message_in_the_picker(
    signed_in, provider, session_type, appointment, edge
):
    response = signed_in.get(
        book_review(provider, session_type), {"start": edge}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200  # htmx 2 swaps only 2xx; the message says what is wrong
    assert "That time isn&#x27;t valid" in response.text


@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize("method", ["get", "post"])
def test_rescheduling_to_the_edge_of_the_calendar_gets_a_message(
    signed_in, appointment, edge, method
):
    data = {"start": edge, "expected_start": appointment.start.isoformat()}
    response = getattr(signed_in, method)(reschedule_review(appointment), data)
    assert response.status_code == 400
    assert "That time isn&#x27;t valid" in response.text
    assert_unchanged(appointment)


@pytest.mark.parametrize("edge", EDGES)
def test_a_reschedule_whose_page_time_is_at_the_edge_is_out_of_date(signed_in, appointment, edge):
    data = {"start": appointment.start.isoformat(), "expected_start": edge}
    response = signed_in.post(reschedule_review(appointment), data)
    assert response.status_code == 400
    assert "This page is out of date" in response.text
    assert_unchanged(appointment)


@pytest.mark.parametrize("edge", EDGES)
def test_a_cancel_whose_page_time_is_at_the_edge_is_out_of_date(signed_in, appointment, edge):
    url = reverse("appointments:cancel", args=[appointment.pk])
    response = signed_in.post(url, {"expected_start": edge})
    assert response.status_code == 400
    assert "This page is out of date" in response.text
    assert_unchanged(appointment)

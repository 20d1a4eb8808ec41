"""The client's own history of an appointment: what happened, when, and by whom."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appointments import services
from policies.terms import Money
from tests.factories import PolicyFactory, book, open_slots_after

pytestmark = pytest.mark.django_db


@pytest.fixture
def appointment(client_user, provider, session_type):
    PolicyFactory(provider=provider)
    return book(client_user, provider, session_type, days=5, booked_days_ago=3)


def detail(appointment):
    return reverse("appointments:detail", args=[appointment.pk])


def later(appointment, days=1):
    return open_slots_after(
        appointment.client,
        appointment.provider,
        appointment.appointment_type,
        days=(appointment.start - appointment.created_at).days + days,
        exclude=appointment,
    )[0]


def test_anonymous_visitors_are_sent_to_sign_in(client, appointment):
    response = client.get(detail(appointment))
    assert response.status_code == 302 and response.url.startswith(reverse("sign-in"))


def test_another_clients_appointment_is_a_404(client, stranger, appointment):
    client.force_login(stranger)
    assert client.get(detail(appointment)).status_code == 404


def test_the_page_refuses_post(signed_in, appointment):
    assert signed_in.post(detail(appointment)).status_code == 405


def test_the_story_says_who_did_what_in_the_clients_zone(
    signed_in, client_user, provider, appointment
):
    first, second = later(appointment), later(appointment, days=2)
    services.appointment_reschedule(appointment=appointment, actor=client_user, new_start=first)
    services.appointment_reschedule(appointment=appointment, actor=provider.user, new_start=second)
    services.appointment_cancel(
        appointment=appointment,
        actor=client_user,
        reason="Travelling",
        now=second - timedelta(hours=2),
        accepted_fee=Money(Decimal("50"), "USD"),
    )
    html = signed_in.get(detail(appointment)).text
    local = first.astimezone(client_user.zone)
    assert "Booked by you" in html
    assert "Moved by you" in html and "Moved by the practice" in html
    assert f"to {local:%a} {local.day} {local:%b}" in html
    assert "Cancelled by you" in html and "Reason: Travelling" in html
    assert "A $50 late cancellation fee was applied" in html
    assert provider.user.get_full_name() not in html.replace(provider.display_name, "")
    assert "(EST)" in html or "(EDT)" in html


def test_a_practice_cancellation_and_a_waived_fee_read_as_the_practice(
    signed_in, client_user, provider, appointment
):
    services.appointment_cancel(appointment=appointment, actor=provider.user, reason="Unwell")
    html = signed_in.get(detail(appointment)).text
    assert "Cancelled by the practice" in html and "Reason: Unwell" in html


def test_cancelled_appointments_have_their_own_section_under_past(
    signed_in, client_user, appointment
):
    services.appointment_cancel(appointment=appointment, actor=client_user)
    html = signed_in.get(reverse("appointments:list")).text
    assert 'id="cancelled-heading"' in html
    assert detail(appointment) in html


def test_each_card_links_to_its_history(signed_in, appointment):
    html = signed_in.get(reverse("appointments:list")).text
    assert f'href="{detail(appointment)}"' in html


def test_the_page_runs_the_same_queries_however_long_the_story(
    signed_in, client_user, provider, appointment
):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert signed_in.get(detail(appointment)).status_code == 200
        return len(queries)

    before = count()
    for days in (1, 2, 3):
        services.appointment_reschedule(
            appointment=appointment, actor=provider.user, new_start=later(appointment, days)
        )
    assert count() == before

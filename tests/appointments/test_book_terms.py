"""A booking binds the policy the client was shown on the review page, and no other."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appointments import selectors, services
from appointments.models import Appointment, Policy, WaitlistOffer
from policies.terms import PolicyTerms
from tests.appointments.test_waitlist import at_nine, book_at, cancel, join, someone_on_the_team
from tests.factories import PolicyFactory, open_slots_after
from tests.tasks import run_worker

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def policy(provider):
    policy = PolicyFactory(provider=provider)
    policy.refresh_from_db()  # its amounts as the database gives them
    return policy


@pytest.fixture
def start(client_user, provider, session_type):
    return open_slots_after(client_user, provider, session_type, days=2)[0]


def review_url(provider, kind):
    return reverse("appointments:book-review", args=[provider.pk, kind.pk])


def hidden_terms(page: str) -> str:
    """The terms token the review page's form carries back."""
    marker = 'name="expected_terms" value="'
    assert marker in page
    return page.split(marker, 1)[1].split('"', 1)[0]


def raise_the_fee(policy: Policy) -> None:
    policy.late_cancel_fee = Decimal("500")
    policy.text = "Please cancel at least 24 hours ahead; later cancellations cost $500."
    policy.save()


# --- The terms' token -----------------------------------------------------------------------


def test_equal_terms_carry_the_same_token_however_the_amounts_are_written():
    assert (
        PolicyTerms(late_cancel_fee=Decimal("50")).token
        == PolicyTerms(late_cancel_fee=Decimal("50.00")).token
    )


@pytest.mark.parametrize(
    "change",
    [
        {"clients_may_cancel": False},
        {"clients_may_reschedule": False},
        {"cancel_notice": timedelta(hours=48)},
        {"reschedule_notice": timedelta(hours=12)},
        {"late_cancel": "fee"},
        {"late_cancel_fee": Decimal("500")},
        {"late_reschedule": "fee"},
        {"late_reschedule_fee": Decimal("1")},
        {"currency": "EUR"},
        {"max_reschedules": 1},
        {"grace_period": timedelta(0)},
        {"no_show_fee": Decimal("0")},
        {"text": "Other words"},
    ],
)
def test_every_term_changes_the_token(change):
    assert PolicyTerms(**change).token != PolicyTerms().token


def test_the_token_survives_the_copy_saved_with_a_booking():
    terms = PolicyTerms(late_cancel_fee=Decimal("12.50"), no_show_fee=Decimal("30"), text="x")
    assert PolicyTerms.from_json(terms.as_json()).token == terms.token


# --- The service ----------------------------------------------------------------------------


def test_the_service_books_under_the_terms_the_client_saw(
    client_user, provider, session_type, policy, start
):
    seen = selectors.terms_in_force(provider, session_type).token
    appointment = services.appointment_book(
        client=client_user,
        provider=provider,
        appointment_type=session_type,
        start=start,
        booked_by=client_user,
        expected_terms=seen,
    )
    assert appointment.terms.late_cancel_fee == Decimal("50")


@pytest.mark.parametrize("seen", ["stale", ""])
def test_the_service_refuses_terms_the_client_did_not_see_and_books_nothing(
    client_user, provider, session_type, policy, start, seen
):
    if seen == "stale":
        seen = selectors.terms_in_force(provider, session_type).token
        raise_the_fee(policy)
    with pytest.raises(services.TermsChanged) as refused:
        services.appointment_book(
            client=client_user,
            provider=provider,
            appointment_type=session_type,
            start=start,
            booked_by=client_user,
            expected_terms=seen,
        )
    policy.refresh_from_db()
    assert refused.value.terms.token == policy.terms().token
    assert not Appointment.objects.exists()


def test_the_terms_are_compared_without_another_query(client_user, provider, session_type, policy):
    seen = selectors.terms_in_force(provider, session_type).token
    first, *_, last = open_slots_after(client_user, provider, session_type, days=2)

    def queries_to_book(start, **terms) -> int:
        with CaptureQueriesContext(connection) as queries:
            services.appointment_book(
                client=client_user,
                provider=provider,
                appointment_type=session_type,
                start=start,
                booked_by=client_user,
                **terms,
            )
        return len(queries)

    assert queries_to_book(first, expected_terms=seen) == queries_to_book(last)


# --- The booking review and its POST ---------------------------------------------------------


def test_the_review_form_carries_the_terms_it_shows(
    signed_in, provider, session_type, policy, start
):
    page = signed_in.get(review_url(provider, session_type), {"start": start.isoformat()}).text
    assert "cost $50." in page
    assert hidden_terms(page) == policy.terms().token


def test_confirming_the_terms_shown_books(signed_in, provider, session_type, policy, start):
    page = signed_in.get(review_url(provider, session_type), {"start": start.isoformat()}).text
    response = signed_in.post(
        review_url(provider, session_type),
        {"start": start.isoformat(), "expected_terms": hidden_terms(page)},
    )
    assert response.status_code == 302
    assert Appointment.objects.get().terms.late_cancel_fee == Decimal("50")


@pytest.mark.parametrize("htmx", [False, True])
def test_terms_changed_since_the_review_answer_409_with_the_new_terms_and_book_nothing(
    signed_in, provider, session_type, policy, start, htmx
):
    page = signed_in.get(review_url(provider, session_type), {"start": start.isoformat()}).text
    raise_the_fee(policy)
    response = signed_in.post(
        review_url(provider, session_type),
        {"start": start.isoformat(), "expected_terms": hidden_terms(page)},
        headers=HTMX if htmx else {},
    )
    # htmx 2 swaps only 2xx answers: it gets the review region to swap in.
    assert response.status_code == (200 if htmx else 409)
    assert not Appointment.objects.exists()
    assert "policy changed while this page was open" in response.text
    assert "cost $500." in response.text
    assert "Confirm booking" in response.text
    assert hidden_terms(response.text) == policy.terms().token
    # Confirming the new terms books under them.
    again = signed_in.post(
        review_url(provider, session_type),
        {"start": start.isoformat(), "expected_terms": hidden_terms(response.text)},
    )
    assert again.status_code == 302
    assert Appointment.objects.get().terms.late_cancel_fee == Decimal("500")


def test_a_booking_posted_without_the_terms_is_shown_them_and_books_nothing(
    signed_in, provider, session_type, policy, start
):
    response = signed_in.post(review_url(provider, session_type), {"start": start.isoformat()})
    assert response.status_code == 409
    assert not Appointment.objects.exists()
    assert "cost $50." in response.text
    assert hidden_terms(response.text) == policy.terms().token


# --- The waitlist claim takes the same path ---------------------------------------------------


@pytest.fixture
def offer(on, client_user, session_type):
    entry = join(client_user, on, session_type)
    cancel(book_at(someone_on_the_team(on), on, session_type, at_nine(on)))
    run_worker()
    return WaitlistOffer.objects.get(entry=entry)


@pytest.mark.parametrize("htmx", [False, True])
def test_a_waitlist_claim_under_changed_terms_answers_409_and_books_nothing(
    signed_in, on, offer, client_user, htmx
):
    policy = PolicyFactory(provider=on)
    url = reverse("appointments:waitlist-offer", args=[offer.token])
    page = signed_in.get(url).text
    assert "cost $50." in page
    raise_the_fee(policy)
    response = signed_in.post(
        url, {"expected_terms": hidden_terms(page)}, headers=HTMX if htmx else {}
    )
    assert response.status_code == (200 if htmx else 409)
    assert "policy changed while this page was open" in response.text
    assert "cost $500." in response.text
    assert not Appointment.objects.filter(client=client_user).exists()
    offer.refresh_from_db()
    assert offer.status == "offered"
    again = signed_in.post(url, {"expected_terms": hidden_terms(response.text)})
    assert again.status_code == 302
    booked = Appointment.objects.get(client=client_user)
    assert booked.terms.late_cancel_fee == Decimal("500")

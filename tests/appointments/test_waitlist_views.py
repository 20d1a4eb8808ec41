"""The client's waitlist pages: the access matrix, bad input, and each journey's answer."""

import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appointments import selectors, services
from appointments.models import Appointment, WaitlistEntry, WaitlistOffer
from tests.appointments.test_waitlist import (
    at_nine,
    book_at,
    cancel,
    join,
    someone_on_the_team,
    waiting_twice,
)
from tests.factories import PolicyFactory
from tests.tasks import run_worker

pytestmark = pytest.mark.django_db


@pytest.fixture
def entry(on, client_user, session_type):
    return join(client_user, on, session_type)


@pytest.fixture
def offer(on, entry, session_type):
    cancel(book_at(someone_on_the_team(on), on, session_type, at_nine(on)))
    run_worker()
    return WaitlistOffer.objects.get(entry=entry)


@pytest.fixture
def upcoming(on, client_user, session_type):
    return book_at(client_user, on, session_type, at_nine(on, days=6))


def urls(on, session_type, entry, offer, upcoming) -> dict[str, tuple[str, str]]:
    """Every new URL, with the method a page answers to."""
    return {
        "join": ("get", reverse("appointments:waitlist-join", args=[on.pk, session_type.pk])),
        "move-up": ("get", reverse("appointments:waitlist-move-up", args=[upcoming.pk])),
        "entry": ("get", reverse("appointments:waitlist-entry", args=[entry.pk])),
        "leave": ("post", reverse("appointments:waitlist-leave", args=[entry.pk])),
        "offer": ("get", reverse("appointments:waitlist-offer", args=[offer.token])),
        "decline": ("post", reverse("appointments:waitlist-decline", args=[offer.token])),
    }


NAMES = ["join", "move-up", "entry", "leave", "offer", "decline"]


@pytest.mark.parametrize("name", NAMES)
def test_anonymous_is_sent_to_sign_in(name, on, session_type, entry, offer, upcoming):
    method, url = urls(on, session_type, entry, offer, upcoming)[name]
    response = getattr(Client(), method)(url)
    assert response.status_code == 302 and response["Location"].startswith("/sign-in/")


@pytest.mark.parametrize("name", NAMES)
def test_another_client_gets_404(name, on, session_type, entry, offer, upcoming, stranger):
    method, url = urls(on, session_type, entry, offer, upcoming)[name]
    browser = Client()
    browser.force_login(stranger)
    assert getattr(browser, method)(url).status_code == 404
    entry.refresh_from_db()
    offer.refresh_from_db()
    assert (entry.status, offer.status) == ("active", "offered")


@pytest.mark.parametrize("name", ["join", "move-up", "entry", "offer"])
def test_the_owner_sees_the_page(name, on, session_type, entry, offer, upcoming, signed_in):
    method, url = urls(on, session_type, entry, offer, upcoming)[name]
    assert getattr(signed_in, method)(url).status_code == 200


@pytest.mark.parametrize(("name", "wrong"), [("leave", "get"), ("decline", "get"), ("join", "put")])
def test_the_wrong_method_is_405(name, wrong, on, session_type, entry, offer, upcoming, signed_in):
    _, url = urls(on, session_type, entry, offer, upcoming)[name]
    assert getattr(signed_in, wrong)(url).status_code == 405


def join_url(on, session_type):
    return reverse("appointments:waitlist-join", args=[on.pk, session_type.pk])


def test_the_picker_offers_the_waitlist_only_when_it_is_on(provider, session_type, signed_in):
    url = reverse("appointments:book-time", args=[provider.pk, session_type.pk])
    assert b"Join the waitlist" not in signed_in.get(url).content
    provider.waitlist_enabled = True
    provider.save()
    page = signed_in.get(url).content.decode()
    assert "None of these times suit?" in page and join_url(provider, session_type) in page


def test_joining_with_chosen_days_and_parts(on, session_type, signed_in, client_user):
    data = {"when": "chosen", "weekdays": ["1", "3"], "parts": ["morning"], "not_after": ""}
    response = signed_in.post(join_url(on, session_type), data)
    assert response.status_code == 302
    entry = WaitlistEntry.objects.get(client=client_user)
    assert (entry.weekdays, entry.parts, entry.not_after) == ([1, 3], ["morning"], None)
    page = signed_in.get(reverse("appointments:list")).content.decode()
    assert "Your waitlist" in page and "Tue, Thu · mornings" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"when": "chosen"}, "Choose at least one day or part of the day"),
        ({"when": "any", "not_after": "2020-01-01"}, "can&#x27;t be in the past"),
        ({"when": "any", "not_after": "tomorrow"}, "Enter a date like"),
        ({"when": "sometime"}, "Select a valid choice"),
        ({"when": "chosen", "weekdays": ["9"]}, "Select a valid choice"),
        ({"when": "chosen", "parts": ["night\x00"]}, ""),
    ],
)
def test_bad_input_says_why_and_changes_nothing(on, session_type, signed_in, data, message):
    response = signed_in.post(join_url(on, session_type), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not WaitlistEntry.objects.exists()


CONTRADICTION = (
    "You chose Any time and also ticked days or parts of the day. Untick them to be offered any "
    "time, or choose Only on the days or times I choose below."
)


@pytest.mark.parametrize(
    "ticks",
    [{"weekdays": ["2"]}, {"parts": ["morning"]}, {"weekdays": ["0", "4"], "parts": ["evening"]}],
)
def test_any_time_with_ticks_is_refused_with_a_message_and_saves_nothing(
    on, session_type, signed_in, entry, ticks
):
    """Without JavaScript nothing unticks the boxes: the server refuses the contradiction."""
    before = (entry.weekdays, entry.parts, entry.not_after)
    response = signed_in.post(join_url(on, session_type), {"when": "any", **ticks})
    assert response.status_code == 400
    assert CONTRADICTION.replace("'", "&#x27;") in response.content.decode()
    entry.refresh_from_db()
    assert (entry.weekdays, entry.parts, entry.not_after) == before
    assert WaitlistEntry.objects.count() == 1
    assert not list(get_messages(response.wsgi_request))


def test_joining_again_edits_the_entry(on, session_type, entry, signed_in):
    page = signed_in.get(join_url(on, session_type)).content.decode()
    assert "Your place on the waitlist" in page
    signed_in.post(join_url(on, session_type), {"when": "chosen", "parts": ["evening"]})
    entry.refresh_from_db()
    assert entry.parts == ["evening"] and WaitlistEntry.objects.count() == 1


def test_leaving_without_javascript_redirects_and_with_htmx_swaps_the_section(
    on, session_type, entry, signed_in
):
    url = reverse("appointments:waitlist-leave", args=[entry.pk])
    response = signed_in.post(url, headers={"HX-Request": "true"})
    page = response.content.decode()
    assert response.status_code == 200 and 'id="waitlist"' in page and "data-swap-focus" in page
    assert "You left Dr. Maya Okafor" in page
    entry.refresh_from_db()
    assert entry.status == "ended"
    again = join(entry.client, on, session_type)
    response = signed_in.post(reverse("appointments:waitlist-leave", args=[again.pk]))
    assert response.status_code == 302


def test_the_offer_card_leads_to_the_ordinary_review_and_confirming_books(
    offer, signed_in, client_user
):
    page = signed_in.get(reverse("appointments:list")).content.decode()
    assert "A time opened with Dr. Maya Okafor" in page
    url = reverse("appointments:waitlist-offer", args=[offer.token])
    assert url in page
    review = signed_in.get(url).content.decode()
    assert "Review and confirm" in review and "Confirm booking" in review
    terms = selectors.terms_in_force(offer.entry.provider, offer.entry.appointment_type).token
    response = signed_in.post(url, {"expected_terms": terms})
    assert response.status_code == 302
    booked = Appointment.objects.get(client=client_user, status="scheduled")
    assert booked.start == offer.start
    offer.refresh_from_db()
    assert offer.appointment == booked


@pytest.mark.parametrize(
    ("move_up_first", "said"),
    [
        (True, "An earlier time opened with Dr. Maya Okafor for your Therapy session: "),
        (False, "A time opened with Dr. Maya Okafor for Intake: "),
    ],
)
def test_the_offer_card_names_the_appointment_type_and_which_kind_of_offer_it_is(
    on, client_user, session_type, signed_in, move_up_first, said
):
    _, _, blocker = waiting_twice(on, client_user, session_type, move_up_first=move_up_first)
    cancel(blocker)
    run_worker()
    page = signed_in.get(reverse("appointments:list")).content.decode()
    (card,) = re.findall(r'<div class="panel invitation-card offer-card".*?</p>', page, re.S)
    assert said in " ".join(card.split())


def test_a_time_taken_before_the_link_is_opened_says_someone_took_it_with_fresh_times(
    offer, signed_in, on, session_type
):
    book_at(someone_on_the_team(on), on, session_type, offer.start)
    response = signed_in.get(reverse("appointments:waitlist-offer", args=[offer.token]))
    assert response.status_code == 409
    page = response.content.decode()
    assert "Someone else took this time first. You&#x27;re still on the waitlist" in page
    assert 'id="picker"' in page
    offer.refresh_from_db()
    assert offer.status == "lost"
    assert WaitlistEntry.objects.get().status == "active"


def test_a_time_closed_without_a_booking_says_it_is_no_longer_available(
    offer, signed_in, on, session_type
):
    """Hours taken away (no booking to close the offer): the link finds out when opened."""
    from appointments.models import DateOverride

    DateOverride.objects.create(provider=on, date=offer.start.astimezone(on.zone).date())
    response = signed_in.get(reverse("appointments:waitlist-offer", args=[offer.token]))
    assert response.status_code == 410
    assert "This time is no longer available." in response.content.decode()
    offer.refresh_from_db()
    assert offer.status == "expired"
    assert WaitlistEntry.objects.get().status == "active"


def test_a_lost_race_at_confirm_shows_the_picker_with_a_409(offer, signed_in, on, session_type):
    book_at(someone_on_the_team(on), on, session_type, offer.start)
    response = signed_in.post(reverse("appointments:waitlist-offer", args=[offer.token]))
    assert response.status_code == 409
    page = response.content.decode()
    assert "Someone else took this time first. You&#x27;re still on the waitlist" in page
    assert 'id="picker"' in page
    assert WaitlistEntry.objects.get().status == "active"


def test_an_expired_link_says_so(offer, signed_in):
    WaitlistOffer.objects.filter(pk=offer.pk).update(status="expired")
    response = signed_in.get(reverse("appointments:waitlist-offer", args=[offer.token]))
    assert response.status_code == 410
    assert "This offer has ended" in response.content.decode()
    assert "See the open times now" in response.content.decode()


def test_declining_keeps_the_entry(offer, signed_in, entry):
    signed_in.post(reverse("appointments:waitlist-decline", args=[offer.token]))
    offer.refresh_from_db()
    entry.refresh_from_db()
    assert (offer.status, entry.status) == ("declined", "active")


def test_the_three_dots_menu_offers_an_earlier_time_only_when_rescheduling_is_allowed(
    on, session_type, upcoming, signed_in
):
    label = "Tell me if an earlier time opens"
    assert label in signed_in.get(reverse("appointments:list")).content.decode()
    upcoming.policy_terms = {**upcoming.policy_terms, "clients_may_reschedule": False}
    upcoming.save()
    assert label not in signed_in.get(reverse("appointments:list")).content.decode()
    response = signed_in.get(reverse("appointments:waitlist-move-up", args=[upcoming.pk]))
    assert response.status_code == 403


def test_a_move_up_offer_reviews_and_confirms_as_a_reschedule(
    on, session_type, upcoming, signed_in, client_user
):
    PolicyFactory(provider=on)
    url = reverse("appointments:waitlist-move-up", args=[upcoming.pk])
    assert signed_in.post(url, {"when": "any"}).status_code == 302
    blocker = book_at(someone_on_the_team(on), on, session_type, at_nine(on, days=2))
    services.appointment_cancel(appointment=blocker, actor=blocker.client)
    run_worker()
    offer = WaitlistOffer.objects.get(entry__move_up=upcoming)
    offer_url = reverse("appointments:waitlist-offer", args=[offer.token])
    review = signed_in.get(offer_url).content.decode()
    assert "From" in review and "Confirm new time" in review
    assert signed_in.post(offer_url, {"accepted_fee": ""}).status_code == 302
    upcoming.refresh_from_db()
    assert upcoming.start == offer.start


def test_a_held_offer_names_the_day_and_time_its_hold_ends(offer, signed_in, client_user):
    """A hold can run up to a day: the card says which day it ends, in the client's zone."""
    offer.expires_at = timezone.now() + timedelta(hours=20)
    offer.save()
    local = offer.expires_at.astimezone(client_user.zone)
    page = signed_in.get(reverse("appointments:list")).content.decode()
    assert f"held for you until {local:%a %-d %b}, " in page


def overview_queries(browser) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert browser.get(reverse("appointments:list")).status_code == 200
    return len(queries)


def test_the_overview_reads_the_waitlist_with_its_offers_in_one_query(
    on, session_type, signed_in, client_user
):
    """
    None for a client on no waitlist (the overview's facts say so); on one, one query for the
    entries with their offers, however many, soonest first.
    """
    alone = overview_queries(signed_in)
    entry = join(client_user, on, session_type)
    later = at_nine(on, days=5)
    for start in [later, at_nine(on, days=4)]:
        cancel(book_at(someone_on_the_team(on), on, session_type, start))
    run_worker()
    assert WaitlistOffer.objects.filter(entry=entry).count() == 2
    assert overview_queries(signed_in) == alone + 1
    page = signed_in.get(reverse("appointments:list")).content.decode()
    offers = list(WaitlistOffer.objects.filter(entry=entry).order_by("start"))
    assert page.index(f'id="offer-{offers[0].pk}"') < page.index(f'id="offer-{offers[1].pk}"')


def test_an_entry_past_its_last_date_is_no_longer_shown(on, session_type, signed_in, client_user):
    today = timezone.now().astimezone(client_user.zone).date()
    entry = join(client_user, on, session_type, not_after=today)
    assert f'id="waitlist-entry-{entry.pk}"' in signed_in.get(reverse("appointments:list")).text
    WaitlistEntry.objects.filter(pk=entry.pk).update(not_after=today - timedelta(days=1))
    assert f'id="waitlist-entry-{entry.pk}"' not in signed_in.get(reverse("appointments:list")).text

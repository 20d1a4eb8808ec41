"""The waitlist in a browser: join, edit, leave, move up, an offer claimed, lost, or ended."""

import re

import pytest
from playwright.sync_api import expect

from appointments import waitlist
from appointments.models import Appointment, DateOverride, WaitlistEntry, WaitlistOffer
from tests.appointments.test_waitlist import (
    at_nine,
    book_at,
    cancel,
    join,
    one_at_a_time,
    someone_on_the_team,
)
from tests.e2e.conftest import sign_in
from tests.factories import TEST_PASSWORD
from tests.tasks import run_worker


@pytest.fixture
def signed(visit, client_user):
    visit.goto("/sign-in/")
    sign_in(visit, client_user.email, TEST_PASSWORD)
    return visit


def answered(visit, status: int) -> None:
    """The page's status was meant (a refusal is a 4xx): the browser's note of it is no error."""
    note = f"the server responded with a status of {status}"
    visit.console_errors[:] = [e for e in visit.console_errors if note not in e]


def make_offer(provider, kind, client):
    entry = join(client, provider, kind)
    cancel(book_at(someone_on_the_team(provider), provider, kind, at_nine(provider)))
    run_worker()
    return WaitlistOffer.objects.get(entry=entry)


def test_join_edit_and_leave_the_waitlist(signed, on, session_type, client_user):
    page = signed.page
    signed.goto(f"/appointments/book/{on.pk}/{session_type.pk}/")
    expect(page.get_by_role("heading", name="None of these times suit?")).to_be_visible()
    page.get_by_role("link", name="Join the waitlist").click()
    signed.check("form")
    page.get_by_label("Only on the days or times I choose below").check()
    page.get_by_role("button", name="Join the waitlist").click()
    expect(page.get_by_role("alert")).to_contain_text("Choose at least one day")
    answered(signed, 400)
    signed.check("invalid")
    page.get_by_label("Only on the days or times I choose below").check()
    page.get_by_label("Tuesday").check()
    page.get_by_label("Morning (before noon)").check()
    page.get_by_role("button", name="Join the waitlist").click()
    expect(page.get_by_role("status")).to_contain_text("You're on Dr. Maya Okafor's waitlist")
    expect(page.locator("#waitlist")).to_contain_text("Tue · mornings")
    signed.check("joined")
    page.locator("#waitlist").get_by_role("link", name=re.compile("Edit")).click()
    page.get_by_label("Any time").check()
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#waitlist")).to_contain_text("Any time")
    page.locator("#waitlist").get_by_role("button", name=re.compile("Leave")).click()
    expect(page.locator("#waitlist")).to_contain_text("You left Dr. Maya Okafor's waitlist")
    # Focus goes to the section's heading, not back to the top of the page.
    expect(page.locator("#waitlist-heading")).to_be_focused()
    signed.check("left")
    assert WaitlistEntry.objects.get(client=client_user).status == "ended"


def test_an_offer_card_is_confirmed_through_the_ordinary_review(
    signed, on, session_type, client_user
):
    page = signed.page
    offer = make_offer(on, session_type, client_user)
    signed.goto("/appointments/")
    card = page.locator(f"#offer-{offer.pk}")
    expect(card).to_contain_text("A time opened with Dr. Maya Okafor")
    signed.check("offer-card")
    card.get_by_role("link", name=re.compile("Review and confirm")).click()
    expect(page.get_by_role("heading", name="Review and confirm")).to_be_visible()
    expect(page.locator(".review")).to_contain_text("Therapy session")
    signed.check("review")
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_role("status")).to_contain_text("Booked:")
    signed.check("claimed")
    assert Appointment.objects.get(client=client_user, status="scheduled").start == offer.start


def test_one_at_a_time_the_time_is_held_for_each_in_turn(signed, on, session_type, client_user):
    """The first to join holds the time; "Not this time" passes it on; a hold runs out."""
    page = signed.page
    one_at_a_time(on, minutes=30)
    join(client_user, on, session_type)
    second = someone_on_the_team(on)
    join(second, on, session_type)
    cancel(book_at(someone_on_the_team(on), on, session_type, at_nine(on)))
    run_worker()
    held = WaitlistOffer.objects.get()
    assert held.entry.client == client_user
    signed.goto("/appointments/")
    card = page.locator(f"#offer-{held.pk}")
    expect(card).to_contain_text("It is held for you until")
    signed.check("held-for-the-first")
    card.get_by_role("button", name=re.compile("Not this time")).click()
    expect(page.get_by_role("status")).to_contain_text("You're still on the waitlist")
    expect(page.locator(".offer-card")).to_have_count(0)
    run_worker()  # the worker passes the time on to the next in line

    page.get_by_role("button", name="Sign out").click()
    signed.goto("/sign-in/")
    sign_in(signed, second.email, TEST_PASSWORD)
    passed_on = WaitlistOffer.objects.get(entry__client=second)
    assert passed_on.start == held.start and passed_on.expires_at is not None
    signed.goto("/appointments/")
    expect(page.locator(f"#offer-{passed_on.pk}")).to_contain_text("It is held for you until")
    signed.check("held-for-the-second")
    # Their hold runs out (the worker's task at its end): the card goes, the link says so.
    assert waitlist.hold_ended(passed_on.pk, now=passed_on.expires_at)
    signed.goto("/appointments/")
    expect(page.locator(".offer-card")).to_have_count(0)
    signed.goto(f"/appointments/waitlist/offers/{passed_on.token}/")
    expect(page.get_by_role("heading", name="This offer has ended")).to_be_visible()
    answered(signed, 410)
    signed.check("hold-ran-out")


def test_a_time_someone_took_first_says_so_and_shows_fresh_times(
    signed, on, session_type, client_user
):
    page = signed.page
    offer = make_offer(on, session_type, client_user)
    signed.goto(f"/appointments/waitlist/offers/{offer.token}/")
    book_at(someone_on_the_team(on), on, session_type, offer.start)  # while the page is open
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_role("status")).to_contain_text("Someone else took this time first")
    expect(page.locator("#picker .time-grid a").first).to_be_visible()
    answered(signed, 409)
    signed.check("lost")
    assert WaitlistEntry.objects.get(client=client_user).status == "active"


def test_an_expired_link_says_so(signed, on, session_type, client_user):
    page = signed.page
    offer = make_offer(on, session_type, client_user)
    # The practice takes the day off: nothing booked it, so the link finds out when opened.
    DateOverride.objects.create(provider=on, date=offer.start.astimezone(on.zone).date())
    signed.goto(f"/appointments/waitlist/offers/{offer.token}/")
    expect(page.get_by_role("heading", name="This offer has ended")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("This time is no longer available.")
    answered(signed, 410)
    signed.check("expired")
    page.get_by_role("link", name="See the open times now").click()
    expect(page.locator("#picker")).to_be_visible()


def test_tell_me_if_an_earlier_time_opens_from_the_three_dots_menu(
    signed, on, session_type, client_user
):
    page = signed.page
    appointment = book_at(client_user, on, session_type, at_nine(on, days=6))
    signed.goto("/appointments/")
    card = page.locator(f"#appointment-{appointment.pk}")
    card.locator("summary").click()
    card.get_by_role("link", name="Tell me if an earlier time opens").click()
    expect(page.get_by_role("heading", name="Tell me if an earlier time opens")).to_be_visible()
    signed.check("move-up-form")
    page.get_by_role("button", name="Join the waitlist").click()
    expect(page.locator("#waitlist")).to_contain_text("An earlier time for your appointment")
    cancel(book_at(someone_on_the_team(on), on, session_type, at_nine(on, days=2)))
    run_worker()
    signed.goto("/appointments/")
    page.locator(".offer-card").get_by_role("link", name=re.compile("Review and confirm")).click()
    expect(page.locator(".review")).to_contain_text("From")
    signed.check("move-up-review")
    page.get_by_role("button", name="Confirm new time").click()
    expect(page.get_by_role("status")).to_contain_text("Moved to")
    appointment.refresh_from_db()
    assert appointment.start < at_nine(on, days=6)


def test_the_waitlist_works_without_javascript(browser, live_server, on, session_type, client_user):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/sign-in/")
    page.get_by_label("Email").fill(client_user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(live_server.url + f"/appointments/book/{on.pk}/{session_type.pk}/")
    page.get_by_role("link", name="Join the waitlist").click()
    page.get_by_role("button", name="Join the waitlist").click()
    expect(page.locator("#waitlist")).to_contain_text("Any time")
    WaitlistEntry.objects.get(client=client_user)
    cancel(book_at(someone_on_the_team(on), on, session_type, at_nine(on)))
    run_worker()
    page.goto(live_server.url + "/appointments/")
    page.locator(".offer-card").get_by_role("link", name=re.compile("Review and confirm")).click()
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_role("status")).to_contain_text("Booked:")
    assert page.locator("#waitlist").count() == 0
    join(client_user, on, session_type)
    page.goto(live_server.url + "/appointments/")
    page.locator("#waitlist").get_by_role("button", name=re.compile("Leave")).click()
    expect(page.get_by_role("status")).to_contain_text("You left")
    context.close()


def test_edit_move_up_a_lost_race_and_an_ended_link_without_javascript(
    browser, live_server, on, session_type, client_user
):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/sign-in/")
    page.get_by_label("Email").fill(client_user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # Edit an entry.
    join(client_user, on, session_type)
    page.goto(live_server.url + "/appointments/")
    page.locator("#waitlist").get_by_role("link", name=re.compile("Edit")).click()
    page.get_by_label("Only on the days or times I choose below").check()
    page.get_by_label("Evening (from 5 PM)").check()
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("#waitlist")).to_contain_text("evenings")
    WaitlistEntry.objects.filter(client=client_user).update(status="ended")
    # Someone takes the offered time before the client confirms: fresh times, still waiting.
    offer = make_offer(on, session_type, client_user)
    page.goto(live_server.url + f"/appointments/waitlist/offers/{offer.token}/")
    book_at(someone_on_the_team(on), on, session_type, offer.start)
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.get_by_role("status")).to_contain_text("Someone else took this time first")
    expect(page.locator("#picker .time-grid a").first).to_be_visible()
    # A link whose time closed says so.
    WaitlistEntry.objects.filter(client=client_user).update(status="ended")
    entry = join(client_user, on, session_type)
    cancel(book_at(someone_on_the_team(on), on, session_type, at_nine(on, days=4)))
    run_worker()
    offer = WaitlistOffer.objects.get(entry=entry)
    DateOverride.objects.create(provider=on, date=offer.start.astimezone(on.zone).date())
    page.goto(live_server.url + f"/appointments/waitlist/offers/{offer.token}/")
    expect(page.get_by_role("heading", name="This offer has ended")).to_be_visible()
    # Move up from the three-dots menu (a <details>, which opens without JavaScript).
    WaitlistEntry.objects.filter(client=client_user).update(status="ended")
    appointment = book_at(client_user, on, session_type, at_nine(on, days=6))
    page.goto(live_server.url + "/appointments/")
    card = page.locator(f"#appointment-{appointment.pk}")
    card.locator("summary").click()
    card.get_by_role("link", name="Tell me if an earlier time opens").click()
    page.get_by_role("button", name="Join the waitlist").click()
    expect(page.locator("#waitlist")).to_contain_text("An earlier time for your appointment")
    context.close()


def test_ticking_a_day_chooses_it_and_any_time_unticks_them(signed, on, session_type, client_user):
    page = signed.page
    signed.goto(f"/appointments/book/{on.pk}/{session_type.pk}/waitlist/")
    expect(page.get_by_label("Any time")).to_be_checked()
    page.get_by_label("Wednesday").check()
    page.get_by_label("Evening (from 5 PM)").check()
    expect(page.get_by_label("Only on the days or times I choose below")).to_be_checked()
    expect(page.get_by_label("Any time")).not_to_be_checked()
    page.get_by_label("Any time").check()
    expect(page.get_by_label("Wednesday")).not_to_be_checked()
    expect(page.get_by_label("Evening (from 5 PM)")).not_to_be_checked()
    page.get_by_label("Thursday").check()
    signed.check("waitlist-ticks")
    page.get_by_role("button", name="Join the waitlist").click()
    expect(page.locator("#waitlist")).to_contain_text("Thu")
    entry = WaitlistEntry.objects.get(client=client_user)
    assert (entry.weekdays, entry.parts) == ([3], [])


def test_any_time_with_ticks_is_refused_without_javascript(
    browser, live_server, on, session_type, client_user
):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/sign-in/")
    page.get_by_label("Email").fill(client_user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(live_server.url + f"/appointments/book/{on.pk}/{session_type.pk}/waitlist/")
    page.get_by_label("Wednesday").check()
    expect(page.get_by_label("Any time")).to_be_checked()
    page.get_by_role("button", name="Join the waitlist").click()
    expect(page.get_by_role("alert")).to_contain_text("You chose Any time and also ticked days")
    assert not WaitlistEntry.objects.exists()
    page.get_by_label("Only on the days or times I choose below").check()
    page.get_by_role("button", name="Join the waitlist").click()
    expect(page.locator("#waitlist")).to_contain_text("Wed")
    assert WaitlistEntry.objects.get(client=client_user).weekdays == [2]
    context.close()

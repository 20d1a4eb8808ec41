import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from appointments.models import Appointment, CareTeamMember, Fee
from portal.models import User
from tests.e2e.conftest import sign_in
from tests.factories import (
    AppointmentTypeFactory,
    PolicyFactory,
    ProviderFactory,
    book,
    give_hours,
)


@pytest.fixture
def demo(visit):
    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    visit.goto("/sign-in/")
    sign_in(visit, "client@example.com", "demo-client-2026")
    return User.objects.get(email="client@example.com")


def soon_with(client, **policy):
    """An appointment a few hours away with a provider whose policy is `policy`."""
    provider = ProviderFactory(display_name="Dr. Lena Park", time_zone="America/Chicago")
    give_hours(provider, "00:00", "23:30")
    PolicyFactory(provider=provider, **policy)
    CareTeamMember.objects.create(provider=provider, client=client)
    kind = AppointmentTypeFactory(provider=provider, name="Follow-up", duration_minutes=30)
    return book(client, provider, kind, booked_days_ago=2, pick=2)


def open_menu(visit, appointment):
    card = visit.page.locator(f"#appointment-{appointment.pk}")
    card.locator("summary").click()
    expect(card.locator(".menu-items")).to_be_visible()
    return card


def test_reschedule_moves_the_card_to_the_new_time(visit, demo):
    page = visit.page
    appointment = (
        Appointment.objects.filter(client=demo, status="scheduled").order_by("start").first()
    )
    card = open_menu(visit, appointment)
    visit.check("menu-open")
    card.get_by_role("link", name="Reschedule").click()
    expect(page.get_by_role("heading", name="Reschedule", level=1)).to_be_visible()
    visit.check("picker")
    page.locator(".day-list a").nth(3).click()
    expect(page).to_have_url(re.compile(r"\?day="))
    chosen = page.locator(".time-grid a").nth(1)
    label = chosen.get_attribute("aria-label")
    chosen.click()
    expect(page.locator(".review")).to_contain_text("From")
    visit.check("review")
    page.get_by_role("button", name="Confirm new time").click()
    expect(page.get_by_role("status")).to_contain_text("Rescheduled:")
    expect(page.locator(f"#appointment-{appointment.pk}")).to_contain_text(label)
    visit.check("moved")
    appointment.refresh_from_db()
    assert appointment.client_reschedules == 1


def test_cancel_asks_in_a_pop_up_then_removes_the_card_in_place(visit, demo):
    page = visit.page
    appointment = (
        Appointment.objects.filter(client=demo, status="scheduled").order_by("start").first()
    )
    card = open_menu(visit, appointment)
    card.get_by_role("link", name="Cancel Appointment").click()
    dialog = page.locator("dialog#dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name="Cancel this appointment?")).to_be_visible()
    expect(dialog).to_contain_text("No fee.")
    expect(dialog).to_contain_text("Please cancel or reschedule at least 24 hours")
    assert "/cancel/" not in page.url  # a pop-up, not a new page
    visit.check("dialog")
    dialog.get_by_text("Add a reason (optional)").click()
    dialog.get_by_label("Reason (optional)").fill("Travelling for work")
    dialog.get_by_role("button", name="Cancel appointment").click()
    expect(dialog).to_contain_text("was cancelled")
    expect(dialog.get_by_role("link", name="Message your provider to verify")).to_be_visible()
    expect(page.locator(f"#upcoming #appointment-{appointment.pk}")).to_have_count(0)
    visit.check("cancelled")
    dialog.get_by_role("button", name="Done").click()
    expect(dialog).to_be_hidden()
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"


def test_a_cancel_inside_a_refusing_window_says_why_and_offers_the_provider(visit, demo):
    page = visit.page
    appointment = soon_with(demo, late_cancel="refuse")
    visit.goto("/appointments/")
    card = page.locator(f"#appointment-{appointment.pk}")
    card.locator("summary").click()
    expect(card).to_contain_text("Unavailable: Online cancellation closed")
    visit.check("refused-menu")
    card.get_by_role("link", name="Cancel Appointment").click()
    dialog = page.locator("dialog#dialog")
    expect(dialog.get_by_role("alert")).to_contain_text("Online cancellation closed")
    expect(dialog.get_by_role("link", name="Message your provider")).to_be_visible()
    expect(dialog).to_contain_text("office@practice.example")
    expect(dialog.get_by_role("button", name="Cancel appointment")).to_have_count(0)
    visit.check("refused-dialog")
    appointment.refresh_from_db()
    assert appointment.status == "scheduled"


def test_a_late_cancel_states_the_fee_and_records_it(visit, demo):
    page = visit.page
    appointment = soon_with(demo, late_cancel="fee", late_cancel_fee=Decimal("40"))
    visit.goto("/appointments/")
    card = page.locator(f"#appointment-{appointment.pk}")
    expect(card).to_contain_text("A $40 fee applies if you cancel now")
    card.locator("summary").click()
    card.get_by_role("link", name="Cancel Appointment").click()
    dialog = page.locator("dialog#dialog")
    expect(dialog).to_contain_text("A $40 fee applies")
    visit.check("fee-dialog")
    dialog.get_by_role("button", name="Cancel and accept the $40 fee").click()
    expect(dialog).to_contain_text("was cancelled")
    dialog.get_by_role("button", name="Done").click()
    visit.goto("/appointments/")
    expect(page.get_by_role("heading", name="Fees")).to_be_visible()
    expect(page.locator(".fee-list")).to_contain_text("$40")
    visit.check("fees")
    assert Fee.objects.get(appointment=appointment).status == "pending"


def test_cancel_works_with_javascript_off(browser, live_server, transactional_db):
    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/sign-in/")
    page.get_by_label("Email").fill("client@example.com")
    page.get_by_label("Password").fill("demo-client-2026")
    page.get_by_role("button", name="Sign in").click()
    appointment = Appointment.objects.filter(status="scheduled").order_by("start").first()
    card = page.locator(f"#appointment-{appointment.pk}")
    card.locator("summary").click()  # <details> opens without JavaScript
    card.get_by_role("link", name="Cancel Appointment").click()
    expect(page).to_have_url(re.compile(rf"/appointments/{appointment.pk}/cancel/$"))
    page.get_by_role("button", name="Cancel appointment").click()
    expect(page.get_by_role("status")).to_contain_text("was cancelled")
    expect(page.locator(f"#upcoming #appointment-{appointment.pk}")).to_have_count(0)
    context.close()


def test_a_deadline_passing_while_the_dialog_is_open_asks_again_before_any_fee(
    visit, demo, monkeypatch
):
    """The server's clock is frozen, then moved past the deadline while the pop-up is open."""
    from datetime import timedelta

    from django.utils import timezone

    page = visit.page
    appointment = soon_with(demo, late_cancel="fee", late_cancel_fee=Decimal("40"))
    opened_at = timezone.now().replace(microsecond=0)
    deadline = opened_at + timedelta(minutes=1)
    # A notice window that closes one minute after the pop-up opens.
    terms = appointment.policy_terms | {
        "cancel_notice": (appointment.start - deadline).total_seconds()
    }
    Appointment.objects.filter(pk=appointment.pk).update(policy_terms=terms)
    clock = [opened_at]
    monkeypatch.setattr(timezone, "now", lambda: clock[0])
    visit.goto("/appointments/")
    card = open_menu(visit, appointment)
    card.get_by_role("link", name="Cancel Appointment").click()
    dialog = page.locator("dialog#dialog")
    expect(dialog).to_contain_text("No fee.")
    clock[0] = deadline + timedelta(seconds=1)
    dialog.get_by_role("button", name="Cancel appointment").click()
    expect(dialog.get_by_role("alert")).to_contain_text(
        "The terms changed while this page was open: a $40 fee now applies"
    )
    accept = dialog.get_by_role("button", name="Cancel and accept the $40 fee")
    expect(accept).to_be_visible()
    visit.check("fee-appeared")
    appointment.refresh_from_db()
    assert appointment.status == "scheduled" and not Fee.objects.exists()
    accept.click()
    expect(dialog).to_contain_text("was cancelled. A $40 late cancellation fee applies.")
    assert Fee.objects.get(appointment=appointment).amount == 40


def test_an_appointments_history_is_a_click_from_its_card(visit, demo):
    page = visit.page
    appointment = (
        Appointment.objects.filter(client=demo, status="scheduled").order_by("start").first()
    )
    card = page.locator(f"#appointment-{appointment.pk}")
    card.get_by_role("link", name=re.compile("Details and history")).click()
    expect(page.get_by_role("heading", name="What happened")).to_be_visible()
    expect(page.locator(".history")).to_contain_text("Booked by the practice")
    visit.check("history")
    # A cancelled one stays reachable from its own section under Past.
    from appointments.services import appointment_cancel

    appointment_cancel(appointment=appointment, actor=demo, reason="Travelling")
    visit.goto("/appointments/")
    cancelled = page.locator("section[aria-labelledby='cancelled-heading']")
    expect(cancelled).to_contain_text("Cancelled")
    cancelled.get_by_role("link", name=re.compile("Details and history")).first.click()
    expect(page.locator(".history")).to_contain_text("Cancelled by you")
    expect(page.locator(".history")).to_contain_text("Reason: Travelling")
    visit.check("cancelled-history")

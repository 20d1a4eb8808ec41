"""
On a 390x844 phone: the pop-up's choices stay in reach, booking's last step fits, and the menu's
Chat badge keeps up.
"""

import re
import uuid

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from appointments.models import Appointment, CareTeamMember
from chat.services import conversation_start, message_send
from portal.models import User
from tests.e2e.conftest import sign_in
from tests.factories import ProviderFactory

phone = pytest.mark.parametrize("viewport", ["phone"], indirect=True)
HEIGHT = 844
BOTTOM_BAR = 64


@pytest.fixture
def demo(visit):
    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    visit.goto("/sign-in/")
    sign_in(visit, "client@example.com", "demo-client-2026")
    return User.objects.get(email="client@example.com")


def in_view(locator, bottom=HEIGHT) -> bool:
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= bottom


@phone
def test_the_cancel_pop_up_keeps_its_choices_in_reach_and_the_keyboard_down(visit, demo):
    page = visit.page
    appointment = Appointment.objects.filter(client=demo, status="scheduled").first()
    card = page.locator(f"#appointment-{appointment.pk}")
    card.locator("summary").click()
    card.get_by_role("link", name="Cancel Appointment").click()
    dialog = page.locator("dialog#dialog")
    expect(dialog).to_be_visible()
    # The heading has focus, not a text box: no keyboard comes up over the choices.
    expect(dialog.get_by_role("heading", name="Cancel this appointment?")).to_be_focused()
    expect(dialog.get_by_label("Reason (optional)")).to_be_hidden()
    confirm = dialog.get_by_role("button", name="Cancel appointment")
    keep = dialog.get_by_role("button", name="Keep appointment")
    assert in_view(confirm) and in_view(keep)
    assert dialog.bounding_box()["height"] < HEIGHT * 0.75
    visit.check("cancel-dialog")
    # Opening the reason grows the pop-up; its choices stay pinned to its bottom edge.
    dialog.get_by_text("Add a reason (optional)").click()
    dialog.get_by_label("Reason (optional)").fill("Travelling")
    assert in_view(confirm) and in_view(keep)
    visit.check("cancel-dialog-reason")


@phone
def test_booking_on_a_phone_keeps_the_steps_on_one_line_and_confirm_in_view(visit, demo):
    page = visit.page
    page.get_by_role("link", name="Book an appointment").click()
    page.get_by_role("link", name=re.compile("Dr. Maya Okafor")).click()
    page.get_by_role("link", name=re.compile("Therapy session")).click()
    page.locator(".time-grid a").first.click()
    expect(page.get_by_role("heading", name="Review and confirm")).to_be_visible()
    tops = page.locator(".steps li").evaluate_all(
        "items => items.map(item => Math.round(item.getBoundingClientRect().top))"
    )
    assert len(set(tops)) == 1, tops  # one line, "Confirm" not alone on a second
    assert in_view(page.get_by_role("button", name="Confirm booking"), HEIGHT - BOTTOM_BAR)
    visit.check("review")


@phone
def test_the_chat_badge_follows_the_conversation_poll(visit, demo):
    """Another provider writes while the client reads a conversation: the menu says so."""
    page = visit.page
    page.locator("nav.bottom-nav").get_by_role("link", name=re.compile("Chat")).click()
    page.get_by_role("link", name=re.compile("Dr. Maya Okafor")).click()
    badge = page.locator("#chat_unread-bottom")
    expect(badge).to_be_hidden()  # this conversation's message is read by opening it
    other = ProviderFactory(display_name="Dr. Lena Park")
    CareTeamMember.objects.create(provider=other, client=demo)
    elsewhere = conversation_start(client=demo, provider=other)
    message_send(
        conversation=elsewhere, sender=other.user, body="See you soon", client_key=uuid.uuid4()
    )
    expect(badge).to_have_text(re.compile(r"^1"), timeout=15_000)  # within a poll or two
    visit.check("badge-updated")

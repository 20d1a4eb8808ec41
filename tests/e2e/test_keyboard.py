"""
The keyboard alone, at desktop size: where focus goes after each pop-up and in-place update,
the picker's days as one arrow-key group, and a focus ring on text fields as clear as on buttons.
"""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from appointments.models import Appointment
from portal.models import User
from tests.e2e.conftest import sign_in

desktop = pytest.mark.parametrize("viewport", ["desktop"], indirect=True)


@pytest.fixture
def demo(visit):
    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    visit.goto("/sign-in/")
    sign_in(visit, "client@example.com", "demo-client-2026")
    client = User.objects.get(email="client@example.com")
    return list(Appointment.objects.filter(client=client, status="scheduled").order_by("start"))


def open_cancel_with_keys(page, appointment):
    """Three-dots button, Enter, Tab to Cancel Appointment, Enter: no mouse."""
    page.locator(f"#appointment-{appointment.pk} summary").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")  # Reschedule
    page.keyboard.press("Tab")  # Cancel Appointment
    page.keyboard.press("Enter")
    expect(page.locator("dialog#dialog")).to_be_visible()
    # The heading, so nothing pops up on a phone; and only then do the Tabs below start.
    expect(page.locator("#dialog-title")).to_be_focused()


def menu_button(page, appointment):
    return page.locator(f"#appointment-{appointment.pk} summary")


@desktop
@pytest.mark.parametrize("close", ["Escape", "Keep"])
def test_closing_the_pop_up_returns_focus_to_the_same_appointments_menu(visit, demo, close):
    page = visit.page
    first, second = demo
    open_cancel_with_keys(page, second)
    if close == "Escape":
        page.keyboard.press("Escape")
    else:
        # From the heading, the reason's toggle, then the two choices.
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name="Keep appointment")).to_be_focused()
        page.keyboard.press("Enter")
    expect(page.locator("dialog#dialog")).to_be_hidden()
    expect(menu_button(page, second)).to_be_focused()
    # Shift+Tab walks back through this appointment's own card, not into another's menu.
    page.keyboard.press("Shift+Tab")
    expect(page.locator(f"#appointment-{second.pk} :focus")).to_have_count(1)
    assert Appointment.objects.get(pk=first.pk).status == "scheduled"


@desktop
def test_after_cancelling_focus_is_on_done_then_on_the_next_appointments_menu(visit, demo):
    page = visit.page
    first, second = demo
    open_cancel_with_keys(page, first)
    page.keyboard.press("Tab")  # the reason's toggle
    page.keyboard.press("Tab")  # Cancel appointment
    expect(page.get_by_role("button", name="Cancel appointment")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("dialog#dialog")).to_contain_text("was cancelled")
    # Done, not a link that leaves the page.
    expect(page.get_by_role("button", name="Done")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("dialog#dialog")).to_be_hidden()
    expect(menu_button(page, second)).to_be_focused()
    assert Appointment.objects.get(pk=first.pk).status == "cancelled"
    assert Appointment.objects.get(pk=second.pk).status == "scheduled"


@desktop
def test_cancelling_the_last_appointment_leaves_focus_on_the_lists_heading(visit, demo):
    page = visit.page
    last = demo[-1]
    open_cancel_with_keys(page, last)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Cancel appointment")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Done")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("dialog#dialog")).to_be_hidden()
    expect(page.locator("#upcoming-heading")).to_be_focused()


@desktop
def test_the_days_are_one_tab_stop_and_the_arrows_move_between_them(visit, demo):
    page = visit.page
    provider = demo[0].provider
    kind = provider.appointment_types.order_by("pk").first()
    visit.goto(f"/appointments/book/{provider.pk}/{kind.pk}/")
    days = page.locator(".day-list a.day")
    expect(days.first).to_have_attribute("tabindex", "0")
    assert days.count() > 3
    days.first.focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement === document.querySelectorAll('.day')[1]")
    page.keyboard.press("End")
    assert page.evaluate("document.activeElement === [...document.querySelectorAll('.day')].at(-1)")
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    label = page.evaluate("document.activeElement.textContent")
    page.keyboard.press("Enter")  # htmx swaps the times in place
    expect(page.locator(".day[aria-current='date']")).to_contain_text(label.split()[0])
    # Focus lands on the chosen day once htmx has settled the swap.
    expect(page.locator(".day[aria-current='date']")).to_be_focused()
    # From the chosen day, the first time is a few Tabs away, not one per day.
    presses = 0
    while presses < 5 and not page.evaluate("document.activeElement.classList.contains('time')"):
        page.keyboard.press("Tab")
        presses += 1
    assert 1 <= presses <= 2
    visit.check("days-by-keyboard")


@desktop
def test_text_fields_show_a_focus_ring_as_clear_as_the_buttons(visit, demo):
    page = visit.page
    visit.goto("/account/")
    field = page.get_by_label("Your name")
    field.focus()
    ring = field.evaluate(
        "el => { const s = getComputedStyle(el);"
        " return [s.outlineStyle, s.outlineWidth, s.outlineColor]; }"
    )
    page.keyboard.press("Tab")  # onwards with the keyboard, to the next control
    button = page.get_by_role("button", name="Save changes")
    button.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    button_ring = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth, s.outlineColor]; }"
    )
    assert ring == ["solid", "3px", "rgb(37, 99, 235)"]
    assert ring == button_ring

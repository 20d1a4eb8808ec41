"""Account > Access to your record in a browser: who opened it, and older entries, JS or not."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from portal.audit.models import Action, Role
from portal.audit.recorder import Entry, record_entries
from portal.views import ACCESS_PER_PAGE
from tests.e2e.conftest import ARTIFACTS, VIEWPORTS, sign_in
from tests.factories import TEST_PASSWORD, UserFactory


@pytest.fixture
def opened(client_user, provider):
    """A page and three of entries: the provider, office staff, the server and the portal."""
    provider.user.name = "Dr. Maya Okafor"
    provider.user.save()
    office = UserFactory(email="sam.front@example.com", name="Sam Front", is_staff=True)
    now = timezone.now()
    kinds = [
        (provider.user, Role.PROVIDER, Action.VIEWED, provider, ""),
        (office, Role.OFFICE_STAFF, Action.CHANGED, provider, "admin"),
        (None, Role.SYSTEM, Action.EMAILED, None, "task:send_reminders"),
        (office, Role.OPERATOR, Action.EXPORTED, None, "command:export_appointments"),
    ]
    entries = []
    for i in range(ACCESS_PER_PAGE + 3):
        actor, role, action, practice, origin = kinds[i % len(kinds)]
        entries.append(
            Entry(
                action=action,
                actor_id=actor.pk if actor else None,
                actor_role=role,
                client_id=client_user.pk,
                practice_id=practice.pk if practice else None,
                records=[f"appointments.appointment:{i + 1}"],
                origin=origin,
                at=now - timedelta(hours=3 * i),
            )
        )
    record_entries(entries)


def test_read_who_opened_the_record_and_show_older(visit, client_user, opened):
    visit.goto("/sign-in/")
    sign_in(visit, client_user.email, TEST_PASSWORD)
    page = visit.page

    visit.goto("/account/")
    page.get_by_role("link", name="Access to your record").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Access to your record")
    entries = page.locator(".access-entry")
    expect(entries).to_have_count(ACCESS_PER_PAGE)
    expect(entries.first).to_contain_text("Dr. Maya Okafor (provider) viewed your appointment")
    expect(entries.nth(1)).to_contain_text("Sam Front (office staff) changed your appointment")
    expect(entries.nth(2)).to_contain_text("The portal sent you an email about your appointment")
    expect(entries.nth(3)).to_contain_text("An administrator exported your appointment")
    expect(page.get_by_text("Times are shown in")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    visit.check("listed")

    page.get_by_role("link", name="Older").focus()
    page.keyboard.press("Enter")
    expect(entries).to_have_count(ACCESS_PER_PAGE + 3)
    # Focus lands on the first entry added, where reading goes on; nothing else is left.
    expect(entries.nth(ACCESS_PER_PAGE)).to_be_focused()
    expect(page.get_by_role("link", name="Older")).to_have_count(0)
    assert "after=" not in page.url
    visit.check("older-in-place")


def test_the_names_switch_leaves_roles(visit, client_user, provider, opened):
    provider.show_staff_names_to_clients = False
    provider.save()
    visit.goto("/sign-in/")
    sign_in(visit, client_user.email, TEST_PASSWORD)
    visit.goto("/account/access/")
    page = visit.page
    expect(page.locator(".access-entry").first).to_contain_text(
        "A provider at Dr. Maya Okafor's practice viewed your appointment"
    )
    expect(page.get_by_text("Sam Front")).to_have_count(0)
    visit.check("roles-only")


def test_an_empty_log_says_so(visit, client_user):
    visit.goto("/sign-in/")
    sign_in(visit, client_user.email, TEST_PASSWORD)
    visit.goto("/account/access/")
    expect(visit.page.get_by_text("No one has opened your record yet.")).to_be_visible()
    visit.check("empty")


def test_older_and_newer_pages_without_javascript(browser, live_server, client_user, opened):
    context = browser.new_context(**VIEWPORTS["phone"], java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/sign-in/")
    page.get_by_label("Email").fill(client_user.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(live_server.url + "/account/access/")
    entries = page.locator(".access-entry")
    expect(entries).to_have_count(ACCESS_PER_PAGE)
    page.get_by_role("link", name="Older").click()
    expect(entries).to_have_count(3)
    assert "after=" in page.url
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "test_access_record-no-js-phone-older.png"
    page.screenshot(path=str(shot), full_page=True)
    page.get_by_role("link", name="Newer").click()
    expect(entries).to_have_count(ACCESS_PER_PAGE)
    expect(page.get_by_role("link", name="Newer")).to_have_count(0)
    context.close()

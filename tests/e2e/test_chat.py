import re

from django.core.management import call_command
from playwright.sync_api import expect

from chat.models import Message
from tests.e2e.conftest import admin_sign_in, sign_in


def test_a_reply_from_the_admin_appears_in_the_clients_open_page(
    visit, viewport, browser, live_server
):
    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    page = visit.page
    visit.goto("/sign-in/")
    sign_in(visit, "client@example.com", "demo-client-2026")

    menu = page.locator("nav.side-nav" if viewport == "desktop" else "nav.bottom-nav")
    expect(menu.get_by_role("link", name=re.compile("Chat"))).to_contain_text("1")  # unread
    menu.get_by_role("link", name=re.compile("Chat")).click()
    expect(page.get_by_role("link", name="New Chat Message")).to_be_visible()
    visit.check("chat-list")

    page.get_by_role("link", name=re.compile("Dr. Maya Okafor")).click()
    expect(page.get_by_text("Yes, a phone works well.")).to_be_visible()
    page.get_by_role("textbox", name="Message").fill(
        "Could we talk about moving next week's session?"
    )
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#message-list")).to_contain_text("Could we talk about moving")
    expect(page.get_by_role("textbox", name="Message")).to_have_value("")
    visit.check("sent")

    # The provider answers from the admin, in another browser.
    admin = browser.new_context(viewport={"width": 1280, "height": 800})
    office = admin.new_page()
    admin_sign_in(office, live_server.url, "provider@example.com", "demo-provider-2026")
    office.goto(live_server.url + "/admin/chat/conversation/")
    office.get_by_role("link", name="Jordan Lee").click()
    expect(office.get_by_text("Could we talk about moving")).to_be_visible()
    office.locator("#id_body").fill("Of course. Thursday at 10 works for me.")
    office.get_by_role("button", name="Send reply").click()
    expect(office.get_by_text("Reply sent.")).to_be_visible()
    office.screenshot(
        path=str(visit.screenshot("unused").parent / f"admin-inbox-reply-{viewport}.png")
    )
    admin.close()

    # No reload: the open page picks the reply up by itself.
    expect(page.locator("#message-list")).to_contain_text("Thursday at 10 works", timeout=15_000)
    visit.check("reply-arrived")
    assert Message.objects.count() == 4


def test_message_your_provider_from_an_appointment_drafts_the_message(visit):
    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    page = visit.page
    visit.goto("/sign-in/")
    sign_in(visit, "client@example.com", "demo-client-2026")
    card = page.locator(".appt-card").first
    card.locator("summary").click()
    card.get_by_role("link", name="Cancel Appointment").click()
    dialog = page.locator("dialog#dialog")
    dialog.get_by_role("button", name="Cancel appointment").click()
    dialog.get_by_role("link", name="Message your provider to verify").click()
    expect(page).to_have_url(re.compile(r"/chat/\d+/\?appointment=\d+$"))
    expect(page.get_by_role("textbox", name="Message")).to_have_value(
        re.compile(r"^About my appointment on \w{3} \d{1,2} \w{3}, ")
    )
    visit.check("draft")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#message-list .msg-about").last).to_contain_text(
        "About the appointment on"
    )
    assert Message.objects.filter(appointment__isnull=False).count() == 1


def test_chat_works_with_javascript_off(browser, live_server, transactional_db):
    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/sign-in/")
    page.get_by_label("Email").fill("client@example.com")
    page.get_by_label("Password").fill("demo-client-2026")
    page.get_by_role("button", name="Sign in").click()
    page.goto(live_server.url + "/chat/")
    page.get_by_role("link", name=re.compile("Dr. Maya Okafor")).click()
    page.get_by_role("textbox", name="Message").fill("Sent without JavaScript")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#message-list")).to_contain_text("Sent without JavaScript")
    assert Message.objects.filter(body="Sent without JavaScript").count() == 1
    context.close()

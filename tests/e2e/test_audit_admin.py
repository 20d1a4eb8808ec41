"""A superuser reads the access log in the admin and narrows it to one client by typing an email."""

from datetime import UTC, datetime

from playwright.sync_api import expect

from portal.audit.recorder import Entry, record_entries
from tests.e2e.conftest import admin_sign_in
from tests.factories import TEST_PASSWORD, UserFactory


def test_read_the_access_log_and_filter_it_by_client(visit):
    root = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    provider = UserFactory(email="dr.okafor@example.com", is_staff=True)
    jordan = UserFactory(email="jordan@example.com")
    sam = UserFactory(email="sam@example.com")
    record_entries(
        [
            Entry(
                action="viewed",
                actor_id=provider.pk,
                actor_role="provider",
                client_id=client.pk,
                practice_id=1,
                address="203.0.113.9",
                records=[f"appointments.appointment:{n}"],
                detail=f"visit {n}",
                origin="admin",
                at=datetime(2026, 7, n, 14, tzinfo=UTC),
            )
            for n, client in enumerate([jordan, sam, jordan], start=1)
        ]
    )
    admin_sign_in(visit.page, visit.base_url, root.email, TEST_PASSWORD)
    visit.goto("/admin/portal/auditentry/")
    page = visit.page
    expect(page.get_by_role("heading", level=1)).to_have_text("Access log entries")
    expect(page.locator("#result_list tbody tr")).to_have_count(3)
    visit.check("list")

    if visit.viewport == "phone":
        # The filters sit below the list on a narrow screen.
        page.locator("#changelist-filter").scroll_into_view_if_needed()
    page.get_by_label("Client's email").fill("jordan@example.com")
    page.get_by_label("Client's email").press("Enter")
    page.wait_for_load_state("load")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("visit 3")
    expect(page.get_by_label("Client's email")).to_have_value("jordan@example.com")
    visit.check("by-client")

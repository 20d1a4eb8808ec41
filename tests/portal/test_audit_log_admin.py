"""
Superusers read the access log in the admin, filtered by client, staff member and dates; nobody
can add, change or delete an entry there, and practice staff do not see it at all.
"""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.audit.models import AuditEntry
from portal.audit.recorder import Entry, record_entries
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
LOG = reverse("admin:portal_auditentry_changelist")


@pytest.fixture
def root(db):
    return UserFactory(
        email="root@example.com", is_staff=True, is_superuser=True, time_zone="Europe/London"
    )


def seen(actor, client, *, at, records=("appointments.appointment:4",), detail="notes"):
    return Entry(
        action="viewed",
        actor_id=actor.pk if actor else None,
        actor_role="provider",
        client_id=client.pk if client else None,
        practice_id=3,
        address="203.0.113.9",
        records=records,
        detail=detail,
        origin="admin",
        at=at,
    )


def test_a_superuser_sees_the_entries_newest_first_in_their_own_zone(
    staff_browser, root, client_user, provider_user
):
    record_entries(
        [
            seen(provider_user, client_user, at=datetime(2026, 7, 1, 12, tzinfo=UTC)),
            seen(provider_user, client_user, at=datetime(2026, 7, 2, 9, tzinfo=UTC), detail="x2"),
        ]
    )
    page = staff_browser(root).get(LOG).text
    assert "2026-07-02 10:00:00 BST" in page  # 09:00 UTC in London's summer
    assert page.index("x2") < page.index("2026-07-01 13:00:00 BST")
    for shown in ["dr.okafor@example.com", "jordan@example.com", "appointments.appointment:4"]:
        assert shown in page
    assert "practice 3" in page and "203.0.113.9" in page and "admin" in page


def test_it_filters_by_client_by_staff_member_and_by_dates(
    staff_browser, root, client_user, stranger, provider_user
):
    other = UserFactory(email="office@example.com", is_staff=True)
    record_entries(
        [
            seen(provider_user, client_user, at=datetime(2026, 7, 1, 12, tzinfo=UTC), detail="A"),
            seen(provider_user, stranger, at=datetime(2026, 7, 2, 12, tzinfo=UTC), detail="B"),
            seen(other, client_user, at=datetime(2026, 7, 3, 12, tzinfo=UTC), detail="C"),
            # 23:30 UTC on the 3rd is the 4th in London: outside "to the 3rd".
            seen(other, stranger, at=datetime(2026, 7, 3, 23, 30, tzinfo=UTC), detail="D"),
        ]
    )
    browser = staff_browser(root)

    def details(**query) -> list[str]:
        response = browser.get(LOG, query)
        assert response.status_code == 200
        return sorted(d for d in "ABCD" if f'<td class="field-detail">{d}</td>' in response.text)

    assert details() == ["A", "B", "C", "D"]
    assert details(client_email="JORDAN@example.com") == ["A", "C"]
    assert details(actor_email="office@example.com") == ["C", "D"]
    assert details(on_or_after="2026-07-02", on_or_before="2026-07-03") == ["B", "C"]
    assert details(client_email="jordan@example.com", on_or_after="2026-07-02") == ["C"]
    assert details(client_email="nobody@example.com") == []


def test_the_filters_are_typed_not_a_list_of_every_user(staff_browser, root):
    page = staff_browser(root).get(LOG, {"actor_email": "dr@example.com"}).text
    assert 'type="email" name="client_email"' in page
    assert 'name="actor_email" value="dr@example.com"' in page
    # The other filters carry the typed one along.
    assert '<input type="hidden" name="actor_email" value="dr@example.com">' in page
    assert 'type="date" name="on_or_after"' in page
    assert "<select" not in page.split('id="changelist-filter"')[1]


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01", "9999-01-01"])
def test_a_bad_date_is_a_clear_400(staff_browser, root, bad):
    response = staff_browser(root).get(LOG, {"on_or_after": bad})
    assert response.status_code == 400
    assert "date" in response.text


def test_nothing_can_be_added_changed_or_deleted(staff_browser, root, client_user, provider_user):
    (entry,) = record_entries([seen(provider_user, client_user, at=datetime.now(UTC))])
    browser = staff_browser(root)
    assert browser.get(reverse("admin:portal_auditentry_add")).status_code == 403
    change = reverse("admin:portal_auditentry_change", args=[entry.pk])
    page = browser.get(change)
    assert page.status_code == 200 and "jordan@example.com" in page.text
    assert 'type="submit"' not in page.text.split('id="content-main"')[1].split("</form>")[0]
    assert browser.post(change, {"action": "changed"}).status_code == 403
    delete = reverse("admin:portal_auditentry_delete", args=[entry.pk])
    assert browser.get(delete).status_code == 403
    assert browser.post(delete, {"post": "yes"}).status_code == 403
    assert "delete_selected" not in browser.get(LOG).text
    response = browser.post(LOG, {"action": "delete_selected", "_selected_action": [entry.pk]})
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
    assert response.status_code in (200, 302, 400)


def test_a_deleted_account_shows_as_such(staff_browser, root, client_user, provider_user):
    record_entries([seen(provider_user, client_user, at=datetime.now(UTC))])
    client_pk = client_user.pk
    client_user.delete()
    page = staff_browser(root).get(LOG).text
    assert f"account {client_pk} (deleted)" in page


def test_practice_staff_are_refused_and_not_shown_it(staff_browser, provider, client_user):
    from appointments.models import OfficeStaff
    from portal.practice import join_practice_staff

    office = UserFactory(email="office@practice.example", is_staff=True)
    OfficeStaff.objects.create(provider=provider, user=office)
    join_practice_staff(provider.user)
    join_practice_staff(office)
    (entry,) = record_entries([seen(provider.user, client_user, at=datetime.now(UTC))])
    for user in [provider.user, office]:
        browser = staff_browser(user)
        assert browser.get(LOG).status_code == 403
        change = reverse("admin:portal_auditentry_change", args=[entry.pk])
        assert browser.get(change).status_code == 403
        assert "access log" not in browser.get(reverse("admin:index")).text.lower()


def test_a_client_is_sent_to_sign_in(client, signed_in):
    assert signed_in.get(LOG).status_code == 302
    assert client.get(LOG).status_code == 302


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"client_email": "jordan@example.com"},
        {"actor_email": "dr.okafor@example.com"},
        {"on_or_after": "2026-01-01", "on_or_before": "2026-12-31"},
    ],
)
def test_the_page_costs_the_same_queries_however_long_the_log(
    staff_browser, root, client_user, provider_user, query
):
    browser = staff_browser(root)
    browser.get(LOG)  # the session's first read out of the way

    def cost() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert browser.get(LOG, query).status_code == 200
        return len(queries)

    at = datetime(2026, 6, 1, tzinfo=UTC)
    record_entries([seen(provider_user, client_user, at=at)] * 3)
    few = cost()
    others = [UserFactory(email=f"c{n}@example.com") for n in range(5)]
    record_entries([seen(provider_user, person, at=at) for person in others * 30])
    record_entries([seen(provider_user, client_user, at=at)] * 60)
    assert cost() == few


def test_the_count_stops_at_the_cap(staff_browser, root, client_user, provider_user, monkeypatch):
    from portal import admin_audit

    monkeypatch.setattr(admin_audit, "COUNT_CAP", 5)
    record_entries([seen(provider_user, client_user, at=datetime.now(UTC))] * 8)
    with CaptureQueriesContext(connection) as queries:
        page = staff_browser(root).get(LOG).text
    assert "5 access log entries" in page
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"] and "audit_entry" in q["sql"]]
    assert counts and all("LIMIT 5" in sql for sql in counts)

"""
The access log of the workspace's own pages (the people and the outgoing email), and who an
entry says acted: a role is relative to the practice whose record it is.
"""

import pytest
from django.urls import reverse

from portal.audit import requests as audit_requests
from portal.audit.models import Action, Role
from portal.models import Email
from tests.appointments.test_audit_admin import ADDRESS, Logged, get, record
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(db):
    return UserFactory(email="ops@example.com", is_superuser=True, is_staff=True)


def test_a_clients_account_page_is_one_entry_about_them_in_no_practice(
    staff_browser, superuser, client_user
):
    url = reverse("admin:portal_user_change", args=[client_user.pk])
    with Logged() as log:
        assert get(staff_browser(superuser), url).status_code == 200
    entry, body = log.one()
    assert (entry.action, entry.client_id, entry.practice_id) == (
        Action.VIEWED,
        client_user.pk,
        None,
    )
    assert entry.actor_id == superuser.pk and entry.actor_role == Role.ADMINISTRATOR
    assert entry.address == ADDRESS and body["r"] == [record(client_user)]


def test_the_people_list_is_an_entry_per_person_shown_but_the_viewer(
    staff_browser, superuser, client_user, stranger
):
    with Logged() as log:
        get(staff_browser(superuser), reverse("admin:portal_user_changelist"))
    assert sorted(entry.client_id for entry in log.entries) == sorted([client_user.pk, stranger.pk])
    assert {entry.action for entry in log.entries} == {Action.LISTED}


def test_a_change_to_a_clients_account_is_logged_with_what_changed(
    staff_browser, superuser, client_user
):
    url = reverse("admin:portal_user_change", args=[client_user.pk])
    form = {
        "email": client_user.email,
        "name": "Jordan Lee-Park",
        "time_zone": client_user.time_zone,
        "is_active": "on",
    }
    with Logged() as log:
        response = staff_browser(superuser).post(url, form)
    assert response.status_code == 302, response.content[:2000]
    entry, body = log.one()
    assert (entry.action, entry.client_id) == (Action.CHANGED, client_user.pk)
    assert "Name" in body["d"]


def test_an_email_to_a_client_is_logged_as_theirs(staff_browser, superuser, client_user):
    email = Email.objects.create(kind="reminder", to=client_user.email, subject="Soon", body="x")
    unknown = Email.objects.create(kind="invite", to="nobody@example.com", subject="Hi", body="x")
    browser = staff_browser(superuser)
    with Logged() as page:
        get(browser, reverse("admin:portal_email_change", args=[email.pk]))
    entry, body = page.one()
    assert entry.client_id == client_user.pk and body["r"] == [record(email)]
    with Logged() as listing:
        get(browser, reverse("admin:portal_email_changelist"))
    entry, body = listing.one()  # the address of no account is no one's record
    assert entry.action == Action.LISTED and body["r"] == [record(email)]
    with Logged() as nobody:
        get(browser, reverse("admin:portal_email_change", args=[unknown.pk]))
    assert nobody.entries == []


def test_without_a_resolver_a_superuser_is_an_administrator_and_other_staff_office_staff(
    monkeypatch,
):
    monkeypatch.setattr(audit_requests, "role_resolver", None)
    admin = UserFactory.build(is_superuser=True, is_staff=True)
    staff = UserFactory.build(is_staff=True)
    assert audit_requests.actor_role(admin, 1) == Role.ADMINISTRATOR
    assert audit_requests.actor_role(staff, 1) == Role.OFFICE_STAFF

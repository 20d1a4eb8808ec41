"""
Hostile input to the admin, Django's own pages and other apps' included: a 400 that says why,
never a 500, and nothing changed.
"""

import re

import pytest
from axes.models import AccessAttempt
from django.contrib import admin
from django.contrib.auth import authenticate
from django.test import RequestFactory
from django.urls import reverse

from appointments.models import Fee
from portal.admin_site import BAD_DATE, BAD_SELECTION, RefuseHostileInput
from portal.auth import axes_username
from portal.practice import join_practice_staff
from tests.factories import PolicyFactory, UserFactory, book

pytestmark = pytest.mark.django_db


def changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def admins_with_date_hierarchy():
    return [(model, ma) for model, ma in admin.site._registry.items() if ma.date_hierarchy]


def text(response) -> str:
    return response.text.replace("&#x27;", "'")


@pytest.fixture
def superuser(staff_browser):
    return staff_browser(UserFactory(is_staff=True, is_superuser=True))


def test_every_admin_the_site_registers_refuses_hostile_input():
    """Django's, django-axes's and django-otp's admins too: the guard is added at registration."""
    assert len(admin.site._registry) > 10
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, RefuseHostileInput), model


# --- Date drill-down ------------------------------------------------------------------------


def test_the_schedule_and_the_sign_in_logs_have_a_drill_down_to_test():
    labels = {model._meta.label for model, _ in admins_with_date_hierarchy()}
    assert {"appointments.Appointment", "portal.Email", "axes.AccessAttempt"} <= labels


@pytest.mark.parametrize(
    "parts",
    [
        {"year": "9999"},
        {"year": "9999", "month": "12"},
        {"year": "9999", "month": "12", "day": "31"},
        {"year": "1", "month": "1", "day": "1"},  # year 0 in UTC east of Greenwich
        {"year": "2200"},
        {"year": "1969", "month": "12"},
        {"year": "²"},
        {"year": "2026", "month": "13"},
        {"year": "2026", "month": "2", "day": "30"},
        {"month": "12"},
    ],
)
def test_a_date_drill_down_out_of_range_is_a_400_on_every_list(superuser, parts):
    for model, model_admin in admins_with_date_hierarchy():
        query = {f"{model_admin.date_hierarchy}__{part}": v for part, v in parts.items()}
        response = superuser.get(changelist(model), query)
        assert response.status_code == 400, model
        assert BAD_DATE in text(response), model


@pytest.mark.parametrize(
    "parts", [{"year": "2199", "month": "12", "day": "31"}, {"year": "1970"}, {"year": "2026"}]
)
def test_the_drill_down_still_works_inside_the_range(superuser, parts):
    for model, model_admin in admins_with_date_hierarchy():
        query = {f"{model_admin.date_hierarchy}__{part}": v for part, v in parts.items()}
        assert superuser.get(changelist(model), query).status_code == 200, model


def test_a_provider_drilling_down_to_9999_in_a_zone_east_of_greenwich_gets_the_message(
    client, staff_browser, provider
):
    join_practice_staff(provider.user)
    provider.user.time_zone = "Pacific/Kiritimati"  # UTC+14
    provider.user.save()
    staff = staff_browser(provider.user)
    url = changelist(provider.appointments.model)
    for query in ({"start__year": "9999"}, {"start__year": "1", "start__month": "1"}):
        response = staff.get(url, query)
        assert response.status_code == 400
        assert "Back to the practice workspace" in response.text


# --- Actions on a selection -----------------------------------------------------------------


@pytest.fixture
def fee(provider, session_type, client_user):
    PolicyFactory(provider=provider)
    appointment = book(client_user, provider, session_type, days=5)
    return Fee.objects.create(
        appointment=appointment, kind="late_reschedule", amount=20, currency="USD"
    )


@pytest.mark.parametrize("selected", ["abc", "²", "١", "9" * 40, "-1", ""])
def test_a_fee_action_on_a_selection_that_is_not_an_id_is_a_400_and_changes_nothing(
    client, staff_browser, provider, fee, selected
):
    join_practice_staff(provider.user)
    staff = staff_browser(provider.user)
    response = staff.post(
        changelist(Fee), {"action": "waive", "_selected_action": [str(fee.pk), selected]}
    )
    assert response.status_code == 400
    assert BAD_SELECTION in text(response)
    fee.refresh_from_db()
    assert fee.status == "pending"


def test_a_fee_action_on_real_ids_still_works(client, staff_browser, provider, fee):
    join_practice_staff(provider.user)
    staff = staff_browser(provider.user)
    response = staff.post(changelist(Fee), {"action": "waive", "_selected_action": [fee.pk]})
    assert response.status_code == 302
    fee.refresh_from_db()
    assert fee.status == "waived"


def test_every_list_with_actions_refuses_a_selection_that_is_not_an_id(superuser):
    request = RequestFactory().get("/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    tried = []
    for model, model_admin in admin.site._registry.items():
        actions = model_admin.get_actions(request)
        if not actions:
            continue
        action = next(iter(actions))
        before = model._default_manager.count()
        # "abc" is no integer; "9" * 40 fits no column; "not-a-uuid" no UUID key.
        for selected in ("abc", "9" * 40, "not-a-uuid"):
            data = {"action": action, "_selected_action": selected, "index": "0"}
            response = superuser.post(changelist(model), data)
            assert response.status_code == 400, (model, selected, response.status_code)
            assert BAD_SELECTION in text(response), model
        assert model._default_manager.count() == before, model
        tried.append(model._meta.label)
    assert {"appointments.Fee", "portal.Email", "django_tasks_database.DBTaskResult"} <= set(tried)


# --- Sign-in --------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["a" * 256, "a" * 250 + "@example.com", "a" * 1000])
def test_an_over_long_admin_username_is_a_form_error_not_a_database_error(client, username):
    response = client.post(reverse("admin:login"), {"username": username, "password": "x"})
    assert response.status_code == 200
    assert re.search(r"at most 254 characters|valid email address", text(response))
    assert not AccessAttempt.objects.exists()


def test_the_admin_sign_in_still_counts_failures_of_a_real_email(client):
    client.post(reverse("admin:login"), {"username": "Staff@Example.com", "password": "x"})
    assert AccessAttempt.objects.get().username == "staff@example.com"


def test_the_throttle_keeps_any_username_within_its_column():
    """Whatever calls authenticate() with an over-long name, the attempt is stored, cut short."""
    request = RequestFactory().post("/sign-in/", REMOTE_ADDR="203.0.113.9")
    long_name = "b" * 300 + "@example.com"
    assert axes_username(request, {"username": long_name}) == long_name[:255]
    assert authenticate(request, username=long_name, password="wrong") is None
    assert AccessAttempt.objects.get().username == long_name[:255]

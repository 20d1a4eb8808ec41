"""
Every duration a provider sets has a sane upper bound, at the form, the model and the
database. A minimum notice of 3,000,000 days or a grace period of 999,999,999 days used to
save, then 500 every page of that provider's clients (and live on in the terms saved with
each booking, which are read clamped: see tests/policies/test_terms.py).
"""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.forms.models import model_to_dict
from django.test import RequestFactory
from django.urls import reverse

from appointments.models import MAX_BUFFER, MAX_MIN_NOTICE, Appointment, Policy, Provider
from policies.terms import MAX_GRACE_PERIOD, MAX_NOTICE
from portal.practice import join_practice_staff
from tests.factories import PolicyFactory, UserFactory, book

pytestmark = pytest.mark.django_db


def as_post(instance) -> dict:
    """The instance's own values as a form would post them (durations as hours and minutes)."""
    posted = {}
    for key, value in model_to_dict(instance).items():
        if isinstance(value, timedelta):
            posted |= entered(key, *divmod(int(value.total_seconds()) // 60, 60))
        else:
            posted[key] = "" if value is None else value
    return posted


def entered(field: str, hours: int, minutes: int = 0) -> dict:
    """A duration as its two inputs post it."""
    return {f"{field}_0": str(hours), f"{field}_1": str(minutes)}


def admin_form(model, instance, changes: dict):
    request = RequestFactory().get("/")
    request.user = UserFactory(is_staff=True, is_superuser=True)
    form_class = admin.site._registry[model].get_form(request, instance)
    return form_class(as_post(instance) | changes, instance=instance)


# --- The provider's booking rules -----------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("min_notice", (72_000_000, 0), "at most 365 days"),
        ("min_notice", (366 * 24, 0), "at most 365 days"),
        ("buffer_before", (24, 1), "at most 1 day"),
        ("buffer_after", (99_999_999, 59), "at most 1 day"),
        ("min_notice", (-24, 0), "can't be negative"),
        ("buffer_after", (0, 60), "Minutes go up to 59"),
        ("buffer_after", ("1.5", 0), "Enter whole hours and minutes"),
    ],
)
def test_the_providers_form_refuses_an_absurd_duration(provider, field, value, message):
    form = admin_form(Provider, provider, entered(field, *value))
    assert not form.is_valid()
    assert message in form.errors[field][0]


def test_the_providers_form_takes_durations_up_to_the_bounds(provider):
    changes = (
        entered("min_notice", 365 * 24) | entered("buffer_before", 24) | entered("buffer_after", 0)
    )
    form = admin_form(Provider, provider, changes)
    assert form.is_valid(), form.errors
    form.save()
    provider.refresh_from_db()
    assert provider.min_notice == MAX_MIN_NOTICE and provider.buffer_before == MAX_BUFFER


@pytest.mark.parametrize(
    "changes",
    [
        {"min_notice": MAX_MIN_NOTICE + timedelta(seconds=1)},
        {"buffer_before": MAX_BUFFER + timedelta(seconds=1)},
        {"buffer_after": MAX_BUFFER + timedelta(seconds=1)},
    ],
)
def test_the_database_refuses_a_provider_duration_past_its_bound(provider, changes):
    with pytest.raises(IntegrityError), transaction.atomic():
        Provider.objects.filter(pk=provider.pk).update(**changes)


# --- The policy ----------------------------------------------------------------------------


@pytest.fixture
def staff(client, staff_browser, provider):
    join_practice_staff(provider.user)
    return staff_browser(provider.user)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("grace_period", (99_999_999, 0), "at most 30 days"),
        ("grace_period", (31 * 24, 0), "at most 30 days"),
        ("cancel_notice", (72_000_000, 0), "at most 365 days"),
        ("reschedule_notice", (366 * 24, 0), "at most 365 days"),
        ("cancel_notice", (10**12, 0), "more hours than any"),  # past what a timedelta holds
    ],
)
def test_the_policy_page_refuses_an_absurd_duration_and_saves_nothing(
    staff, provider, field, value, message
):
    policy = PolicyFactory(provider=provider)
    url = reverse("admin:appointments_policy_change", args=[policy.pk])
    response = staff.post(url, as_post(policy) | entered(field, *value))
    assert response.status_code == 200  # the form again, with the error
    errors = response.context["adminform"].form.errors
    assert message in errors[field][0]
    saved = Policy.objects.get(pk=policy.pk)
    assert getattr(saved, field) == getattr(policy, field)


def test_the_policy_page_saves_durations_up_to_the_bounds(staff, provider):
    policy = PolicyFactory(provider=provider)
    url = reverse("admin:appointments_policy_change", args=[policy.pk])
    changes = entered("cancel_notice", 365 * 24) | entered("grace_period", 30 * 24)
    assert staff.post(url, as_post(policy) | changes).status_code == 302
    policy.refresh_from_db()
    assert (policy.cancel_notice, policy.grace_period) == (MAX_NOTICE, MAX_GRACE_PERIOD)


@pytest.mark.parametrize(
    "changes",
    [
        {"cancel_notice": MAX_NOTICE + timedelta(seconds=1)},
        {"reschedule_notice": MAX_NOTICE + timedelta(seconds=1)},
        {"grace_period": MAX_GRACE_PERIOD + timedelta(seconds=1)},
    ],
)
def test_the_database_refuses_a_policy_duration_past_its_bound(provider, changes):
    policy = PolicyFactory(provider=provider)
    with pytest.raises(IntegrityError), transaction.atomic():
        Policy.objects.filter(pk=policy.pk).update(**changes)


# --- Terms saved before the bounds ----------------------------------------------------------

ABSURD_TERMS = {
    "cancel_notice": 3_000_000 * 86400,
    "reschedule_notice": 3_000_000 * 86400,
    "grace_period": 999_999_999 * 86400,
}


@pytest.fixture
def absurd_appointment(client_user, provider, session_type):
    PolicyFactory(provider=provider)
    appointment = book(client_user, provider, session_type, days=5, booked_days_ago=3)
    terms = appointment.policy_terms | ABSURD_TERMS
    Appointment.objects.filter(pk=appointment.pk).update(policy_terms=terms)
    appointment.refresh_from_db()
    return appointment


@pytest.mark.parametrize("name", ["list", "cancel", "reschedule"])
def test_a_booking_with_absurd_saved_terms_still_shows_every_page(
    signed_in, absurd_appointment, name
):
    url = (
        reverse("appointments:list")
        if name == "list"
        else reverse(f"appointments:{name}", args=[absurd_appointment.pk])
    )
    assert signed_in.get(url).status_code == 200


def test_absurd_saved_terms_are_read_as_their_bounds(signed_in, absurd_appointment):
    terms = absurd_appointment.terms
    assert (terms.cancel_notice, terms.reschedule_notice, terms.grace_period) == (
        MAX_NOTICE,
        MAX_NOTICE,
        MAX_GRACE_PERIOD,
    )
    # A year's notice on a session five days away: the grace period is what still allows it.
    html = signed_in.get(reverse("appointments:list")).text
    assert "Free to cancel or reschedule until" in html


def test_the_practice_sees_a_booking_with_absurd_saved_terms(
    client, staff_browser, provider, absurd_appointment
):
    join_practice_staff(provider.user)
    staff = staff_browser(provider.user)
    for url in (
        reverse("admin:appointments_appointment_change", args=[absurd_appointment.pk]),
        reverse("admin:appointment-cancel", args=[absurd_appointment.pk]),
    ):
        assert staff.get(url).status_code == 200


# --- Rows saved before the bounds -----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_brings_saved_rows_inside_the_bounds():
    """
    Rows from before the bounds are clamped, so the new constraints can hold. (100,000 days:
    SQLite cannot even store the three million days PostgreSQL took.)
    """
    before = [("appointments", "0009_practice_staff_invitations"), ("policies", "0001_initial")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    User = apps.get_model("portal", "User")
    OldProvider = apps.get_model("appointments", "Provider")
    OldPolicy = apps.get_model("policies", "Policy")
    absurd = timedelta(days=100_000)
    provider = OldProvider.objects.create(
        user=User.objects.create(email="old@example.com"),
        display_name="Dr. Old",
        time_zone="UTC",
        min_notice=absurd,
        buffer_before=absurd,
        buffer_after=timedelta(hours=1),
    )
    policy = OldPolicy.objects.create(
        provider=provider, cancel_notice=absurd, reschedule_notice=absurd, grace_period=absurd
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    provider = Provider.objects.get(pk=provider.pk)
    assert (provider.min_notice, provider.buffer_before, provider.buffer_after) == (
        MAX_MIN_NOTICE,
        MAX_BUFFER,
        timedelta(hours=1),
    )
    policy = Policy.objects.get(pk=policy.pk)
    assert (policy.cancel_notice, policy.reschedule_notice, policy.grace_period) == (
        MAX_NOTICE,
        MAX_NOTICE,
        MAX_GRACE_PERIOD,
    )

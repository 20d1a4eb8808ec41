"""A policy as the practice edits it: the form, and the preview of what clients read."""

import pytest
from django.urls import reverse

from appointments.policy_admin import policy_preview
from portal.practice import join_practice_staff
from tests.factories import PolicyFactory, ProviderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def policy():
    provider = ProviderFactory(display_name="Dr. Ours", time_zone="America/Chicago")
    join_practice_staff(provider.user)
    policy = PolicyFactory(provider=provider)
    policy.refresh_from_db()  # amounts as the database gives them back: Decimals
    return policy


def test_the_preview_reads_as_clients_would_with_an_example_deadline(policy):
    html = policy_preview(policy)
    assert "For a session on <strong>" in html and ("CST" in html or "CDT" in html)
    assert "Free to cancel until" in html
    assert "A $50 fee applies if you cancel now" in html
    assert "Please cancel at least 24 hours ahead" in html


def test_the_policy_page_shows_the_preview(staff_browser, policy):
    browser = staff_browser(policy.provider.user)
    html = browser.get(reverse("admin:appointments_policy_change", args=[policy.pk])).text
    assert "What clients read" in html and "Free to cancel until" in html


def test_another_practices_policy_is_not_found(staff_browser, policy):
    other = ProviderFactory()
    join_practice_staff(other.user)
    response = staff_browser(other.user).get(
        reverse("admin:appointments_policy_change", args=[policy.pk])
    )
    assert response.status_code == 302 and response.url == reverse("admin:index")

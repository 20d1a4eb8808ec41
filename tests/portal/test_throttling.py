from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from django.utils import timezone

from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db
SIGN_IN = reverse("sign-in")


def attempt(client, email, password, ip="203.0.113.7"):
    return client.post(SIGN_IN, {"username": email, "password": password}, REMOTE_ADDR=ip)


def fail_five_times(client, email, ip="203.0.113.7"):
    for _ in range(5):
        attempt(client, email, "wrong-password", ip)


def test_four_failures_still_allow_the_right_password(client, client_user):
    for _ in range(4):
        assert attempt(client, client_user.email, "wrong-password").status_code == 200
    assert attempt(client, client_user.email, TEST_PASSWORD).status_code == 302


def test_five_failures_refuse_even_the_right_password_with_a_clear_429(client, client_user):
    fail_five_times(client, client_user.email)
    response = attempt(client, client_user.email, TEST_PASSWORD)
    assert response.status_code == 429
    assert "sign-in is paused for 15 minutes" in response.text
    assert "_auth_user_id" not in client.session


def test_failures_in_any_letter_case_count_against_one_account(client, client_user):
    for email in ["jordan@example.com", "JORDAN@example.com", "Jordan@Example.com"] * 2:
        attempt(client, email, "wrong-password")
    assert attempt(client, "jordan@EXAMPLE.com", TEST_PASSWORD).status_code == 429


def test_another_address_is_not_refused(client, client_user):
    fail_five_times(client, client_user.email, ip="203.0.113.7")
    assert attempt(client, client_user.email, TEST_PASSWORD, ip="198.51.100.9").status_code == 302


def test_another_email_from_the_same_address_is_not_refused(client, client_user, stranger):
    fail_five_times(client, client_user.email)
    assert attempt(client, stranger.email, TEST_PASSWORD).status_code == 302


def test_the_pause_lifts_by_itself_after_15_minutes(client, client_user):
    fail_five_times(client, client_user.email)
    assert attempt(client, client_user.email, TEST_PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=15, seconds=1))
    assert attempt(client, client_user.email, TEST_PASSWORD).status_code == 302

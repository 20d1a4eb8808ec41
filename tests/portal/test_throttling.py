from datetime import timedelta
from io import StringIO

import pytest
from axes.models import AccessAttempt, AccessAttemptExpiration
from django.core.management import call_command
from django.test import Client
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


def test_every_try_counts_once_paused_ones_too(client, client_user):
    # The pause page keeps the email in its field without signing in again: each refused
    # try is one more failure (the pause restarts from it), never two.
    fail_five_times(client, client_user.email)
    assert AccessAttempt.objects.get().failures_since_start == 5
    paused = attempt(client, client_user.email, TEST_PASSWORD)
    assert paused.status_code == 429
    assert 'value="jordan@example.com"' in paused.text
    assert AccessAttempt.objects.get().failures_since_start == 6


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


def test_expired_counts_are_cleaned_away_by_the_next_try_and_current_ones_kept(
    client, client_user, stranger
):
    fail_five_times(client, client_user.email)
    attempt(client, stranger.email, "wrong-password")
    AccessAttemptExpiration.objects.filter(access_attempt__username=client_user.email).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    attempt(client, stranger.email, "wrong-password")
    counts = AccessAttempt.objects.values_list("username", "failures_since_start")
    assert list(counts) == [(stranger.email, 2)]
    assert attempt(client, client_user.email, TEST_PASSWORD).status_code == 302


def test_axes_reset_for_one_email_lifts_its_pause_and_keeps_the_others(
    client, client_user, stranger
):
    fail_five_times(client, client_user.email)
    fail_five_times(client, stranger.email)
    out = StringIO()
    call_command("axes_reset_username", client_user.email, stdout=out)
    assert out.getvalue() == "1 attempts removed.\n"
    assert attempt(Client(), stranger.email, TEST_PASSWORD).status_code == 429
    assert attempt(client, client_user.email, TEST_PASSWORD).status_code == 302


def test_axes_reset_lifts_every_pause(client, client_user, stranger):
    fail_five_times(client, client_user.email)
    fail_five_times(client, stranger.email, ip="198.51.100.9")
    call_command("axes_reset", stdout=StringIO())
    assert not AccessAttempt.objects.exists()
    assert not AccessAttemptExpiration.objects.exists()
    assert attempt(client, client_user.email, TEST_PASSWORD).status_code == 302


# --- Behind a proxy: the client's own address is counted, never the proxy's ------------------

PROXY = "10.0.0.2"
ATTACKER, VICTIM = "203.0.113.7", "198.51.100.9"


def attempt_through_proxy(client, email, password, forwarded):
    return client.post(
        SIGN_IN,
        {"username": email, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded,
    )


def test_behind_a_proxy_the_attacker_is_locked_and_the_victim_still_signs_in(
    client, client_user, settings
):
    settings.AXES_IPWARE_PROXY_COUNT = 1
    for _ in range(5):
        attempt_through_proxy(client, client_user.email, "wrong-password", ATTACKER)
    assert (
        attempt_through_proxy(client, client_user.email, TEST_PASSWORD, ATTACKER).status_code == 429
    )
    victim = Client()
    response = attempt_through_proxy(victim, client_user.email, TEST_PASSWORD, VICTIM)
    assert response.status_code == 302
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [ATTACKER]


def test_behind_a_proxy_addresses_the_attacker_writes_into_the_header_change_nothing(
    client, client_user, settings
):
    settings.AXES_IPWARE_PROXY_COUNT = 1
    # What the proxy passes on: whatever the attacker sent, then the address it really came from.
    spoofed = [f"{VICTIM}, {ATTACKER}", f'{VICTIM}, ", {ATTACKER}']
    spoofed += [f"10.9.9.{n}, {ATTACKER}" for n in range(3)]
    for forwarded in spoofed:
        attempt_through_proxy(client, client_user.email, "wrong-password", forwarded)
    again = attempt_through_proxy(client, client_user.email, TEST_PASSWORD, f"1.1.1.1, {ATTACKER}")
    assert again.status_code == 429
    victim = Client()
    assert (
        attempt_through_proxy(victim, client_user.email, TEST_PASSWORD, VICTIM).status_code == 302
    )


def test_behind_two_proxies_the_address_the_first_one_saw_is_counted(client, client_user, settings):
    settings.AXES_IPWARE_PROXY_COUNT = 2
    for _ in range(5):
        attempt_through_proxy(client, client_user.email, "wrong", f"{VICTIM}, {ATTACKER}, 10.0.0.1")
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [ATTACKER]
    victim = Client()
    response = attempt_through_proxy(
        victim, client_user.email, TEST_PASSWORD, f"{VICTIM}, 10.0.0.1"
    )
    assert response.status_code == 302


def test_without_a_proxy_a_forwarded_header_changes_nothing(client, client_user, settings):
    settings.AXES_IPWARE_PROXY_COUNT = 0
    for n in range(5):
        client.post(
            SIGN_IN,
            {"username": client_user.email, "password": "wrong-password"},
            REMOTE_ADDR=ATTACKER,
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        )
    again = client.post(
        SIGN_IN,
        {"username": client_user.email, "password": TEST_PASSWORD},
        REMOTE_ADDR=ATTACKER,
        HTTP_X_FORWARDED_FOR=VICTIM,
    )
    assert again.status_code == 429
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [ATTACKER]
    victim = Client()
    response = victim.post(
        SIGN_IN,
        {"username": client_user.email, "password": TEST_PASSWORD},
        REMOTE_ADDR=VICTIM,
        HTTP_X_FORWARDED_FOR=ATTACKER,
    )
    assert response.status_code == 302


def test_the_admin_sign_in_is_throttled_alike(client, db):
    from tests.factories import UserFactory

    staff = UserFactory(email="staff@example.com", is_staff=True)
    admin_login = reverse("admin:login")
    for _ in range(5):
        client.post(
            admin_login, {"username": staff.email, "password": "wrong"}, REMOTE_ADDR=ATTACKER
        )
    response = client.post(
        admin_login, {"username": staff.email, "password": TEST_PASSWORD}, REMOTE_ADDR=ATTACKER
    )
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session

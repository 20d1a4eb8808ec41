"""
Throttles under requests sent at the same instant: threads, each with its own database
connection, through the real middleware and views, on the configured database (PostgreSQL in
CI, SQLite on a file).
"""

import threading

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.models import Email, ThrottleSlot, User
from tests.concurrency import race
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)
RACERS = 12


def statuses(outcomes) -> list:
    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    return [result for _, result in outcomes]


def test_reset_requests_for_one_email_sent_at_once_queue_three_emails(client_user):
    def ask(i):
        response = Client().post(
            reverse("password-reset"), {"email": client_user.email}, REMOTE_ADDR=f"198.51.100.{i}"
        )
        return response.status_code

    assert statuses(race(ask, RACERS)) == [302] * RACERS
    assert Email.objects.filter(kind="password-reset", to=client_user.email).count() == 3


def test_reset_requests_from_one_address_sent_at_once_are_held_to_ten(db):
    def ask(i):
        response = Client().post(
            reverse("password-reset"), {"email": f"nobody{i}@example.com"}, REMOTE_ADDR="1.2.3.4"
        )
        return response.status_code

    assert statuses(race(ask, RACERS)) == [302] * RACERS
    assert ThrottleSlot.objects.filter(scope="password-reset-address").count() == 10
    # The two refused requests gave back what they took for their email.
    assert ThrottleSlot.objects.filter(scope="password-reset-email").count() == 10


def test_wrong_current_passwords_sent_at_once_are_checked_five_times_at_most(
    client_user, monkeypatch
):
    browsers = []
    for _ in range(RACERS):
        browser = Client()
        browser.force_login(client_user)
        browsers.append(browser)
    checked = []
    lock = threading.Lock()
    real_check = User.check_password

    def counted_check(user, raw_password):
        with lock:
            checked.append(raw_password)
        return real_check(user, raw_password)

    monkeypatch.setattr(User, "check_password", counted_check)

    def guess(i):
        response = browsers[i].post(
            reverse("account:password"),
            {
                "old_password": f"guess-{i}",
                "new_password1": "x-Y-z-42!",
                "new_password2": "x-Y-z-42!",
            },
        )
        return response.status_code

    answers = statuses(race(guess, RACERS))
    assert len(checked) == 5
    assert answers.count(429) >= RACERS - 5 and set(answers) <= {200, 429}
    client_user.refresh_from_db()
    assert real_check(client_user, TEST_PASSWORD)


def test_second_factor_codes_sent_at_once_are_checked_one_at_a_time(settings):
    # A long wait after a miss, so that every later guess in the race meets it.
    settings.OTP_TOTP_THROTTLE_FACTOR = 60
    staff = UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    browsers = []
    for _ in range(RACERS):
        browser = Client()
        browser.force_login(staff)
        browsers.append(browser)

    def guess(i):
        return browsers[i].post(reverse("admin:two-factor"), {"code": f"{i:06d}"}).text

    pages = statuses(race(guess, RACERS))
    assert sum("didn&#x27;t work" in page for page in pages) == 1
    assert sum("Too many tries" in page for page in pages) == RACERS - 1
    device.refresh_from_db()
    assert device.throttling_failure_count == 1

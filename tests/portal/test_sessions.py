"""Account > Signed-in sessions: list, end one, end all others; nobody else's, ever."""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.devices import device_label
from portal.middleware import SEEN_WRITE_INTERVAL, SESSION_SEEN_KEY
from portal.models import UserSession
from portal.sessions import session_handle
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db
SESSIONS = reverse("account:sessions")
END_OTHERS = reverse("account:sessions-end-others")
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)


def browser_signed_in(user, agent: str, address: str) -> Client:
    """A browser that signed in through the sign-in page, as `agent` from `address`."""
    browser = Client(HTTP_USER_AGENT=agent, REMOTE_ADDR=address)
    response = browser.post(reverse("sign-in"), {"username": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302
    return browser


def row_of(browser: Client) -> UserSession:
    return UserSession.objects.get(session_key=browser.cookies[settings.SESSION_COOKIE_NAME].value)


def end_url(browser: Client) -> str:
    return reverse("account:session-end", args=[row_of(browser).handle])


@pytest.fixture
def laptop(client_user):
    return browser_signed_in(client_user, FIREFOX_WINDOWS, "203.0.113.7")


@pytest.fixture
def phone(client_user):
    return browser_signed_in(client_user, SAFARI_IPHONE, "198.51.100.23")


@pytest.fixture
def tablet(client_user):
    return browser_signed_in(client_user, CHROME_ANDROID, "2001:db8::7")


def is_signed_in(browser: Client) -> bool:
    return browser.get(reverse("account:detail")).status_code == 200


# --- What a sign-in records --------------------------------------------------------------------


def test_signing_in_records_user_device_address_and_times(laptop, client_user):
    row = row_of(laptop)
    assert row.user_id == client_user.pk
    assert row.device == "Firefox on Windows"
    assert row.address == "203.0.113.7"
    assert row.signed_in_at is not None
    assert row.last_active_at == row.signed_in_at


def test_the_address_is_the_one_the_throttles_count(settings, client_user):
    settings.AXES_IPWARE_PROXY_COUNT = 1
    browser = Client(
        HTTP_USER_AGENT=FIREFOX_WINDOWS,
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.50",
    )
    browser.post(reverse("sign-in"), {"username": client_user.email, "password": TEST_PASSWORD})
    assert row_of(browser).address == "203.0.113.50"


def test_no_page_carries_the_session_key(laptop, phone):
    key = phone.cookies[settings.SESSION_COOKIE_NAME].value
    html = laptop.get(SESSIONS).text
    assert key not in html
    assert session_handle(key) in html


@pytest.mark.parametrize(
    ("agent", "label"),
    [
        (FIREFOX_WINDOWS, "Firefox on Windows"),
        (SAFARI_IPHONE, "Safari on iPhone"),
        (CHROME_ANDROID, "Chrome on Android"),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like "
            "Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
            "Edge on Mac",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
            "SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
            "Samsung Internet on Android",
        ),
        ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) Chrome/131.0.0.0", "Chrome on ChromeOS"),
        ("curl/8.5.0", "Unknown browser"),
        ("", "Unknown browser"),
    ],
)
def test_the_device_is_a_short_label(agent, label):
    assert device_label(agent) == label


# --- The page ----------------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(SESSIONS)
    assert response.status_code == 302
    assert response.url.startswith(reverse("sign-in"))


def test_it_lists_this_device_first_then_the_others_newest_active_first(
    laptop, phone, tablet, client_user
):
    # The phone was used after the tablet signed in.
    later = row_of(tablet).last_active_at + timedelta(seconds=5)
    UserSession.objects.filter(pk=row_of(phone).pk).update(last_active_at=later)
    html = laptop.get(SESSIONS).text
    this, phone_at, tablet_at = (
        html.index("Firefox on Windows"),
        html.index("Safari on iPhone"),
        html.index("Chrome on Android"),
    )
    assert this < phone_at < tablet_at
    assert "This device" in html[this:phone_at]
    assert "198.51.100.23" in html and "2001:db8::7" in html
    assert html.count("Sign out<span") == 2


def test_times_are_shown_in_the_clients_zone(laptop, phone, client_user):
    client_user.time_zone = "Asia/Kolkata"
    client_user.save()
    html = laptop.get(SESSIONS).text
    assert "IST" in html
    assert "Times are shown in" in html


def test_someone_elses_sessions_are_not_listed(laptop, stranger):
    browser_signed_in(stranger, CHROME_ANDROID, "192.0.2.99")
    html = laptop.get(SESSIONS).text
    assert "192.0.2.99" not in html
    assert "You're not signed in anywhere else" in html


def test_a_session_whose_idle_clock_ran_out_is_not_listed(laptop, phone):
    idle = time.time() - settings.SESSION_IDLE_TIMEOUT.total_seconds() - 5
    session = phone.session
    session[SESSION_SEEN_KEY] = idle
    session.save()
    assert "Safari on iPhone" not in laptop.get(SESSIONS).text


def test_the_list_costs_the_same_queries_for_one_session_or_many(laptop, client_user):
    with CaptureQueriesContext(connection) as one:
        laptop.get(SESSIONS)
    for n in range(6):
        browser_signed_in(client_user, SAFARI_IPHONE, f"198.51.100.{n}")
    with CaptureQueriesContext(connection) as many:
        html = laptop.get(SESSIONS).text
    assert html.count("198.51.100.") == 6
    assert len(many) == len(one)


def test_the_account_page_links_to_it(laptop):
    assert SESSIONS in laptop.get(reverse("account:detail")).text


# --- Ending sessions ---------------------------------------------------------------------------


def test_ending_one_signs_that_browser_out_and_no_other(laptop, phone, tablet):
    response = laptop.post(end_url(phone))
    assert response.status_code == 302
    assert response.url == SESSIONS
    assert "Safari on iPhone was signed out" in laptop.get(SESSIONS).text
    assert not is_signed_in(phone)
    assert is_signed_in(tablet)
    assert is_signed_in(laptop)


def test_ending_all_others_keeps_this_one_signed_in(laptop, phone, tablet, stranger):
    strangers = browser_signed_in(stranger, CHROME_ANDROID, "192.0.2.99")
    response = laptop.post(END_OTHERS, follow=True)
    assert "You were signed out everywhere else" in response.text
    assert not is_signed_in(phone)
    assert not is_signed_in(tablet)
    assert is_signed_in(laptop)
    assert is_signed_in(strangers)


def test_a_password_change_ends_the_others_and_they_leave_the_list(laptop, phone):
    response = laptop.post(
        reverse("account:password"),
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "a-new-long-passphrase-42",
            "new_password2": "a-new-long-passphrase-42",
        },
    )
    assert response.status_code == 302
    html = laptop.get(SESSIONS).text
    assert "Firefox on Windows" in html
    assert "198.51.100.23" not in html
    assert not is_signed_in(phone)


def test_htmx_swaps_the_list_and_sends_focus_to_its_heading(laptop, phone):
    response = laptop.post(end_url(phone), headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.text
    assert html.lstrip().startswith('<section id="sessions"')
    assert 'id="sessions-heading" tabindex="-1" data-swap-focus' in html
    assert 'role="status"' in html and "Safari on iPhone was signed out" in html
    assert "<html" not in html


def test_a_strangers_session_is_a_404_and_stays_signed_in(laptop, stranger):
    strangers = browser_signed_in(stranger, CHROME_ANDROID, "192.0.2.99")
    assert laptop.post(end_url(strangers)).status_code == 404
    assert is_signed_in(strangers)


def test_this_sessions_own_handle_is_a_404(laptop):
    assert laptop.post(end_url(laptop)).status_code == 404
    assert is_signed_in(laptop)


@pytest.mark.parametrize(
    "path",
    [
        "/account/sessions/abc/end/",
        "/account/sessions/" + "0" * 64 + "/end/",
        "/account/sessions/" + "A" * 64 + "/end/",
        "/account/sessions/" + "f" * 65 + "/end/",
        "/account/sessions/%E2%98%83/end/",
        "/account/sessions/" + "9" * 5000 + "/end/",
    ],
)
def test_bad_handles_are_a_404(laptop, path):
    assert laptop.post(path).status_code == 404


def test_ending_needs_a_post(laptop, phone):
    assert laptop.get(end_url(phone)).status_code == 405
    assert laptop.get(END_OTHERS).status_code == 405
    assert is_signed_in(phone)


def test_ending_needs_the_csrf_token(client_user, phone):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(client_user)
    assert browser.post(end_url(phone)).status_code == 403
    assert is_signed_in(phone)


def test_anonymous_cannot_end_anything(client, phone):
    response = client.post(end_url(phone))
    assert response.status_code == 302
    assert is_signed_in(phone)


# --- What it costs, and what it keeps ----------------------------------------------------------


def session_writes(queries) -> list[str]:
    return [
        q["sql"]
        for q in queries
        if UserSession._meta.db_table in q["sql"] and not q["sql"].lstrip().startswith("SELECT")
    ]


def test_requests_inside_the_interval_write_no_session(laptop):
    laptop.get(reverse("account:detail"))
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            laptop.get(reverse("account:detail"))
    assert session_writes(queries) == []


def test_last_active_is_written_once_per_interval_with_the_idle_clock(laptop):
    session = laptop.session
    session[SESSION_SEEN_KEY] = time.time() - SEEN_WRITE_INTERVAL - 1
    session.save()
    first = row_of(laptop).last_active_at
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            laptop.get(reverse("account:detail"))
    assert len(session_writes(queries)) == 1
    assert row_of(laptop).last_active_at > first


def test_clearsessions_removes_expired_rows(laptop, phone):
    UserSession.objects.filter(pk=row_of(phone).pk).update(
        expire_date=row_of(phone).signed_in_at.replace(year=2020)
    )
    call_command("clearsessions")
    assert list(UserSession.objects.values_list("device", flat=True)) == ["Firefox on Windows"]

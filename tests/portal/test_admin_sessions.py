"""The workspace's Signed-in sessions page: a staff member's own sessions, nobody else's."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.conftest import sign_in_staff
from tests.portal.test_sessions import CHROME_ANDROID, SAFARI_IPHONE, browser_signed_in, row_of

pytestmark = pytest.mark.django_db
SESSIONS = reverse("admin:sessions")
END_OTHERS = reverse("admin:sessions-end-others")


@pytest.fixture
def desk(provider_user):
    """The staff member at the practice's desk, in the workspace, second factor done."""
    browser = Client(HTTP_USER_AGENT=CHROME_ANDROID.replace("Android 14; Pixel 8", "X11"))
    return sign_in_staff(browser, provider_user)


@pytest.fixture
def staff_phone(provider_user):
    return browser_signed_in(provider_user, SAFARI_IPHONE, "198.51.100.23")


def end_url(browser: Client) -> str:
    return reverse("admin:session-end", args=[row_of(browser).handle])


def test_clients_and_anonymous_are_sent_to_the_admin_sign_in(client, signed_in):
    assert client.get(SESSIONS).url.startswith(reverse("admin:login"))
    assert signed_in.get(SESSIONS).url.startswith(reverse("admin:login"))


def test_the_user_menu_links_to_it(desk):
    assert (
        f'<a href="{SESSIONS}">Signed-in sessions</a>'
        in desk.get(reverse("admin:index"), follow=True).text
    )


def test_it_lists_the_staff_members_own_sessions(desk, staff_phone, client_user):
    strangers = browser_signed_in(client_user, CHROME_ANDROID, "192.0.2.99")
    html = desk.get(SESSIONS).text
    assert "(this device)" in html
    assert "Safari on iPhone" in html and "198.51.100.23" in html
    assert "192.0.2.99" not in html
    assert strangers.cookies[settings.SESSION_COOKIE_NAME].value not in html


def test_ending_one_signs_that_browser_out(desk, staff_phone):
    response = desk.post(end_url(staff_phone), follow=True)
    assert "Safari on iPhone was signed out" in response.text
    assert staff_phone.get(reverse("account:detail")).status_code == 302
    assert desk.get(SESSIONS).status_code == 200


def test_ending_all_others_keeps_this_one(desk, staff_phone, provider_user, client_user):
    second = browser_signed_in(provider_user, CHROME_ANDROID, "2001:db8::7")
    clients = browser_signed_in(client_user, CHROME_ANDROID, "192.0.2.99")
    response = desk.post(END_OTHERS, follow=True)
    assert "You were signed out everywhere else" in response.text
    assert staff_phone.get(reverse("account:detail")).status_code == 302
    assert second.get(reverse("account:detail")).status_code == 302
    assert clients.get(reverse("account:detail")).status_code == 200
    assert desk.get(SESSIONS).status_code == 200


def test_a_clients_session_is_a_404_and_stays_signed_in(desk, client_user):
    clients = browser_signed_in(client_user, CHROME_ANDROID, "192.0.2.99")
    assert desk.post(end_url(clients)).status_code == 404
    assert clients.get(reverse("account:detail")).status_code == 200


@pytest.mark.parametrize("handle", ["abc", "0" * 64, "Z" * 64])
def test_bad_handles_are_a_404(desk, handle):
    assert desk.post(f"/admin/sessions/{handle}/end/").status_code == 404


def test_ending_needs_a_post(desk, staff_phone):
    assert desk.get(end_url(staff_phone)).status_code == 405
    assert desk.get(END_OTHERS).status_code == 405

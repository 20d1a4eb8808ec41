import pytest
from django.urls import reverse

from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db
ACCOUNT = reverse("account:detail")


def test_it_saves_name_and_time_zone(signed_in, client_user):
    response = signed_in.post(ACCOUNT, {"name": "Jordan Q. Lee", "time_zone": "Asia/Kolkata"})
    assert response.status_code == 302
    client_user.refresh_from_db()
    assert (client_user.name, client_user.time_zone) == ("Jordan Q. Lee", "Asia/Kolkata")
    assert "Your account was updated" in signed_in.get(ACCOUNT).text


def test_an_unknown_time_zone_is_refused_and_nothing_changes(signed_in, client_user):
    response = signed_in.post(ACCOUNT, {"name": "Changed", "time_zone": "Mars/Olympus_Mons"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.text
    client_user.refresh_from_db()
    assert (client_user.name, client_user.time_zone) == ("Jordan Lee", "America/New_York")


def test_an_oversized_name_is_refused(signed_in, client_user):
    response = signed_in.post(ACCOUNT, {"name": "x" * 5000, "time_zone": "Europe/Berlin"})
    assert response.status_code == 400
    assert "at most 150 characters" in response.text
    client_user.refresh_from_db()
    assert client_user.time_zone == "America/New_York"


def test_a_user_without_a_zone_sees_the_site_default_selected(client, settings, db):
    from tests.factories import UserFactory

    settings.PORTAL_DEFAULT_TIME_ZONE = "Europe/Berlin"
    user = UserFactory(time_zone="")
    client.force_login(user)
    html = client.get(ACCOUNT).text
    assert '<option value="Europe/Berlin" selected>' in html


def test_the_banner_switch_saves_the_browser_zone_and_returns(signed_in, client_user):
    response = signed_in.post(
        reverse("account:time-zone"), {"time_zone": "Europe/Berlin", "next": "/chat/"}
    )
    assert response.status_code == 302
    assert response.url == "/chat/"
    client_user.refresh_from_db()
    assert client_user.time_zone == "Europe/Berlin"


def test_the_banner_switch_refuses_a_bogus_zone(signed_in, client_user):
    response = signed_in.post(
        reverse("account:time-zone"), {"time_zone": "Not/AZone", "next": "/chat/"}, follow=True
    )
    assert "Not/AZone is not a time zone we know" in response.text
    client_user.refresh_from_db()
    assert client_user.time_zone == "America/New_York"


def test_the_banner_switch_never_redirects_off_site(signed_in):
    response = signed_in.post(
        reverse("account:time-zone"),
        {"time_zone": "Europe/Berlin", "next": "https://evil.test/"},
    )
    assert response.url == reverse("appointments:list")


def test_the_banner_switch_answers_htmx_with_a_client_redirect(signed_in):
    response = signed_in.post(
        reverse("account:time-zone"),
        {"time_zone": "Europe/Berlin", "next": "/chat/"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/chat/"


def test_change_password_needs_the_old_one(signed_in, client_user):
    url = reverse("account:password")
    response = signed_in.post(
        url,
        {
            "old_password": "wrong",
            "new_password1": "fresh-pass-91",
            "new_password2": "fresh-pass-91",
        },
    )
    assert response.status_code == 200
    client_user.refresh_from_db()
    assert client_user.check_password(TEST_PASSWORD)


def test_change_password_keeps_the_user_signed_in(signed_in, client_user):
    response = signed_in.post(
        reverse("account:password"),
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "fresh-pass-91",
            "new_password2": "fresh-pass-91",
        },
    )
    assert response.url == ACCOUNT
    client_user.refresh_from_db()
    assert client_user.check_password("fresh-pass-91")
    assert "Your password was changed" in signed_in.get(ACCOUNT).text

import re
from datetime import timedelta

import pytest
from django import forms
from django.urls import reverse

from portal.forms import TimeZoneSelect, time_zone_choices
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


# --- Change password: 5 wrong current passwords in 15 minutes pause it, like sign-in ----------

PASSWORD = reverse("account:password")
NEW = "fresh-pass-91"


def change(browser, old, new=NEW, confirm=None):
    return browser.post(
        PASSWORD, {"old_password": old, "new_password1": new, "new_password2": confirm or new}
    )


def fifteen_minutes_pass():
    from django.db.models import F

    from portal.models import ThrottleSlot

    ThrottleSlot.objects.update(used_at=F("used_at") - timedelta(minutes=15))


def test_four_wrong_current_passwords_still_allow_the_right_one(signed_in, client_user):
    for n in range(4):
        response = change(signed_in, f"wrong-{n}")
        assert response.status_code == 200
        assert "Your old password was entered incorrectly" in response.text
    assert change(signed_in, TEST_PASSWORD).status_code == 302
    client_user.refresh_from_db()
    assert client_user.check_password(NEW)


def test_the_fifth_wrong_current_password_pauses_the_form_with_a_clear_429(signed_in, client_user):
    for n in range(4):
        change(signed_in, f"wrong-{n}")
    response = change(signed_in, "wrong-4")
    assert response.status_code == 429
    assert "Too many wrong current passwords" in response.text
    assert "you can try again in 15 minutes" in response.text
    assert response["Retry-After"] == "900"
    again = change(signed_in, TEST_PASSWORD)
    assert again.status_code == 429
    client_user.refresh_from_db()
    assert client_user.check_password(TEST_PASSWORD)


def test_the_pause_says_how_long_is_left(signed_in, client_user):
    from django.db.models import F

    from portal.models import ThrottleSlot

    for n in range(5):
        change(signed_in, f"wrong-{n}")
    ThrottleSlot.objects.update(used_at=F("used_at") - timedelta(minutes=14, seconds=1))
    response = change(signed_in, TEST_PASSWORD)
    assert response.status_code == 429
    assert "you can try again in 1 minute." in response.text
    assert response["Retry-After"] == "60"


def test_the_pause_lifts_by_itself_after_15_minutes(signed_in, client_user):
    for n in range(5):
        change(signed_in, f"wrong-{n}")
    fifteen_minutes_pass()
    assert change(signed_in, TEST_PASSWORD).status_code == 302
    client_user.refresh_from_db()
    assert client_user.check_password(NEW)


def test_the_pause_holds_in_every_session_of_the_account_and_no_other(
    signed_in, client_user, stranger
):
    from django.test import Client

    for n in range(5):
        change(signed_in, f"wrong-{n}")
    other_session = Client()
    other_session.force_login(client_user)
    assert change(other_session, TEST_PASSWORD).status_code == 429
    strangers = Client()
    strangers.force_login(stranger)
    assert change(strangers, TEST_PASSWORD).status_code == 302


def test_a_successful_change_clears_the_count(signed_in, client_user):
    for n in range(4):
        change(signed_in, f"wrong-{n}")
    assert change(signed_in, TEST_PASSWORD).status_code == 302
    for n in range(4):
        assert change(signed_in, f"wrong-{n}").status_code == 200
    assert change(signed_in, NEW, new="another-pass-73").status_code == 302


def test_a_refusal_for_the_new_password_is_not_a_wrong_guess(signed_in, client_user):
    for _ in range(6):
        response = change(signed_in, TEST_PASSWORD, confirm="does-not-match-1")
        assert response.status_code == 200
    assert change(signed_in, TEST_PASSWORD).status_code == 302


def test_the_page_is_for_signed_in_people_only(client, db):
    response = client.post(PASSWORD, {"old_password": "x"})
    assert response.status_code == 302
    assert response.url.startswith(reverse("sign-in"))


def test_the_page_refuses_other_methods(signed_in):
    assert signed_in.put(PASSWORD).status_code == 405


def test_a_change_ends_every_other_session_of_the_account(signed_in, client_user):
    from django.test import Client

    elsewhere = Client()
    elsewhere.force_login(client_user)
    assert elsewhere.get(ACCOUNT).status_code == 200
    change(signed_in, TEST_PASSWORD)
    assert elsewhere.get(ACCOUNT).status_code == 302
    assert signed_in.get(ACCOUNT).status_code == 200


def options_of(html):
    return re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', html)


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata", "", "Mars/Olympus_Mons"])
def test_the_time_zone_select_renders_what_the_stock_select_would(zone):
    choices = time_zone_choices()
    quick = TimeZoneSelect(attrs={"id": "id_time_zone"}).render("time_zone", zone)
    stock = forms.Select(attrs={"id": "id_time_zone"}, choices=choices).render("time_zone", zone)
    assert options_of(quick) == options_of(stock)
    assert len(options_of(quick)) == len(choices)
    assert quick.startswith('<select name="time_zone" id="id_time_zone">')
    assert sum(bool(selected) for _, selected, _ in options_of(quick)) == (zone in dict(choices))


def test_the_account_page_selects_the_clients_own_zone(signed_in, client_user):
    html = signed_in.get(ACCOUNT).content.decode()
    assert '<option value="America/New_York" selected>America/New York</option>' in html

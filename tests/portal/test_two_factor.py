import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
ADMIN = reverse("admin:index")
TWO_FACTOR = reverse("admin:two-factor")


def code_for(device, offset=0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + offset
    return f"{totp.token():0{device.digits}d}"


@pytest.fixture
def staff(db):
    return UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)


def password_sign_in(client, user):
    response = client.post(
        reverse("admin:login") + f"?next={ADMIN}",
        {"username": user.email, "password": TEST_PASSWORD, "next": ADMIN},
    )
    assert response.status_code == 302
    return client


def test_a_password_alone_does_not_open_the_admin(client, staff):
    password_sign_in(client, staff)
    response = client.get(ADMIN, follow=True)
    assert response.redirect_chain[-1][0].startswith(TWO_FACTOR)
    assert "Scan this code" in response.text
    assert 'src="data:image/svg+xml;base64,' in response.text


def test_enrolment_confirms_the_app_and_shows_recovery_codes_once(client, staff):
    password_sign_in(client, staff)
    client.get(TWO_FACTOR)
    device = TOTPDevice.objects.get(user=staff, confirmed=False)
    wrong = client.post(
        TWO_FACTOR, {"code": "000000" if code_for(device) != "000000" else "111111"}
    )
    assert "didn&#x27;t match" in wrong.text
    assert "Too many tries" in client.post(TWO_FACTOR, {"code": code_for(device)}).text
    # The app's throttle doubles its wait after each miss; here the wait is over.
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)
    response = client.post(TWO_FACTOR, {"code": code_for(device), "next": ADMIN})
    assert response.status_code == 302 and response.url.startswith(
        reverse("admin:two-factor-codes")
    )
    codes_page = client.get(response.url)
    codes = StaticDevice.objects.get(user=staff).token_set.values_list("token", flat=True)
    assert len(codes) == 10 and all(code in codes_page.text for code in codes)
    assert client.get(response.url).status_code == 302  # shown only once
    assert client.get(ADMIN).status_code == 200
    device.refresh_from_db()
    assert device.confirmed


def test_an_enrolled_user_is_asked_for_a_code_each_sign_in(client, staff):
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    password_sign_in(client, staff)
    page = client.get(TWO_FACTOR)
    assert "Enter the 6-digit code" in page.text
    bad = client.post(TWO_FACTOR, {"code": "12345678"})
    assert "didn&#x27;t work" in bad.text
    assert client.get(ADMIN).status_code == 302
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)
    response = client.post(TWO_FACTOR, {"code": code_for(device), "next": ADMIN})
    assert response.url == ADMIN
    assert client.get(ADMIN).status_code == 200


def test_a_recovery_code_works_once(client, staff):
    TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    recovery = StaticDevice.objects.create(user=staff, name="Recovery codes")
    recovery.token_set.create(token="abcd2345")
    password_sign_in(client, staff)
    assert client.post(TWO_FACTOR, {"code": "ABCD 2345"}).status_code == 302
    client.logout()
    password_sign_in(client, staff)
    assert client.post(TWO_FACTOR, {"code": "abcd2345"}).status_code == 200


def test_the_next_address_must_stay_on_the_site(client, staff):
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    password_sign_in(client, staff)
    response = client.post(TWO_FACTOR, {"code": code_for(device), "next": "https://evil.test/"})
    assert response.url == ADMIN


# A filtered list with a fragment: "&" split it and "#" cut it off when next was pasted in raw.
FILTERED = "/admin/appointments/appointment/?when=all&status=cancelled&q=a+b%26c#result_list"


def test_the_way_back_to_a_filtered_list_survives_the_second_step_whole(client, staff):
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    password_sign_in(client, staff)
    response = client.get(reverse("admin:login"), {"next": FILTERED})
    assert response.status_code == 302
    location = urlsplit(response.url)
    assert location.path == TWO_FACTOR
    assert location.fragment == ""
    assert parse_qs(location.query) == {"next": [FILTERED]}
    page = client.get(response.url)
    assert page.context["next"] == FILTERED
    done = client.post(response.url, {"code": code_for(device), "next": page.context["next"]})
    assert done.url == FILTERED


def test_the_way_back_survives_enrolment_and_the_recovery_codes(client, staff):
    password_sign_in(client, staff)
    response = client.get(reverse("admin:login"), {"next": FILTERED})
    client.get(response.url)
    device = TOTPDevice.objects.get(user=staff, confirmed=False)
    enrolled = client.post(response.url, {"code": code_for(device), "next": FILTERED})
    location = urlsplit(enrolled.url)
    assert location.path == reverse("admin:two-factor-codes")
    assert parse_qs(location.query) == {"next": [FILTERED]}
    assert client.get(enrolled.url).context["next"] == FILTERED


def test_a_client_never_reaches_the_second_step(client, client_user):
    client.force_login(client_user)
    assert client.get(TWO_FACTOR).url == reverse("admin:login")


def test_the_requirement_can_be_switched_off_for_demos(client, staff, settings):
    settings.ADMIN_REQUIRE_2FA = False
    password_sign_in(client, staff)
    assert client.get(ADMIN).status_code == 200

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.two_factor import PENDING_DEVICE_NAME
from tests.factories import TEST_PASSWORD, UserFactory
from tests.tasks import sent_mail

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


def set_up_link(user) -> str:
    (message,) = [m for m in sent_mail() if m.to == [user.email] and "two-step" in m.subject]
    return re.search(r"https?://[^/\s]+(/admin/two-factor/set-up/\S+/)", message.body).group(1)


def test_a_password_alone_does_not_open_the_admin_or_show_a_key(client, staff):
    password_sign_in(client, staff)
    response = client.get(ADMIN, follow=True)
    assert response.redirect_chain[-1][0].startswith(TWO_FACTOR)
    assert "open the link we emailed to <strong>staff@example.com</strong>" in response.text
    assert "Scan this code" not in response.text and "data:image/svg" not in response.text
    # Only the emailed link's pending device, whose key no page ever shows.
    pending = TOTPDevice.objects.get(user=staff)
    assert (pending.name, pending.confirmed) == (PENDING_DEVICE_NAME, False)
    posted = client.post(TWO_FACTOR, {"code": "123456"})
    assert "Scan this code" not in posted.text and client.get(ADMIN).status_code == 302


def test_the_emailed_link_shows_the_key_once_and_only_to_its_account(client, staff):
    password_sign_in(client, staff)
    client.get(TWO_FACTOR)
    link = set_up_link(staff)
    other = UserFactory(email="other-staff@example.com", is_staff=True)
    intruder = type(client)()
    intruder.force_login(other)
    assert intruder.get(link).status_code == 410
    assert client.get(link).url == TWO_FACTOR
    page = client.get(TWO_FACTOR)
    assert "Scan this code" in page.text and 'src="data:image/svg+xml;base64,' in page.text
    assert client.get(link).status_code == 410  # used: the key was made


def test_the_link_asks_a_signed_out_visitor_to_sign_in(client, staff):
    password_sign_in(client, staff)
    client.get(TWO_FACTOR)
    link = set_up_link(staff)
    client.logout()
    response = client.get(link)
    assert response.status_code == 302 and response.url.startswith(reverse("admin:login"))


def test_the_link_expires_after_an_hour(client, staff, monkeypatch):
    from portal.two_factor import new_enrolment_token

    password_sign_in(client, staff)
    an_hour_ago = time.time() - 3601
    with monkeypatch.context() as clock:
        clock.setattr(time, "time", lambda: an_hour_ago)
        old = new_enrolment_token(staff)
    assert client.get(reverse("admin:two-factor-enrol", args=[old])).status_code == 410
    fresh = new_enrolment_token(staff)
    assert client.get(reverse("admin:two-factor-enrol", args=[fresh])).status_code == 302


def test_reloading_the_page_does_not_flood_the_inbox(client, staff):
    password_sign_in(client, staff)
    for _ in range(3):
        client.get(TWO_FACTOR)
    assert len([m for m in sent_mail() if "two-step" in m.subject]) == 1
    client.post(TWO_FACTOR, {"send_link": "1"})
    assert len([m for m in sent_mail() if "two-step" in m.subject]) == 1


def test_a_superuser_resets_a_lost_phone_and_a_new_link_goes_out(staff_browser, staff):
    office = UserFactory(email="desk@example.com", is_staff=True)
    TOTPDevice.objects.create(user=office, name="phone", confirmed=True)
    StaticDevice.objects.create(user=office, name="Recovery codes")
    browser = staff_browser(staff)
    response = browser.post(
        reverse("admin:portal_user_changelist"),
        {"action": "reset_second_factor", "_selected_action": [office.pk]},
        follow=True,
    )
    assert "1 second step reset" in response.text
    assert not TOTPDevice.objects.filter(user=office, confirmed=True).exists()
    assert not StaticDevice.objects.filter(user=office).exists()
    assert set_up_link(office)


def test_only_a_superuser_may_reset_a_second_factor(staff):
    from portal.two_factor import second_factor_reset

    office = UserFactory(email="desk@example.com", is_staff=True)
    with pytest.raises(PermissionError):
        second_factor_reset(user=staff, actor=office)


def enrol_by_link(client, user):
    password_sign_in(client, user)
    client.get(TWO_FACTOR)
    client.get(set_up_link(user))
    return TOTPDevice.objects.get(user=user, confirmed=False)


def test_enrolment_confirms_the_app_and_shows_recovery_codes_once(client, staff):
    device = enrol_by_link(client, staff)
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
    client.get(set_up_link(staff))
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


# --- The second step keeps its throttle --------------------------------------------------------


def test_after_a_wrong_code_even_the_right_one_waits(client, staff):
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    password_sign_in(client, staff)
    assert "didn&#x27;t work" in client.post(TWO_FACTOR, {"code": "000000"}).text
    refused = client.post(TWO_FACTOR, {"code": code_for(device), "next": ADMIN})
    assert refused.status_code == 200 and "Too many tries" in refused.text
    assert client.get(ADMIN).status_code == 302


def test_the_wait_is_kept_on_the_device_not_in_the_session(client, staff):
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    password_sign_in(client, staff)
    client.post(TWO_FACTOR, {"code": "000000"})
    client.logout()
    password_sign_in(client, staff)
    assert "Too many tries" in client.post(TWO_FACTOR, {"code": code_for(device)}).text


def test_the_wait_doubles_with_each_miss(client, staff):
    from datetime import timedelta

    from django.utils import timezone

    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    password_sign_in(client, staff)
    # Three misses in a row: the next code is checked 4 seconds after the last one, not before.
    three_misses = {"throttling_failure_count": 3}
    TOTPDevice.objects.filter(pk=device.pk).update(
        **three_misses, throttling_failure_timestamp=timezone.now() - timedelta(seconds=3)
    )
    assert "Too many tries" in client.post(TWO_FACTOR, {"code": code_for(device)}).text
    TOTPDevice.objects.filter(pk=device.pk).update(
        **three_misses, throttling_failure_timestamp=timezone.now() - timedelta(seconds=5)
    )
    assert client.post(TWO_FACTOR, {"code": code_for(device), "next": ADMIN}).url == ADMIN


def test_recovery_codes_wait_after_a_miss_too(client, staff):
    TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    recovery = StaticDevice.objects.create(user=staff, name="Recovery codes")
    recovery.token_set.create(token="abcd2345")
    password_sign_in(client, staff)
    client.post(TWO_FACTOR, {"code": "zzzz9999"})
    assert client.post(TWO_FACTOR, {"code": "abcd2345"}).status_code == 200
    assert client.get(ADMIN).status_code == 302
    assert recovery.token_set.filter(token="abcd2345").exists()


def test_a_used_link_stays_spent_after_the_second_step_is_reset(client, staff_browser, staff):
    office = UserFactory(email="desk@example.com", is_staff=True)
    desk = type(client)()
    device = enrol_by_link(desk, office)
    used = set_up_link(office)
    assert desk.post(TWO_FACTOR, {"code": code_for(device), "next": ADMIN}).status_code == 302
    staff_browser(staff).post(
        reverse("admin:portal_user_changelist"),
        {"action": "reset_second_factor", "_selected_action": [office.pk]},
    )
    assert not TOTPDevice.objects.filter(user=office, confirmed=True).exists()
    desk.logout()
    password_sign_in(desk, office)
    assert desk.get(used).status_code == 410
    assert "Scan this code" not in desk.get(TWO_FACTOR).text
    links = [m for m in sent_mail() if m.to == [office.email] and "two-step" in m.subject]
    assert len(links) == 2
    fresh = re.search(r"https?://[^/\s]+(/admin/two-factor/set-up/\S+/)", links[-1].body).group(1)
    assert fresh != used
    assert desk.get(fresh).url == TWO_FACTOR
    assert "Scan this code" in desk.get(TWO_FACTOR).text
    assert desk.get(fresh).status_code == 410


def test_opening_one_link_spends_every_link_still_out(client, staff):
    from portal.two_factor import new_enrolment_token

    password_sign_in(client, staff)
    earlier, later = new_enrolment_token(staff), new_enrolment_token(staff)
    assert client.get(reverse("admin:two-factor-enrol", args=[later])).url == TWO_FACTOR
    assert client.get(reverse("admin:two-factor-enrol", args=[earlier])).status_code == 410
    assert client.get(reverse("admin:two-factor-enrol", args=[later])).status_code == 410
    assert "Scan this code" in client.get(TWO_FACTOR).text


def test_a_link_stops_working_when_the_password_changes(client, staff):
    from portal.two_factor import new_enrolment_token

    password_sign_in(client, staff)
    link = reverse("admin:two-factor-enrol", args=[new_enrolment_token(staff)])
    staff.set_password("a-new-password-2026")
    staff.save()
    client.force_login(staff)
    assert client.get(link).status_code == 410

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError
from django.urls import reverse

from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
SIGN_IN = reverse("sign-in")


def sign_in(client, email, password=TEST_PASSWORD, **extra):
    return client.post(SIGN_IN, {"username": email, "password": password, **extra}, **extra)


def test_sign_in_page_explains_the_username_and_links_to_reset(client):
    response = client.get(SIGN_IN)
    assert response.status_code == 200
    assert "Your username is your email address on file" in response.text
    assert reverse("password-reset") in response.text


def test_it_signs_in_with_the_email_in_any_case(client, client_user):
    response = sign_in(client, "JORDAN@Example.COM")
    assert response.status_code == 302
    assert response.url == reverse("appointments:list")
    assert int(client.session["_auth_user_id"]) == client_user.pk


def test_it_returns_to_the_page_asked_for(client, client_user):
    response = client.post(
        SIGN_IN, {"username": client_user.email, "password": TEST_PASSWORD, "next": "/chat/"}
    )
    assert response.url == "/chat/"


def test_it_refuses_an_outside_next_url(client, client_user):
    response = client.post(
        SIGN_IN,
        {"username": client_user.email, "password": TEST_PASSWORD, "next": "https://evil.test/"},
    )
    assert response.url == reverse("appointments:list")


def test_a_wrong_password_gets_a_clear_message_and_no_session(client, client_user):
    response = sign_in(client, client_user.email, "not-the-password")
    assert response.status_code == 200
    assert "don&#x27;t match an account" in response.text
    assert "_auth_user_id" not in client.session


def test_an_unknown_email_gets_the_same_message(client, db):
    response = sign_in(client, "nobody@example.com")
    assert "don&#x27;t match an account" in response.text


def test_a_malformed_email_gets_a_message(client, db):
    response = sign_in(client, "not an email")
    assert response.status_code == 200
    assert "Enter a valid email address" in response.text


def test_a_signed_in_visitor_is_sent_on_from_the_sign_in_page(signed_in):
    assert signed_in.get(SIGN_IN).status_code == 302


def test_sign_out_refuses_get(signed_in):
    response = signed_in.get(reverse("sign-out"))
    assert response.status_code == 405
    assert "_auth_user_id" in signed_in.session


def test_sign_out_by_post_ends_the_session(signed_in):
    response = signed_in.post(reverse("sign-out"))
    assert response.status_code == 302
    assert response.url == SIGN_IN
    assert "_auth_user_id" not in signed_in.session
    assert signed_in.get(reverse("appointments:list")).status_code == 302


def test_emails_are_one_account_whatever_their_case(db):
    user = UserFactory(email="Alice@Example.com")
    assert user.email == "alice@example.com"
    with pytest.raises(IntegrityError):
        UserFactory(email="ALICE@example.COM")


def test_the_database_refuses_a_case_variant_that_skips_the_model(db):
    UserFactory(email="alice@example.com")
    User = get_user_model()
    with pytest.raises(IntegrityError):
        # bulk_create bypasses save(), so only the constraint stands in the way.
        User.objects.bulk_create([User(email="ALICE@example.com", password="!")])


def test_a_first_sign_in_takes_the_browsers_time_zone(client, db):
    user = UserFactory(email="new@example.com", time_zone="")
    sign_in(client, user.email, browser_time_zone="Europe/Berlin")
    user.refresh_from_db()
    assert user.time_zone == "Europe/Berlin"


def test_a_saved_time_zone_is_not_overwritten_at_sign_in(client, client_user):
    sign_in(client, client_user.email, browser_time_zone="Europe/Berlin")
    client_user.refresh_from_db()
    assert client_user.time_zone == "America/New_York"


def test_a_bogus_browser_zone_falls_back_to_the_site_default(client, db, settings):
    settings.PORTAL_DEFAULT_TIME_ZONE = "America/Chicago"
    user = UserFactory(email="new@example.com", time_zone="")
    response = sign_in(client, user.email, browser_time_zone="Mars/Olympus_Mons")
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.time_zone == ""
    assert user.time_zone_name == "America/Chicago"


def test_an_old_browser_zone_name_is_stored_under_its_current_name(client, db):
    user = UserFactory(email="new@example.com", time_zone="")
    sign_in(client, user.email, browser_time_zone="Asia/Calcutta")
    user.refresh_from_db()
    assert user.time_zone == "Asia/Kolkata"

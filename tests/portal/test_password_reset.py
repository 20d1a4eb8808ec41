import re
from datetime import timedelta

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse

from tests.factories import TEST_PASSWORD
from tests.tasks import sent_mail

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a-brand-new-passphrase-42"


def request_reset(client, email):
    return client.post(reverse("password-reset"), {"email": email})


def reset_link(message) -> str:
    return re.search(r"https?://[^/\s]+(/password-reset/\S+/)", message.body).group(1)


def set_password_through(client, link, password=NEW_PASSWORD):
    form_page = client.get(link, follow=True)
    return client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": password, "new_password2": password},
    )


def test_it_emails_a_link_that_sets_a_new_password(client, client_user):
    response = request_reset(client, "Jordan@Example.com")
    assert response.status_code == 302
    assert response.url == reverse("password-reset-sent")
    assert len(sent_mail()) == 1
    message = sent_mail()[0]
    assert message.to == [client_user.email]
    assert "one hour" in message.body
    response = set_password_through(client, reset_link(message))
    assert response.status_code == 302
    assert response.url == reverse("password-reset-complete")
    client_user.refresh_from_db()
    assert client_user.check_password(NEW_PASSWORD)
    assert not client_user.check_password(TEST_PASSWORD)


def test_the_email_carries_a_html_part_with_the_same_link(client, client_user):
    request_reset(client, client_user.email)
    html, mimetype = sent_mail()[0].alternatives[0]
    assert mimetype == "text/html"
    assert reset_link(sent_mail()[0]) in html


def test_an_unknown_email_gets_the_same_answer_and_no_email(client, db):
    response = request_reset(client, "nobody@example.com")
    assert response.status_code == 302
    assert response.url == reverse("password-reset-sent")
    assert sent_mail() == []


def test_a_malformed_email_gets_a_message(client, db):
    response = request_reset(client, "not-an-email")
    assert response.status_code == 200
    assert "Enter a valid email address" in response.text
    assert sent_mail() == []


def test_the_link_works_only_once(client, client_user):
    request_reset(client, client_user.email)
    link = reset_link(sent_mail()[0])
    set_password_through(client, link)
    again = client.get(link, follow=True)
    assert again.status_code == 200
    assert "This link no longer works" in again.text
    response = client.post(
        link, {"new_password1": "yet-another-pass-77", "new_password2": "yet-another-pass-77"}
    )
    client_user.refresh_from_db()
    assert client_user.check_password(NEW_PASSWORD)
    assert "This link no longer works" in response.text


def test_the_link_expires_after_an_hour(client, client_user, monkeypatch):
    request_reset(client, client_user.email)
    link = reset_link(sent_mail()[0])
    issued = default_token_generator._now()
    monkeypatch.setattr(
        default_token_generator, "_now", lambda: issued + timedelta(hours=1, seconds=1)
    )
    response = client.get(link, follow=True)
    assert "This link no longer works" in response.text


def test_the_link_still_works_just_inside_the_hour(client, client_user, monkeypatch):
    request_reset(client, client_user.email)
    link = reset_link(sent_mail()[0])
    issued = default_token_generator._now()
    monkeypatch.setattr(default_token_generator, "_now", lambda: issued + timedelta(minutes=59))
    response = client.get(link, follow=True)
    assert "Set a new password" in response.text


def test_mismatched_new_passwords_change_nothing(client, client_user):
    request_reset(client, client_user.email)
    form_page = client.get(reset_link(sent_mail()[0]), follow=True)
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "x"},
    )
    assert response.status_code == 200
    assert "didn’t match" in response.text or "didn&#x27;t match" in response.text
    client_user.refresh_from_db()
    assert client_user.check_password(TEST_PASSWORD)


def test_a_garbled_link_gets_the_expired_page(client, db):
    response = client.get("/password-reset/Zm9v/garbage-token/")
    assert response.status_code == 200
    assert "This link no longer works" in response.text


def test_an_invited_client_who_never_set_a_password_can_reset_instead(client, db):
    from portal.models import User

    invited = User.objects.create_user("late@example.com", None, name="Late Joiner")
    request_reset(client, "Late@Example.com")
    assert sent_mail()[0].to == ["late@example.com"]
    set_password_through(client, reset_link(sent_mail()[0]))
    invited.refresh_from_db()
    assert invited.check_password(NEW_PASSWORD)


def test_a_switched_off_account_gets_no_email(client, db):
    from tests.factories import UserFactory

    UserFactory(email="gone@example.com", is_active=False)
    request_reset(client, "gone@example.com")
    assert sent_mail() == []


def test_the_subject_names_the_portal_not_the_host(client, client_user, settings):
    settings.PORTAL_NAME = "Harbor Wellness Portal"
    request_reset(client, client_user.email)
    assert sent_mail()[0].subject == "Reset your Harbor Wellness Portal password"

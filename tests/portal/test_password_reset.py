import re
from datetime import timedelta

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.db.models import F
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


# --- Throttling: 3 emails an hour to one address, 10 requests an hour from one client --------

SENT = reverse("password-reset-sent")


def ask(client, email, address="203.0.113.7", **extra):
    return client.post(reverse("password-reset"), {"email": email}, REMOTE_ADDR=address, **extra)


def an_hour_passes():
    from portal.models import ThrottleSlot

    ThrottleSlot.objects.update(used_at=F("used_at") - timedelta(hours=1))


def test_a_fourth_request_within_the_hour_gets_the_same_answer_and_no_email(client, client_user):
    answers = [ask(client, email) for email in ["jordan@example.com", "JORDAN@example.com"] * 2]
    assert [(a.status_code, a.url) for a in answers] == [(302, SENT)] * 4
    assert len(sent_mail()) == 3
    page = client.get(SENT)
    assert "If an account uses that address" in page.text


def test_a_fourth_request_from_another_address_sends_nothing_either(client, client_user):
    for n in range(3):
        ask(client, client_user.email, address=f"198.51.100.{n}")
    assert ask(client, client_user.email, address="192.0.2.44").url == SENT
    assert len(sent_mail()) == 3


def test_an_hour_after_the_first_of_three_another_email_goes(client, client_user):
    for _ in range(3):
        ask(client, client_user.email)
    an_hour_passes()
    ask(client, client_user.email)
    assert len(sent_mail()) == 4


def test_one_address_asking_for_many_emails_is_stopped_after_ten(client, client_user, stranger):
    for n in range(9):
        ask(client, f"nobody{n}@example.com")
    ask(client, stranger.email)
    assert ask(client, client_user.email).url == SENT
    assert [m.to for m in sent_mail()] == [[stranger.email]]
    ask(client, client_user.email, address="198.51.100.9")
    assert [m.to for m in sent_mail()][-1] == [client_user.email]


def test_a_refused_request_uses_up_nothing(client, client_user, stranger):
    for _ in range(3):
        ask(client, client_user.email)
    for _ in range(7):
        ask(client, client_user.email)  # refused for the email: the address keeps its 7 tries
    ask(client, stranger.email)
    assert [m.to for m in sent_mail()][-1] == [stranger.email]


def test_behind_a_proxy_each_client_has_its_own_ten(client, client_user, settings):
    settings.AXES_IPWARE_PROXY_COUNT = 1
    for n in range(10):
        ask(
            client, f"nobody{n}@example.com", address="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.7"
        )
    ask(client, client_user.email, address="10.0.0.2", HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert [m.to for m in sent_mail()] == [[client_user.email]]


def test_a_refused_request_is_logged_with_the_reason(client, client_user, caplog):
    for _ in range(4):
        ask(client, client_user.email)
    assert "jordan@example.com was asked for more than 3 times in an hour" in caplog.text
    assert "from 203.0.113.7" in caplog.text


def test_the_throttle_keeps_no_email_or_address_in_the_clear(client, client_user):
    from portal.models import ThrottleSlot

    ask(client, client_user.email)
    keys = " ".join(ThrottleSlot.objects.values_list("key", flat=True))
    assert ThrottleSlot.objects.count() == 2
    assert "jordan" not in keys and "203.0.113.7" not in keys


def test_the_sent_page_says_how_many_links_an_hour_and_that_they_all_work(client, db):
    page = client.get(SENT)
    assert "at most 3 links an hour" in page.text


def test_a_reset_ends_every_session_of_the_account(client, client_user):
    from django.test import Client

    elsewhere = Client()
    elsewhere.force_login(client_user)
    request_reset(client, client_user.email)
    set_password_through(client, reset_link(sent_mail()[0]))
    assert elsewhere.get(reverse("account:detail")).status_code == 302

from datetime import timedelta

import pytest
from django.urls import reverse

from portal.invitations import make_token, user_for_token
from portal.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def invited(db):
    return User.objects.create_user("nia@example.com", None, name="Nia Brooks")


def test_the_link_sets_the_first_password_once(client, invited):
    url = reverse("welcome", args=[make_token(invited)])
    page = client.get(url)
    assert page.status_code == 200 and "Welcome, Nia" in page.text
    response = client.post(
        url, {"new_password1": "a-fresh-passphrase-1", "new_password2": "a-fresh-passphrase-1"}
    )
    assert response.status_code == 302 and response.url == reverse("sign-in")
    invited.refresh_from_db()
    assert invited.check_password("a-fresh-passphrase-1")
    again = client.get(url)
    assert again.status_code == 410 and "This link no longer works" in again.text


def test_an_expired_link_is_refused(invited):
    token = make_token(invited)
    assert user_for_token(token, max_age=timedelta(days=3)) == invited
    assert user_for_token(token, max_age=timedelta(seconds=-1)) is None


@pytest.mark.parametrize("token", ["garbage", "a" * 500, "eyJ1IjoxfQ:forged:sig"])
def test_a_forged_link_is_refused(client, invited, token):
    assert client.get(reverse("welcome", args=[token])).status_code == 410


def test_mismatched_passwords_change_nothing(client, invited):
    url = reverse("welcome", args=[make_token(invited)])
    response = client.post(
        url, {"new_password1": "a-fresh-passphrase-1", "new_password2": "other-passphrase-2"}
    )
    assert response.status_code == 400
    invited.refresh_from_db()
    assert not invited.has_usable_password()

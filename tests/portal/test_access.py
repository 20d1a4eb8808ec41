"""Every page of the portal: who may see it, and how the wrong method is answered."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

PORTAL_PAGES = [
    "appointments:list",
    "chat:list",
    "account:detail",
    "account:password",
]
PUBLIC_PAGES = ["sign-in", "password-reset", "password-reset-sent", "password-reset-complete"]


@pytest.mark.parametrize("name", PORTAL_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in_and_back(client, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"{reverse('sign-in')}?next={url}"


@pytest.mark.parametrize("name", PORTAL_PAGES)
def test_a_signed_in_client_sees_the_page(signed_in, name):
    assert signed_in.get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", PUBLIC_PAGES)
def test_public_pages_open_without_signing_in(client, name):
    assert client.get(reverse(name)).status_code == 200


def test_the_home_page_leads_to_appointments(signed_in):
    response = signed_in.get("/")
    assert response.status_code == 302
    assert response.url == reverse("appointments:list")


def test_the_home_page_needs_sign_in(client):
    response = client.get("/")
    assert response.url.startswith(reverse("sign-in"))


@pytest.mark.parametrize("name", ["sign-out", "account:time-zone"])
def test_post_only_endpoints_refuse_get(signed_in, name):
    assert signed_in.get(reverse(name)).status_code == 405


def test_an_unknown_url_gets_the_portals_own_404(signed_in):
    response = signed_in.get("/no-such-page/")
    assert response.status_code == 404
    assert "We couldn't find that page" in response.text


def test_the_favicon_path_leads_to_the_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response.url.endswith("portal/favicon.svg")

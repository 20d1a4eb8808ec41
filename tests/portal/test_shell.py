import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_both_menus_carry_the_three_tabs_and_phone_calls_it_sessions(signed_in):
    html = signed_in.get(reverse("appointments:list")).text
    side = html.split('class="side-nav"')[1].split("</nav>")[0]
    bottom = html.split('class="bottom-nav"')[1].split("</nav>")[0]
    for label in ["Appointments", "Chat", "Account"]:
        assert f"<span>{label}</span>" in side
    for label in ["Sessions", "Chat", "Account"]:
        assert f"<span>{label}</span>" in bottom


@pytest.mark.parametrize(
    ("name", "label"),
    [("appointments:list", "Appointments"), ("chat:list", "Chat"), ("account:detail", "Account")],
)
def test_the_current_tab_is_marked(signed_in, name, label):
    html = signed_in.get(reverse(name)).text
    side = html.split('class="side-nav"')[1].split("</nav>")[0]
    current = [chunk for chunk in side.split("<li>") if 'aria-current="page"' in chunk]
    assert len(current) == 1
    assert f"<span>{label}</span>" in current[0]


def test_the_header_names_the_user_and_offers_sign_out_by_post(signed_in, client_user):
    html = signed_in.get(reverse("appointments:list")).text
    assert client_user.name in html
    assert f'<form method="post" action="{reverse("sign-out")}">' in html


def test_every_page_carries_the_disclaimer(signed_in, client):
    for page in [signed_in.get(reverse("appointments:list")), client.get(reverse("sign-in"))]:
        assert "is a technology platform and is not directly involved in patient care" in page.text


def test_the_appointments_page_has_its_empty_state(signed_in):
    assert "You have no upcoming appointments" in signed_in.get(reverse("appointments:list")).text


def test_the_chat_page_has_its_empty_state(signed_in):
    assert "You have no conversations yet" in signed_in.get(reverse("chat:list")).text


def test_the_zone_banner_knows_the_saved_zone(signed_in):
    html = signed_in.get(reverse("appointments:list")).text
    assert 'id="tz-banner" hidden data-user-zone="America/New_York"' in html


def test_the_zone_banner_knows_the_old_names_of_the_saved_zone(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory(time_zone="Asia/Kolkata"))
    html = client.get(reverse("appointments:list")).text
    assert 'data-user-zone-names="Asia/Kolkata Asia/Calcutta"' in html

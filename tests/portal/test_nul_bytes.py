"""
A NUL character anywhere in a request is a 400 with a clear message, before any view or
database sees it. PostgreSQL refused NUL in text with a 500; SQLite stored it. The same tests
run on both, so both now behave the same.
"""

import re
import uuid

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.urls import reverse

from appointments.models import AppointmentEvent
from chat.models import Message
from chat.services import conversation_start
from portal.middleware import NUL_REFUSED
from portal.practice import join_practice_staff
from tests.factories import PolicyFactory, UserFactory, book

pytestmark = pytest.mark.django_db
NUL = "\x00"


def assert_refused(response, *, admin=False):
    assert response.status_code == 400
    assert "NUL character" in response.text
    assert "Nothing was changed" in response.text
    home = reverse("admin:index") if admin else "/"
    assert f'href="{home}"' in response.text


@pytest.fixture
def conversation(client_user, provider):
    return conversation_start(client=client_user, provider=provider)


@pytest.fixture
def staff(client, staff_browser, provider):
    join_practice_staff(provider.user)
    return staff_browser(provider.user)


@pytest.fixture
def superuser(client, staff_browser):
    return staff_browser(UserFactory(is_staff=True, is_superuser=True))


# --- The portal -----------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True])
def test_a_chat_message_with_a_nul_is_refused_and_not_stored(signed_in, conversation, htmx):
    response = signed_in.post(
        reverse("chat:detail", args=[conversation.pk]),
        {"body": f"Hello{NUL}there", "client_key": str(uuid.uuid4())},
        headers={"HX-Request": "true"} if htmx else {},
    )
    assert_refused(response)
    assert not Message.objects.exists()


def test_a_cancel_reason_with_a_nul_is_refused_and_cancels_nothing(
    signed_in, client_user, provider, session_type
):
    PolicyFactory(provider=provider)
    appointment = book(client_user, provider, session_type, days=5, booked_days_ago=3)
    response = signed_in.post(
        reverse("appointments:cancel", args=[appointment.pk]), {"reason": f"ill{NUL}"}
    )
    assert_refused(response)
    appointment.refresh_from_db()
    assert appointment.status == "scheduled"
    assert not AppointmentEvent.objects.filter(kind="cancelled").exists()


def test_an_account_name_with_a_nul_is_refused_and_not_saved(signed_in, client_user):
    response = signed_in.post(
        reverse("account:detail"), {"name": f"Jo{NUL}", "time_zone": "Europe/Paris"}
    )
    assert_refused(response)
    client_user.refresh_from_db()
    assert (client_user.name, client_user.time_zone) == ("Jordan Lee", "America/New_York")


@pytest.mark.parametrize("field", ["username", "password"])
def test_a_sign_in_with_a_nul_is_refused_before_it_counts_as_an_attempt(client, client_user, field):
    data = {"username": client_user.email, "password": "wrong"}
    data[field] += NUL
    assert_refused(client.post(reverse("sign-in"), data))
    assert not AccessAttempt.objects.exists()


@pytest.mark.parametrize(
    "query", [{"day": f"2026-12-01{NUL}"}, {f"day{NUL}": "2026-12-01"}, {"x": NUL}]
)
def test_a_nul_in_a_query_name_or_value_is_refused(signed_in, query):
    assert_refused(signed_in.get(reverse("appointments:list"), query))


def test_a_nul_in_the_path_is_refused(signed_in):
    assert_refused(signed_in.get("/appointments/%00/"))


def test_a_nul_in_the_session_cookie_is_refused_before_the_session_is_looked_up(client):
    # PostgreSQL answered this with a 500 from the session table.
    client.cookies["sessionid"] = f"abcdefghijklmnop{NUL}"
    assert_refused(client.get(reverse("appointments:list")))


def test_a_nul_in_a_header_is_refused_before_the_sign_in_throttle_stores_it(client, client_user):
    # django-axes stores the user agent of a failed sign-in.
    response = client.post(
        reverse("sign-in"),
        {"username": client_user.email, "password": "wrong"},
        headers={"User-Agent": f"curl{NUL}"},
    )
    assert_refused(response)
    assert not AccessAttempt.objects.exists()


def test_other_control_characters_are_ordinary_text(signed_in, conversation):
    signed_in.post(
        reverse("chat:detail", args=[conversation.pk]),
        {"body": "Line one\n\tLine two", "client_key": str(uuid.uuid4())},
    )
    assert Message.objects.get().body == "Line one\n\tLine two"


# --- The admin ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [{"q": f"jordan{NUL}"}, {"status": f"scheduled{NUL}"}, {"when": NUL}, {"status__exact": NUL}],
)
def test_a_nul_in_an_admin_search_or_filter_is_refused(staff, query):
    url = reverse("admin:appointments_appointment_changelist")
    assert_refused(staff.get(url, query), admin=True)


def test_a_nul_in_the_admin_autocomplete_term_is_refused(superuser):
    query = {
        "term": f"a{NUL}",
        "app_label": "appointments",
        "model_name": "officestaff",
        "field_name": "user",
    }
    assert_refused(superuser.get(reverse("admin:autocomplete"), query), admin=True)


def test_a_nul_in_a_reply_from_the_inbox_is_refused_and_not_stored(staff, conversation):
    url = reverse("admin:chat_conversation_change", args=[conversation.pk])
    response = staff.post(url, {"body": f"See you{NUL}", "client_key": str(uuid.uuid4())})
    assert_refused(response, admin=True)
    assert not Message.objects.exists()


def test_a_nul_in_an_admin_form_is_refused_and_saves_nothing(superuser, provider):
    url = reverse("admin:appointments_provider_change", args=[provider.pk])
    response = superuser.post(url, {"display_name": f"Dr{NUL}", "time_zone": "UTC"})
    assert_refused(response, admin=True)
    provider.refresh_from_db()
    assert provider.display_name == "Dr. Maya Okafor"


def test_a_nul_in_the_admin_sign_in_is_refused_before_it_counts_as_an_attempt(client):
    response = client.post(reverse("admin:login"), {"username": f"a{NUL}@x.org", "password": "x"})
    assert_refused(response, admin=True)
    assert not AccessAttempt.objects.exists()


def test_the_message_is_the_one_the_middleware_gives(client):
    response = client.get("/", {"q": NUL})
    assert NUL_REFUSED.replace("'", "&#x27;") in response.text


# --- Refusals wear the same security headers as pages -----------------------------------------

# What differs between any two responses by nature, not by policy.
PER_RESPONSE = {"content-length", "content-type", "location", "vary", "set-cookie"}


def security_headers(response) -> dict[str, str]:
    headers = {
        name.lower(): value
        for name, value in response.headers.items()
        if name.lower() not in PER_RESPONSE
    }
    # The nonce is new on each response and Expires is the moment it was made.
    headers["content-security-policy"] = re.sub(
        r"'nonce-[^']+'", "'nonce-N'", headers.get("content-security-policy", "")
    )
    if "expires" in headers:
        headers["expires"] = "set"
    return headers


def refusals(client):
    yield "a NUL byte", client.get("/", {"q": NUL})
    yield "a host the site does not serve", client.get("/", headers={"Host": "evil.test"})
    too_big = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    yield "a body over the size limit", client.post(reverse("sign-in"), {"username": too_big})


def test_every_refusal_carries_the_headers_of_a_normal_page(client):
    page = client.get(reverse("sign-in"))
    assert page.status_code == 200
    expected = security_headers(page)
    assert expected["x-frame-options"] == "DENY"
    assert "no-store" in expected["cache-control"]
    for what, response in refusals(client):
        assert response.status_code == 400, what
        got = security_headers(response)
        for name, value in expected.items():
            assert got.get(name) == value, f"{what}: {name} is {got.get(name)!r}, not {value!r}"
        assert got.keys() == expected.keys(), what

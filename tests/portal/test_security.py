import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.urls import reverse

from portal.middleware import SESSION_SEEN_KEY, SESSION_STARTED_KEY

pytestmark = pytest.mark.django_db
PROJECT_DIR = Path(__file__).resolve().parents[2]


def csp_directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.parametrize("signed_in_too", [False, True])
def test_the_policy_allows_only_nonced_scripts(client, signed_in, signed_in_too):
    browser = signed_in if signed_in_too else client
    response = browser.get(reverse("account:detail") if signed_in_too else reverse("sign-in"))
    csp = csp_directives(response)
    script_src = csp["script-src"]
    assert len(script_src) == 1 and re.fullmatch(r"'nonce-[\w+/=-]+'", script_src[0])
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    nonce = script_src[0][len("'nonce-") : -1]
    scripts = re.findall(r"<script\b[^>]*>", response.text)
    assert scripts, "the page loads htmx and the portal script"
    for tag in scripts:
        assert f'nonce="{nonce}"' in tag, tag


def test_each_response_gets_a_fresh_nonce(client):
    first = csp_directives(client.get(reverse("sign-in")))["script-src"]
    second = csp_directives(client.get(reverse("sign-in")))["script-src"]
    assert first != second


def assert_full_policy(response):
    from django.conf import settings

    csp = csp_directives(response)
    assert set(csp) == set(settings.SECURE_CSP), sorted(csp)
    assert len(csp["script-src"]) == 1
    assert re.fullmatch(r"'nonce-[\w+/=-]+'", csp["script-src"][0])


@pytest.fixture
def responses_of_every_kind(client, client_user, provider, session_type, staff_browser):
    """One response of each kind the portal gives, made by `make(kind)`."""
    import uuid

    from chat.services import conversation_start, message_send
    from tests.factories import UserFactory, book

    appointment = book(client_user, provider, session_type, days=3)
    conversation = conversation_start(client=client_user, provider=provider)
    message = message_send(
        conversation=conversation, sender=client_user, body="Hi", client_key=uuid.uuid4()
    )
    htmx = {"HX-Request": "true"}

    def make(kind):
        if kind == "admin JSON":
            staff = staff_browser(UserFactory(is_staff=True, is_superuser=True))
            query = {
                "app_label": "appointments",
                "model_name": "officestaff",
                "field_name": "user",
                "term": "jordan",
            }
            return staff.get(reverse("admin:autocomplete"), query)
        client.force_login(client_user)
        poll = reverse("chat:poll", args=[conversation.pk])
        book_time = reverse("appointments:book-time", args=[provider.pk, session_type.pk])
        return {
            "htmx partial": lambda: client.get(book_time, headers=htmx),
            "204 poll": lambda: client.get(poll, {"after": message.pk}, headers=htmx),
            "redirect": lambda: client.get(reverse("home")),
            "404": lambda: client.get("/no-such-page/"),
            "405": lambda: client.get(reverse("sign-out")),
            "400": lambda: client.get(poll, {"after": "x"}),
            ".ics": lambda: client.get(reverse("appointments:calendar", args=[appointment.pk])),
        }[kind]()

    return make


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        ("htmx partial", 200),
        ("204 poll", 204),
        ("redirect", 302),
        ("404", 404),
        ("405", 405),
        ("400", 400),
        (".ics", 200),
        ("admin JSON", 200),
    ],
)
def test_every_kind_of_response_carries_the_whole_policy(responses_of_every_kind, kind, status):
    # Django left script-src out when nothing used the nonce, falling back to default-src
    # 'self': any script from this site.
    response = responses_of_every_kind(kind)
    assert response.status_code == status
    assert_full_policy(response)


def test_a_refusal_before_any_view_carries_the_whole_policy(client):
    response = client.get("/", {"q": "\x00"})
    assert response.status_code == 400
    assert_full_policy(response)


def test_the_https_redirect_carries_the_whole_policy(settings):
    from django.test import Client

    settings.SECURE_SSL_REDIRECT = True
    response = Client().get(reverse("sign-in"))
    assert response.status_code == 301 and response.url.startswith("https://")
    assert_full_policy(response)


def test_a_bad_request_of_djangos_own_keeps_its_reason_to_itself(client):
    response = client.get("/", headers={"Host": "evil.test"})
    assert response.status_code == 400
    assert "We couldn't accept that request" in response.text
    assert "evil.test" not in response.text and "ALLOWED_HOSTS" not in response.text


def test_the_page_has_no_inline_event_handlers(signed_in):
    html = signed_in.get(reverse("appointments:list")).text
    assert not re.search(r"\son[a-z]+=", html)
    assert "hx-on" not in html


def test_htmx_is_configured_for_the_policy_and_keeps_no_history(signed_in):
    html = signed_in.get(reverse("appointments:list")).text
    meta = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", html)
    config = json.loads(meta.group(1))
    assert config["allowEval"] is False
    assert config["includeIndicatorStyles"] is False
    assert config["historyCacheSize"] == 0
    assert "/static/django_htmx/htmx-2.min.js" in html


@pytest.mark.parametrize("name", ["appointments:list", "chat:list", "account:detail"])
def test_signed_in_pages_are_never_stored(signed_in, name):
    cache_control = signed_in.get(reverse(name))["Cache-Control"]
    assert "no-store" in cache_control
    assert "private" in cache_control


def test_pages_cannot_be_framed(client):
    assert client.get(reverse("sign-in"))["X-Frame-Options"] == "DENY"


def age_session(browser, *, seen_ago: float, started_ago: float) -> None:
    session = browser.session
    now = time.time()
    session[SESSION_SEEN_KEY] = now - seen_ago
    session[SESSION_STARTED_KEY] = now - started_ago
    session.save()


def test_a_session_idle_for_15_minutes_ends(signed_in):
    age_session(signed_in, seen_ago=15 * 60 + 1, started_ago=20 * 60)
    response = signed_in.get(reverse("chat:list"))
    assert response.status_code == 302
    assert response.url == f"{reverse('sign-in')}?next=/chat/"
    assert "_auth_user_id" not in signed_in.session
    page = signed_in.get(response.url)
    assert "signed out after 15 minutes without activity" in page.text


def test_a_session_active_14_minutes_ago_carries_on_and_is_refreshed(signed_in):
    age_session(signed_in, seen_ago=14 * 60, started_ago=60 * 60)
    assert signed_in.get(reverse("chat:list")).status_code == 200
    assert time.time() - signed_in.session[SESSION_SEEN_KEY] < 5


def test_the_idle_limit_is_a_setting(signed_in, settings):
    from datetime import timedelta

    settings.SESSION_IDLE_TIMEOUT = timedelta(minutes=5)
    age_session(signed_in, seen_ago=5 * 60 + 1, started_ago=6 * 60)
    assert signed_in.get(reverse("chat:list")).status_code == 302


def test_a_session_ends_12_hours_after_sign_in_however_active(signed_in):
    age_session(signed_in, seen_ago=10, started_ago=12 * 3600 + 1)
    response = signed_in.get(reverse("chat:list"))
    assert response.status_code == 302
    assert "_auth_user_id" not in signed_in.session


def test_an_expired_htmx_request_is_sent_to_sign_in_by_header(signed_in):
    age_session(signed_in, seen_ago=16 * 60, started_ago=20 * 60)
    response = signed_in.get(reverse("chat:list"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("sign-in"))


def test_the_session_cookie_dies_with_the_browser_and_is_http_only(client, client_user, settings):
    from tests.factories import TEST_PASSWORD

    response = client.post(
        reverse("sign-in"), {"username": client_user.email, "password": TEST_PASSWORD}
    )
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"]
    assert cookie["max-age"] == ""  # a browser-session cookie
    assert settings.SESSION_COOKIE_AGE == 12 * 3600


def production_env(**overrides) -> dict:
    dropped = {"DEBUG", "SECRET_KEY", "AUDIT_SIGNING_KEYS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(
        {
            "DEBUG": "false",
            "SECRET_KEY": "x7-Qm2vR9p_L0nK4sT8wZ1cY6bH3jD5fG0aE7uI2oP9rS4tV1xW8yZ3qA6",
            "AUDIT_SIGNING_KEYS": "Jc4-pR8sW1xY5zA2bD6eF9gH3kL7mN0qT4uV8wX2yZ5aB9cE1",
            "ALLOWED_HOSTS": "portal.example.org",
            "EMAIL_URL": "smtp+tls://portal:mail-password@mail.example.org:587",
            "PORTAL_CALENDAR_DOMAIN": "portal.example.org",
        }
        | overrides
    )
    return env


def run_manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_deploy_check_passes_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_deploy_check_fails_while_the_calendar_domain_is_left_at_its_default():
    env = production_env()
    del env["PORTAL_CALENDAR_DOMAIN"]
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 1
    assert "portal.W001" in result.stderr and "PORTAL_CALENDAR_DOMAIN" in result.stderr


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = production_env()
    del env["SECRET_KEY"]
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_production_settings_refuse_to_start_without_access_log_keys():
    env = production_env()
    del env["AUDIT_SIGNING_KEYS"]
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "AUDIT_SIGNING_KEYS must be set when DEBUG is off" in result.stderr


def test_access_log_keys_must_be_long():
    result = run_manage("check", env=production_env(AUDIT_SIGNING_KEYS="short,keys"))
    assert result.returncode != 0
    assert "Each of AUDIT_SIGNING_KEYS must be 32 characters or longer" in result.stderr


@pytest.mark.parametrize("days", ["0", "-30"])
def test_access_log_retention_must_be_a_day_or_more(days):
    result = run_manage("check", env=production_env(AUDIT_RETENTION_DAYS=days))
    assert result.returncode != 0
    assert "AUDIT_RETENTION_DAYS must be 1 day or more" in result.stderr


def test_debug_must_be_a_real_boolean():
    result = run_manage("check", env=production_env(DEBUG="maybe"))
    assert result.returncode != 0
    assert "DEBUG must be one of" in result.stderr

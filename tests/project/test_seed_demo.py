"""The demo data: accounts with known passwords, only where DEBUG is on or told it is a demo."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from portal.models import User
from portal.project.management.commands.seed_demo import DEMO_ACCOUNTS

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def debug(settings):
    settings.DEBUG = True


def test_seed_demo_creates_the_demo_accounts_and_prints_their_sign_ins(debug):
    output = run("seed_demo")
    assert "5 created" in output
    for account in DEMO_ACCOUNTS:
        user = User.objects.get(email=account["email"])
        assert user.check_password(account["password"])
        assert account["password"] in output
    assert User.objects.get(email="admin@example.com").is_superuser


def test_seed_demo_refuses_when_debug_is_off_and_says_why():
    with pytest.raises(CommandError, match="refuses to run while DEBUG is off"):
        run("seed_demo")
    assert not User.objects.exists()


def test_seed_demo_runs_on_a_demo_server_when_told_but_never_prints_passwords():
    output = run("seed_demo", "--i-know-this-is-not-production")
    assert "5 created" in output and "printed only when DEBUG is on" in output
    assert not any(account["password"] in output for account in DEMO_ACCOUNTS)


def test_seed_demo_twice_changes_nothing(debug):
    run("seed_demo")
    before = list(User.objects.order_by("pk").values())
    output = run("seed_demo")
    assert "0 created, 5 already there" in output
    assert list(User.objects.order_by("pk").values()) == before


def test_seed_demo_leaves_a_changed_password_alone(debug):
    run("seed_demo")
    user = User.objects.get(email="client@example.com")
    user.set_password("my-own-secret-99")
    user.save()
    run("seed_demo")
    user.refresh_from_db()
    assert user.check_password("my-own-secret-99")


def test_seed_demo_dry_run_creates_nothing(debug):
    output = run("seed_demo", "--dry-run")
    assert "5 would create" in output
    assert not User.objects.exists()


def test_the_demo_shows_the_waitlist_with_one_provider_and_not_the_other(debug):
    from appointments.models import Provider

    run("seed_demo")
    switched = dict(Provider.objects.values_list("display_name", "waitlist_enabled"))
    assert switched == {"Dr. Maya Okafor": True, "Sam Rivera": False}

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from portal.management.commands.seed_demo import DEMO_ACCOUNTS
from portal.models import User

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


def test_no_model_change_lacks_a_migration():
    call_command("makemigrations", "--check", "--dry-run", stdout=StringIO())


# --- prune_throttles ----------------------------------------------------------------------------


@pytest.fixture
def throttle_slots():
    from datetime import timedelta

    from django.utils import timezone

    from portal import throttles

    now = timezone.now()
    hour_ago = now - timedelta(hours=1, seconds=1)
    throttles.PASSWORD_RESET_BY_EMAIL.take("old@example.com", now=hour_ago)
    throttles.PASSWORD_RESET_BY_EMAIL.take("new@example.com", now=now - timedelta(minutes=59))
    throttles.PASSWORD_CHANGE.take("1", now=now - timedelta(minutes=16))
    throttles.PASSWORD_CHANGE.take("2", now=now - timedelta(minutes=14))
    return now


def test_prune_throttles_deletes_only_slots_that_no_longer_count(throttle_slots):
    from portal import throttles
    from portal.models import ThrottleSlot

    assert "2 throttle slots deleted" in run("prune_throttles")
    assert ThrottleSlot.objects.count() == 2
    assert throttles.PASSWORD_RESET_BY_EMAIL.slots("new@example.com").exists()
    assert throttles.PASSWORD_CHANGE.slots("2").exists()
    assert "0 throttle slots deleted" in run("prune_throttles")


def test_prune_throttles_dry_run_deletes_nothing(throttle_slots):
    from portal.models import ThrottleSlot

    assert "2 throttle slots would be deleted" in run("prune_throttles", "--dry-run")
    assert ThrottleSlot.objects.count() == 4

from io import StringIO

import pytest
from django.core.management import call_command

from portal.management.commands.seed_demo import DEMO_ACCOUNTS
from portal.models import User

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_seed_demo_creates_the_demo_accounts_and_prints_their_sign_ins():
    output = run("seed_demo")
    assert "5 created" in output
    for account in DEMO_ACCOUNTS:
        user = User.objects.get(email=account["email"])
        assert user.check_password(account["password"])
        assert account["password"] in output
    assert User.objects.get(email="admin@example.com").is_superuser


def test_seed_demo_twice_changes_nothing():
    run("seed_demo")
    before = list(User.objects.order_by("pk").values())
    output = run("seed_demo")
    assert "0 created, 5 already there" in output
    assert list(User.objects.order_by("pk").values()) == before


def test_seed_demo_leaves_a_changed_password_alone():
    run("seed_demo")
    user = User.objects.get(email="client@example.com")
    user.set_password("my-own-secret-99")
    user.save()
    run("seed_demo")
    user.refresh_from_db()
    assert user.check_password("my-own-secret-99")


def test_seed_demo_dry_run_creates_nothing():
    output = run("seed_demo", "--dry-run")
    assert "5 would create" in output
    assert not User.objects.exists()


def test_no_model_change_lacks_a_migration():
    call_command("makemigrations", "--check", "--dry-run", stdout=StringIO())

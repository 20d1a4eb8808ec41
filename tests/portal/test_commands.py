from io import StringIO

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


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

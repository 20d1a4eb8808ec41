from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from appointments.models import WaitlistOffer, WaitlistOpening
from tests.appointments.test_waitlist_admin import practice_with_waitlist

pytestmark = pytest.mark.django_db


def report(*args) -> str:
    out = StringIO()
    call_command("waitlist_report", *args, stdout=out)
    return out.getvalue()


def test_it_counts_freed_offered_and_filled_with_the_median_wait_by_provider(db):
    ours = practice_with_waitlist("Dr. Ours")
    practice_with_waitlist("Dr. Theirs")
    # Make the wait exact: opened 30 minutes before the offer was taken.
    offer = WaitlistOffer.objects.get(entry=ours["entry"])
    WaitlistOpening.objects.filter(pk=offer.opening_id).update(
        opened_at=offer.closed_at - timedelta(minutes=30)
    )
    today = timezone.now().date()
    text = report("--start", f"{today - timedelta(days=1)}", "--end", f"{today}")
    rows = {line[:28].strip(): line.split()[-4:] for line in text.splitlines()[3:-1]}
    assert rows["Dr. Ours"] == ["1", "1", "1", "30.0"]
    assert rows["Dr. Theirs"][:3] == ["1", "1", "1"]
    assert "Total: 2 freed, 2 offered, 2 filled" in text


def test_an_empty_period_says_so_and_bad_dates_are_refused(db):
    assert "No waitlist activity in this period." in report(
        "--start", "2020-01-01", "--end", "2020-01-31"
    )
    with pytest.raises(CommandError, match="--end must be after --start"):
        report("--start", "2020-02-01", "--end", "2020-01-01")

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from appointments.models import Appointment, Fee, Policy, Provider, Reminder
from portal.models import Email, User
from tests.concurrency import race
from tests.factories import AppointmentFactory, AppointmentTypeFactory
from tests.tasks import run_worker, sent_mail

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue()


def hours_from_now(hours):
    return timezone.now().replace(microsecond=0) + timedelta(hours=hours)


# --- create_provider ------------------------------------------------------------------------


def test_create_provider_makes_the_account_profile_policy_and_invitation():
    output = run(
        "create_provider",
        "--email",
        "Lena.Park@Example.com",
        "--name",
        "Dr. Lena Park",
        "--timezone",
        "Asia/Calcutta",
        "--title",
        "MD",
    )
    provider = Provider.objects.get(user__email="lena.park@example.com")
    assert (provider.display_name, provider.title, provider.time_zone) == (
        "Dr. Lena Park",
        "MD",
        "Asia/Kolkata",
    )
    assert Policy.objects.filter(provider=provider, appointment_type=None).exists()
    assert provider.user.groups.filter(name="Practice staff").exists() and provider.user.is_staff
    assert not provider.user.has_usable_password()
    assert sent_mail()[0].to == ["lena.park@example.com"] and "/welcome/" in sent_mail()[0].body
    assert f"Created provider {provider.pk}" in output


def test_create_provider_dry_run_creates_nothing():
    assert "Would create" in run(
        "create_provider",
        "--email",
        "a@example.com",
        "--name",
        "A",
        "--timezone",
        "UTC",
        "--dry-run",
    )
    assert not User.objects.filter(email="a@example.com").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "nope", "--name", "A", "--timezone", "UTC"], "not a valid email"),
        (["--email", "a@example.com", "--name", "A", "--timezone", "Mars/Base"], "not a time zone"),
        (["--email", "a@example.com", "--name", " ", "--timezone", "UTC"], "--name"),
    ],
)
def test_create_provider_refuses_bad_arguments(args, message):
    with pytest.raises(CommandError, match=message):
        run("create_provider", *args)
    assert not Provider.objects.exists()


def test_create_provider_refuses_an_existing_provider(provider):
    with pytest.raises(CommandError, match="already a provider"):
        run("create_provider", "--email", provider.user.email, "--name", "X", "--timezone", "UTC")


def test_a_bad_argument_exits_non_zero():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "manage.py", "send_reminders", "--hours-ahead", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "--hours-ahead must be between" in result.stderr


# --- send_reminders -------------------------------------------------------------------------


@pytest.fixture
def soon_and_later(session_type, client_user):
    soon = AppointmentFactory(
        appointment_type=session_type, client=client_user, start=hours_from_now(5)
    )
    later = AppointmentFactory(
        appointment_type=session_type, client=client_user, start=hours_from_now(48)
    )
    AppointmentFactory(
        appointment_type=session_type,
        client=client_user,
        start=hours_from_now(6),
        status="cancelled",
    )
    return soon, later


def test_reminders_go_once_to_appointments_inside_the_window(soon_and_later, client_user):
    soon, _ = soon_and_later
    assert "1 reminder queued (24h ahead)" in run("send_reminders")
    assert [m.to for m in sent_mail()] == [[client_user.email]]
    assert "Therapy session" not in sent_mail()[0].body
    assert Reminder.objects.get().appointment == soon
    assert "0 reminders queued" in run("send_reminders")
    assert len(sent_mail()) == 1


def test_a_reminder_counts_as_sent_only_once_the_mail_server_accepted_it(
    soon_and_later, smtp_server
):
    smtp_server.down()
    run("send_reminders")
    run_worker()
    reminder = Reminder.objects.select_related("email").get()
    assert reminder.sent_at is None and reminder.email.status == "queued"
    assert "1 reminder" not in run("send_reminders")  # claimed: not queued twice meanwhile
    smtp_server.up()
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())
    run_worker()
    reminder = Reminder.objects.select_related("email").get()
    assert reminder.sent_at is not None and len(smtp_server.received) == 1


def test_a_reminder_is_not_sent_once_its_appointment_has_started(soon_and_later, smtp_server):
    soon, _ = soon_and_later
    run("send_reminders")
    Appointment.objects.filter(pk=soon.pk).update(start=timezone.now() - timedelta(minutes=1))
    Email.objects.update(send_before=timezone.now() - timedelta(minutes=1))
    run_worker()
    assert smtp_server.received == [] and Reminder.objects.get().sent_at is None


def test_reminder_kinds_are_counted_separately(soon_and_later):
    run("send_reminders", "--hours-ahead", "24")
    assert "2 reminders queued (72h ahead)" in run("send_reminders", "--hours-ahead", "72")


def test_reminders_dry_run_queues_nothing(soon_and_later):
    assert "1 reminder would be queued" in run("send_reminders", "--dry-run")
    assert sent_mail() == [] and not Reminder.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_copies_at_once_remind_each_appointment_once(session_type, client_user):
    for hours in range(2, 12):
        AppointmentFactory(
            appointment_type=session_type, client=client_user, start=hours_from_now(hours)
        )
    outcomes = race(lambda i: run("send_reminders"), n=2)
    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    assert Reminder.objects.count() == 10
    assert len(sent_mail()) == 10


# --- complete_past_appointments -------------------------------------------------------------


def test_ended_appointments_are_completed_once_with_history(session_type, client_user):
    ended = AppointmentFactory(
        appointment_type=session_type, client=client_user, start=hours_from_now(-3)
    )
    running = AppointmentFactory(
        appointment_type=session_type, client=client_user, start=hours_from_now(-0.25)
    )
    cancelled = AppointmentFactory(
        appointment_type=session_type,
        client=client_user,
        start=hours_from_now(-30),
        status="cancelled",
    )
    future = AppointmentFactory(
        appointment_type=session_type, client=client_user, start=hours_from_now(30)
    )
    assert "1 appointments would be marked completed" in run(
        "complete_past_appointments", "--dry-run"
    )
    assert "1 appointments marked completed" in run("complete_past_appointments")
    statuses = dict(Appointment.objects.values_list("pk", "status"))
    assert statuses == {
        ended.pk: "completed",
        running.pk: "scheduled",
        cancelled.pk: "cancelled",
        future.pk: "scheduled",
    }
    event = ended.events.get()
    assert (
        event.kind == "completed"
        and event.actor is None
        and event.details == {"by": "complete_past_appointments"}
    )
    assert "0 appointments marked completed" in run("complete_past_appointments")


@pytest.mark.django_db(transaction=True)
def test_two_copies_at_once_complete_each_appointment_once(session_type, client_user):
    for days in range(1, 21):
        AppointmentFactory(
            appointment_type=session_type, client=client_user, start=hours_from_now(-24 * days)
        )
    outcomes = race(lambda i: run("complete_past_appointments"), n=2)
    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    assert Appointment.objects.filter(status="completed").count() == 20
    from appointments.models import AppointmentEvent

    assert AppointmentEvent.objects.filter(kind="completed").count() == 20


# --- export_appointments --------------------------------------------------------------------


def test_the_export_has_a_header_and_times_in_utc_and_the_providers_zone(
    session_type, client_user, tmp_path
):
    start = timezone.datetime(2026, 12, 3, 16, tzinfo=timezone.UTC)
    AppointmentFactory(appointment_type=session_type, client=client_user, start=start)
    AppointmentFactory(
        appointment_type=session_type, client=client_user, start=start + timedelta(days=40)
    )
    target = tmp_path / "out.csv"
    assert "1 appointments written" in run(
        "export_appointments",
        "--start",
        "2026-12-01",
        "--end",
        "2026-12-31",
        "--output",
        str(target),
    )
    rows = list(csv.DictReader(target.open()))
    assert len(rows) == 1
    assert rows[0]["start_utc"] == "2026-12-03T16:00:00+00:00"
    assert rows[0]["start_provider_time"] == "2026-12-03T10:00:00-06:00"
    assert rows[0]["provider_time_zone"] == "America/Chicago"
    assert rows[0]["client_email"] == client_user.email


def test_the_export_writes_to_standard_output_and_filters_by_provider(
    session_type, client_user, stranger
):
    other = AppointmentTypeFactory()
    when = timezone.datetime(2026, 12, 3, 16, tzinfo=timezone.UTC)
    AppointmentFactory(appointment_type=session_type, client=client_user, start=when)
    AppointmentFactory(appointment_type=other, client=stranger, start=when)
    output = run(
        "export_appointments",
        "--start",
        "2026-12-01",
        "--end",
        "2026-12-31",
        "--provider",
        session_type.provider.user.email,
    )
    rows = list(csv.reader(io.StringIO(output)))
    assert rows[0][0] == "id" and len(rows) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "yesterday", "--end", "2026-12-01"], "must be a date"),
        (["--start", "2026-12-05", "--end", "2026-12-01"], "after --start"),
        (["--start", "2026-12-01T09:00", "--end", "2026-12-02"], "UTC offset"),
        (["--start", "0001-01-01", "--end", "2026-12-02"], "between 1970 and 2199"),
        (["--start", "2026-12-01", "--end", "9999-12-31"], "between 1970 and 2199"),
        (["--start", "0001-01-01T00:00+14:00", "--end", "2026-12-02"], "between 1970 and 2199"),
        (["--start", "2026-12-01", "--end", "2026-12-02", "--provider", "²"], "No provider"),
        (
            ["--start", "2026-12-01", "--end", "2026-12-02", "--provider", "nobody@example.com"],
            "No provider",
        ),
        (
            ["--start", "2026-12-01", "--end", "2026-12-02", "--output", "/nonexistent/dir/x.csv"],
            "Can't write",
        ),
    ],
)
def test_the_export_refuses_bad_arguments(args, message):
    with pytest.raises(CommandError, match=message):
        run("export_appointments", *args)


# --- fees_report ----------------------------------------------------------------------------


def test_the_fees_report_groups_by_provider_kind_and_status(session_type, client_user):
    appointment = AppointmentFactory(appointment_type=session_type, client=client_user)
    when = timezone.datetime(2026, 12, 3, tzinfo=timezone.UTC)
    Fee.objects.create(
        appointment=appointment,
        kind="late_cancel",
        amount=Decimal("50"),
        currency="USD",
        created_at=when,
    )
    Fee.objects.create(
        appointment=appointment,
        kind="late_reschedule",
        amount=Decimal("20"),
        currency="USD",
        created_at=when,
        status="paid",
    )
    Fee.objects.create(
        appointment=appointment,
        kind="late_reschedule",
        amount=Decimal("20"),
        currency="USD",
        created_at=when,
        status="paid",
    )
    Fee.objects.create(
        appointment=appointment,
        kind="late_reschedule",
        amount=Decimal("99"),
        currency="USD",
        created_at=when + timedelta(days=60),
    )
    output = run("fees_report", "--start", "2026-12-01", "--end", "2026-12-31")
    assert "Late cancellation" in output and "Late reschedule" in output
    assert "    2    40.00 USD" in output
    assert "Total paid: 40.00 USD" in output and "Total pending: 50.00 USD" in output
    assert "99" not in output


def test_the_fees_report_says_when_there_is_nothing():
    assert "No fees in this period" in run(
        "fees_report", "--start", "2026-12-01", "--end", "2026-12-31"
    )


def test_the_practice_group_exists_from_a_migration():
    group = Group.objects.get(name="Practice staff")
    assert group.permissions.filter(codename="change_appointment").exists()
    assert not group.permissions.filter(codename="delete_appointment").exists()

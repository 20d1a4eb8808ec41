"""
Email leaves the request: it is queued with the change it reports and the worker delivers it
to a real SMTP server (aiosmtpd on a local port), retrying while the server is away.
"""

import contextlib
import threading
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from appointments import selectors
from appointments.models import Appointment
from portal import mail as portal_mail
from portal.mail import deliver, deliver_email, queue_email, retry_delay
from portal.models import Email
from portal.worker import Retry, give_back_lost
from tests.factories import PolicyFactory, book, open_slots_after
from tests.smtp import SilentServer, mailer_settings
from tests.tasks import run_worker

pytestmark = pytest.mark.django_db


def queue(to="jordan@example.com", **kwargs) -> Email:
    context = {"recipient": None, "link": "https://portal.example/chat/1/", "portal_name": "P"}
    return queue_email("new-message", context, to=to, **kwargs)


def pending_tasks():
    return DBTaskResult.objects.filter(status="READY")


def time_passes():
    """Every retry that is waiting becomes due, as if its wait were over."""
    pending_tasks().update(run_after=timezone.now())


def lines(output: tuple[str, str]) -> list[str]:
    return output[0].splitlines()


def reload(email: Email) -> Email:
    email.refresh_from_db()
    return email


# --- Queued with the change ----------------------------------------------------------------


def test_an_email_is_queued_as_a_row_and_a_task_and_nothing_is_sent(smtp_server):
    email = queue()
    assert email.status == Email.Status.QUEUED
    task = pending_tasks().get()
    assert task.task_path == "portal.mail.deliver_email"
    assert task.args_kwargs == {"args": [email.pk], "kwargs": {}}
    assert smtp_server.received == []


def test_a_transaction_that_rolls_back_after_queuing_sends_nothing(smtp_server):
    with pytest.raises(RuntimeError), transaction.atomic():
        queue()
        raise RuntimeError("the change failed")
    assert not Email.objects.exists() and not pending_tasks().exists()
    run_worker()
    assert smtp_server.received == []


def test_the_worker_delivers_it_once_with_its_key_as_message_id(smtp_server, settings):
    email = queue()
    run_worker()
    run_worker()
    assert smtp_server.to() == ["jordan@example.com"]
    key = f"<{email.key}@{settings.PORTAL_CALENDAR_DOMAIN}>"
    assert smtp_server.message_ids() == [key]
    email = reload(email)
    assert (email.status, email.attempts, email.last_error) == (Email.Status.SENT, 1, "")
    assert email.sent_at is not None


def test_attachments_and_the_html_part_arrive(smtp_server):
    queue_email(
        "new-message",
        {"link": "https://x.example/", "portal_name": "P"},
        to="jordan@example.com",
        attachments=[("appointment.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar")],
    )
    run_worker()
    (message,) = smtp_server.received
    parts = {part.get_content_type(): part for part in message.walk()}
    assert {"text/plain", "text/html", "text/calendar"} <= set(parts)
    assert "BEGIN:VCALENDAR" in parts["text/calendar"].get_payload(decode=True).decode()


# --- The mail server away --------------------------------------------------------------------


def test_a_refused_connection_is_retried_later_and_then_delivered(smtp_server):
    smtp_server.down()
    email = queue()
    run_worker()
    email = reload(email)
    assert email.status == Email.Status.QUEUED and email.attempts == 1
    assert "ConnectionRefusedError" in email.last_error
    retry = pending_tasks().get()  # the same task, put back with why, and when
    assert retry.run_after > timezone.now()  # waits; the worker's batch ended without it
    assert "ConnectionRefusedError" in retry.traceback and "(attempt 1)" in retry.traceback
    assert retry.record.retries == 1 and DBTaskResult.objects.count() == 1
    smtp_server.up()
    time_passes()
    run_worker()
    assert len(smtp_server.received) == 1
    assert reload(email).status == Email.Status.SENT and email.attempts == 1 + 1


def test_a_4xx_refusal_of_the_recipient_is_retried(smtp_server):
    smtp_server.mode = "refuse-4xx"
    email = queue()
    run_worker()
    email = reload(email)
    assert email.status == Email.Status.QUEUED and "450" in email.last_error
    smtp_server.mode = "accept"
    time_passes()
    run_worker()
    assert reload(email).status == Email.Status.SENT and len(smtp_server.received) == 1


def test_a_4xx_refusal_of_the_message_is_retried(smtp_server):
    smtp_server.mode = "refuse-data-4xx"
    email = queue()
    run_worker()
    assert reload(email).status == Email.Status.QUEUED and "451" in email.last_error
    assert pending_tasks().count() == 1


def test_a_5xx_refusal_of_the_recipient_is_final_and_recorded(smtp_server):
    smtp_server.mode = "refuse-5xx"
    email = queue()
    run_worker()
    email = reload(email)
    assert email.status == Email.Status.FAILED
    assert "550" in email.last_error and "No such mailbox" in email.last_error
    assert not pending_tasks().exists()
    failed = DBTaskResult.objects.get(status="FAILED")
    assert failed.exception_class_path == "portal.mail.DeliveryFailed"
    assert "not retried" in failed.traceback


def test_a_server_that_never_answers_times_out_and_is_retried(settings):
    silent = SilentServer()
    settings.MAILERS = mailer_settings(silent.port, timeout=0.5)
    try:
        email = queue()
        run_worker()
    finally:
        silent.close()
    email = reload(email)
    assert email.status == Email.Status.QUEUED and email.attempts == 1
    assert "timed out" in email.last_error.lower()
    assert pending_tasks().count() == 1


@pytest.mark.parametrize("mode", ["close-at-data", "stall-at-data"])
def test_a_server_lost_while_receiving_leaves_it_unsent_and_unretried(smtp_server, settings, mode):
    """It may have arrived: at most once, so it waits for a person instead of a retry."""
    settings.MAILERS = mailer_settings(smtp_server.port, timeout=0.5)
    smtp_server.mode, smtp_server.stall = mode, 2
    email = queue()
    run_worker()
    email = reload(email)
    assert email.status == Email.Status.SENDING
    assert "it may have arrived" in email.last_error
    assert not pending_tasks().exists()


def test_retries_back_off_with_jitter_up_to_an_hour_apart():
    for attempt, ceiling in [(1, 30), (2, 60), (3, 120), (7, 1920), (8, 3600), (40, 3600)]:
        waits = {retry_delay(attempt).total_seconds() for _ in range(50)}
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
        assert len(waits) > 1  # jittered: emails that failed together come back apart


def test_it_keeps_trying_for_the_whole_retry_window_then_gives_up(settings):
    """Driven attempt by attempt at the times the retries ask for, against a refused port."""
    settings.MAILERS = mailer_settings(SilentServer().port, timeout=0.01)  # never answers
    settings.PORTAL_EMAIL_RETRY_FOR = timedelta(hours=24)
    email = queue()
    first = now = timezone.now()
    while True:
        with contextlib.suppress(portal_mail.DeliveryFailed, Retry):
            deliver(email.pk, now=now)
        email = reload(email)
        if email.status != Email.Status.QUEUED:
            break
        assert email.next_attempt_at > now
        now = email.next_attempt_at
    assert email.status == Email.Status.FAILED and "gave up" in email.last_error
    assert email.last_attempt_at - first >= timedelta(hours=24)
    assert 20 < email.attempts < 60  # an hour apart at most, not hammering the server


def test_a_reminder_that_would_arrive_too_late_is_not_sent(smtp_server):
    email = queue(send_before=timezone.now() - timedelta(minutes=1))
    run_worker()
    email = reload(email)
    assert email.status == Email.Status.FAILED and "too late" in email.last_error
    assert smtp_server.received == []


# --- Once, whatever happens to the workers --------------------------------------------------


class WorkerKilled(BaseException):
    """Stands for the process dying: nothing after it runs."""


def test_a_worker_killed_between_sending_and_recording_sends_no_duplicate(smtp_server, monkeypatch):
    email = queue()

    def die(*args, **kwargs):
        raise WorkerKilled()

    monkeypatch.setattr(portal_mail, "_record_sent", die)
    with pytest.raises(WorkerKilled):
        run_worker()
    assert len(smtp_server.received) == 1
    assert reload(email).status == Email.Status.SENDING
    monkeypatch.undo()
    assert give_back_lost() == 1  # its task, as after a restart
    run_worker()
    assert len(smtp_server.received) == 1
    assert reload(email).status == Email.Status.SENDING


def test_a_second_task_for_a_sent_email_sends_nothing(smtp_server):
    email = queue()
    deliver_email.enqueue(email.pk)
    run_worker()
    assert len(smtp_server.received) == 1
    assert reload(email).status == Email.Status.SENT


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_deliver_200_emails_each_exactly_once(smtp_server):
    emails = [queue(to=f"client{i}@example.com") for i in range(200)]
    for email in emails[::2]:
        deliver_email.enqueue(email.pk)  # and every other one has two tasks racing for it
    barrier = threading.Barrier(2)
    errors = []
    ran = {}

    def work(name):
        from django.db import connection

        try:
            barrier.wait(timeout=10)
            ran[name] = run_worker()
        except Exception as error:  # noqa: BLE001  (any error fails the test below)
            errors.append(error)
        finally:
            connection.close()

    workers = [threading.Thread(target=work, args=(f"worker-{i}",)) for i in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert errors == []
    ids = smtp_server.message_ids()
    assert len(ids) == 200 and len(set(ids)) == 200
    assert Email.objects.filter(status=Email.Status.SENT).count() == 200
    assert sorted(ran) == ["worker-0", "worker-1"] and all(ran.values())  # both took some


# --- No request waits on the mail server -----------------------------------------------------


@pytest.fixture
def mail_server_down(smtp_server):
    smtp_server.down()
    return smtp_server


@pytest.fixture
def appointment(client_user, provider, session_type):
    PolicyFactory(provider=provider)
    return book(client_user, provider, session_type, days=5, booked_days_ago=3)


def book_by_post(signed_in, provider, session_type, client_user):
    start = open_slots_after(client_user, provider, session_type, days=2)[0]
    url = reverse("appointments:book-review", args=[provider.pk, session_type.pk])
    terms = selectors.terms_in_force(provider, session_type).token
    return signed_in.post(url, {"start": start.isoformat(), "expected_terms": terms})


def cancel_by_post(signed_in, appointment):
    return signed_in.post(
        reverse("appointments:cancel", args=[appointment.pk]),
        {"expected_start": appointment.start.isoformat()},
    )


def reschedule_by_post(signed_in, appointment):
    new = open_slots_after(
        appointment.client, appointment.provider, appointment.appointment_type, days=7
    )[0]
    return signed_in.post(
        reverse("appointments:reschedule-review", args=[appointment.pk]),
        {"start": new.isoformat(), "expected_start": appointment.start.isoformat()},
    )


def test_booking_with_the_mail_server_down_answers_as_usual_and_mails_once_it_is_back(
    mail_server_down, signed_in, provider, session_type, client_user
):
    response = book_by_post(signed_in, provider, session_type, client_user)
    assert response.status_code == 302 and response.url == reverse("appointments:list")
    assert Appointment.objects.filter(client=client_user).count() == 1
    assert_delivered_once_back_up(mail_server_down, [client_user.email, provider.user.email])


def test_cancelling_with_the_mail_server_down_answers_as_usual(
    mail_server_down, signed_in, appointment, client_user, provider
):
    DBTaskResult.objects.all().delete()  # the booking's own emails, never written
    response = cancel_by_post(signed_in, appointment)
    assert response.status_code == 302
    assert reload(appointment).status == Appointment.Status.CANCELLED
    assert_delivered_once_back_up(mail_server_down, [client_user.email, provider.user.email])


def test_rescheduling_with_the_mail_server_down_answers_as_usual(
    mail_server_down, signed_in, appointment, client_user, provider
):
    DBTaskResult.objects.all().delete()
    old_start = appointment.start
    response = reschedule_by_post(signed_in, appointment)
    assert response.status_code == 302
    assert reload(appointment).start != old_start
    assert_delivered_once_back_up(mail_server_down, [client_user.email, provider.user.email])


def test_a_password_reset_with_the_mail_server_down_answers_as_usual(
    mail_server_down, client, client_user
):
    response = client.post(reverse("password-reset"), {"email": client_user.email})
    assert response.status_code == 302 and response.url == reverse("password-reset-sent")
    assert_delivered_once_back_up(mail_server_down, [client_user.email])


def assert_delivered_once_back_up(sink, recipients):
    assert sink.received == []
    run_worker()  # the server is still down: every attempt fails and is put off
    assert sink.received == []
    assert Email.objects.filter(status=Email.Status.QUEUED).count() == len(recipients)
    assert pending_tasks().count() == len(recipients)
    sink.up()
    time_passes()
    run_worker()
    run_worker()
    assert sorted(sink.to()) == sorted(recipients)
    assert len(set(sink.message_ids())) == len(recipients)


# --- What the operator sees --------------------------------------------------------------------

EMAILS = reverse("admin:portal_email_changelist")
TASKS = reverse("admin:django_tasks_database_dbtaskresult_changelist")
WORKERS = reverse("admin:portal_workerlane_changelist")


@pytest.fixture
def superuser(db):
    from tests.factories import UserFactory

    return UserFactory(email="root@example.com", is_staff=True, is_superuser=True)


def test_a_superuser_sees_queued_retrying_failed_and_unknown_emails_with_their_errors(
    staff_browser, superuser, smtp_server
):
    smtp_server.mode = "refuse-5xx"
    failed = queue(to="gone@example.com")
    run_worker()
    smtp_server.down()
    retrying = queue(to="later@example.com")
    run_worker()
    waiting = queue(to="waiting@example.com")
    Email.objects.filter(pk=waiting.pk).update(
        status=Email.Status.SENDING, last_attempt_at=timezone.now() - timedelta(hours=1)
    )
    page = staff_browser(superuser).get(EMAILS).text
    assert "Failed: not retried" in page and "gone@example.com" in page
    assert "Retrying: attempt 2" in page and "later@example.com" in page
    assert "Outcome unknown: it may have arrived" in page
    detail = staff_browser(superuser).get(reverse("admin:portal_email_change", args=[failed.pk]))
    assert "550" in detail.text and "No such mailbox" in detail.text
    assert (
        retrying.pk and "Run the selected tasks again" in staff_browser(superuser).get(TASKS).text
    )


def test_a_superuser_can_send_a_failed_email_again(staff_browser, superuser, smtp_server):
    smtp_server.mode = "refuse-5xx"
    email = queue()
    run_worker()
    assert reload(email).status == Email.Status.FAILED
    smtp_server.mode = "accept"
    response = staff_browser(superuser).post(
        EMAILS, {"action": "send_again", "_selected_action": [email.pk]}
    )
    assert response.status_code == 302
    run_worker()
    assert reload(email).status == Email.Status.SENT and len(smtp_server.received) == 1


def test_sending_again_leaves_a_sent_email_alone(staff_browser, superuser, smtp_server):
    email = queue()
    run_worker()
    staff_browser(superuser).post(EMAILS, {"action": "send_again", "_selected_action": [email.pk]})
    run_worker()
    assert len(smtp_server.received) == 1


def test_only_a_superuser_may_send_again(provider):
    email = queue()
    with pytest.raises(PermissionError):
        portal_mail.email_send_again(email=email, actor=provider.user)


@pytest.mark.parametrize("url", [EMAILS, TASKS, WORKERS])
def test_providers_and_office_staff_see_none_of_it(staff_browser, provider, url):
    from appointments.models import OfficeStaff
    from portal.practice import join_practice_staff
    from tests.factories import UserFactory

    office = UserFactory(email="office@practice.example", is_staff=True)
    OfficeStaff.objects.create(provider=provider, user=office)
    join_practice_staff(provider.user)
    join_practice_staff(office)
    queue()
    for user in [provider.user, office]:
        browser = staff_browser(user)
        assert browser.get(url).status_code == 403
        index = browser.get(reverse("admin:index")).text
        assert "Emails" not in index and "Task Results" not in index and "Workers" not in index


# --- Commands -----------------------------------------------------------------------------------


def run(*args) -> tuple[str, str]:
    import io

    from django.core.management import call_command

    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_queued_email_whose_task_was_lost_gets_a_new_one(smtp_server):
    lost, fresh = queue(to="lost@example.com"), queue(to="fresh@example.com")
    DBTaskResult.objects.filter(args_kwargs__args=[lost.pk]).update(status="RUNNING")  # died
    Email.objects.filter(pk=lost.pk).update(next_attempt_at=timezone.now() - timedelta(hours=1))
    assert "1 lost email would be queued." in lines(run("requeue_lost_work", "--dry-run"))
    assert "1 lost email queued again." in lines(run("requeue_lost_work"))
    assert "0 lost emails queued again." in lines(run("requeue_lost_work"))
    run_worker()
    assert sorted(smtp_server.to()) == ["fresh@example.com", "lost@example.com"]
    assert fresh.pk


def test_an_email_cut_off_while_sending_is_reported_not_sent_again(smtp_server):
    email = queue()
    Email.objects.filter(pk=email.pk).update(
        status=Email.Status.SENDING, last_attempt_at=timezone.now() - timedelta(hours=1)
    )
    DBTaskResult.objects.update(status="FAILED")
    out, err = run("requeue_lost_work")
    assert "0 lost emails queued again." in lines((out, err))
    assert "1 email was cut off while sending" in err
    run_worker()
    assert smtp_server.received == []


def test_pruning_blanks_old_content_and_keeps_the_record(smtp_server):
    old, recent, waiting = queue(), queue(), queue()
    run_worker()
    Email.objects.filter(pk__in=[old.pk, waiting.pk]).update(
        created_at=timezone.now() - timedelta(days=31)
    )
    Email.objects.filter(pk=waiting.pk).update(status=Email.Status.QUEUED)
    assert run("prune_email", "--dry-run")[0] == "1 emails would be pruned (older than 30 days).\n"
    assert run("prune_email")[0] == "1 emails pruned (older than 30 days).\n"
    old, recent, waiting = reload(old), reload(recent), reload(waiting)
    assert (old.body, old.html, old.attachments) == ("", "", [])
    assert old.status == Email.Status.SENT and old.to == "jordan@example.com"
    assert recent.body and waiting.body


def test_the_tests_mailbox_refuses_an_email_sent_inside_a_request(client, settings):
    """The guard every test runs under can fail: a view that sends directly is caught."""
    from django.core.mail import EmailMessage
    from django.http import HttpResponse
    from django.urls import path

    def sends_directly(request):
        EmailMessage("Hi", "Body", to=["x@example.com"]).send()
        return HttpResponse("sent")

    settings.ROOT_URLCONF = type("urls", (), {"urlpatterns": [path("", sends_directly)]})
    with pytest.raises(AssertionError, match="while a request was being answered"):
        client.get("/")


LINK = "https://portal.example.org/appointments/invitations/" + "x" * 150 + "/"


def test_a_long_link_stays_on_one_line_in_the_plain_text(smtp_server):
    queue_email("new-message", {"link": LINK, "portal_name": "P"}, to="jordan@example.com")
    run_worker()
    (message,) = smtp_server.received
    plain = next(part for part in message.walk() if part.get_content_type() == "text/plain")
    assert plain["Content-Transfer-Encoding"] != "quoted-printable"
    assert LINK in plain.get_payload()  # as sent, not only once decoded


def test_the_console_shows_the_link_whole(settings, capsys):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
    queue_email("new-message", {"link": LINK, "portal_name": "P"}, to="jordan@example.com")
    run_worker()
    assert LINK in capsys.readouterr().out


# --- One deadline for a whole attempt ---------------------------------------------------------


def test_a_server_slow_at_every_command_is_cut_off_when_the_whole_attempt_has_taken_the_timeout(
    smtp_server, settings
):
    """
    Each answer comes well inside the timeout, but four of them do not: the attempt as a whole
    is bounded, and it ends before the email was handed over, so it is simply retried.
    """
    settings.MAILERS = mailer_settings(smtp_server.port, timeout=1.5)
    smtp_server.mode, smtp_server.stall = "slow", 0.6  # EHLO, MAIL, RCPT, DATA: 2.4 s
    email = queue()
    started = time.monotonic()
    with pytest.raises(Retry):
        deliver(email.pk)
    took = time.monotonic() - started
    assert 1.4 < took < 2.0
    email = reload(email)
    assert email.status == Email.Status.QUEUED and email.attempts == 1
    assert "Timed out: no answer within the 1.5 s an attempt may take" in email.last_error
    assert smtp_server.received == []

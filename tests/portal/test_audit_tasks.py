"""
The worker's tasks write to the access log as the system: what a task notes is written once it
ends well, in one INSERT; an email about a client is logged once it is actually sent, once,
however many times its task runs or fails on the way. All with the real worker and a real SMTP
server (tests/smtp.py).
"""

import json
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from appointments.reminders import queue_reminders
from chat.models import Conversation
from chat.services import message_send
from portal.audit.models import AuditEntry, Role
from portal.mail import deliver_email, queue_email
from portal.models import Email
from tests import worker_tasks
from tests.factories import AppointmentFactory, book
from tests.tasks import run_worker

pytestmark = pytest.mark.django_db

CONTEXT = {"recipient": None, "link": "https://portal.example/chat/1/", "portal_name": "P"}


def body(entry: AuditEntry) -> dict:
    return json.loads(entry.body)


def emailed() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action="emailed").order_by("seq"))


def time_passes() -> None:
    """Every retry that is waiting becomes due."""
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())


def about_the_client(client_user, provider, **kwargs) -> Email:
    return queue_email(
        "new-message",
        CONTEXT,
        to=client_user.email,
        client_id=client_user.pk,
        practice_id=provider.pk,
        about=["chat.conversation:41"],
        **kwargs,
    )


# --- Any task ----------------------------------------------------------------------------------


def test_what_a_task_notes_is_written_by_the_system_in_one_insert_when_it_ends(
    client_user, stranger
):
    worker_tasks.reads_records.enqueue([client_user.pk, stranger.pk])

    with CaptureQueriesContext(connection) as queries:
        run_worker()

    inserts = [q for q in queries.captured_queries if 'INSERT INTO "audit_entry"' in q["sql"]]
    assert len(inserts) == 1
    entries = list(AuditEntry.objects.order_by("seq"))
    assert [e.client_id for e in entries] == [client_user.pk, stranger.pk]
    for entry in entries:
        assert (entry.actor_id, entry.actor_role, entry.address) == (None, Role.SYSTEM, "")
        assert body(entry)["o"] == "task:tests.worker_tasks.reads_records"


@pytest.mark.parametrize("error", ["bug", "database", "retry"])
def test_a_task_that_fails_or_is_retried_logs_nothing_of_that_run(client_user, error):
    worker_tasks.reads_records_then_fails.enqueue(client_user.pk, error)

    run_worker()

    assert DBTaskResult.objects.get().status in ("FAILED", "READY")
    assert not AuditEntry.objects.exists()


def test_what_a_task_notes_does_not_leak_into_the_next_task(client_user, stranger):
    worker_tasks.reads_records_then_fails.enqueue(client_user.pk, "bug")
    worker_tasks.reads_records.enqueue([stranger.pk])

    run_worker()

    assert [e.client_id for e in AuditEntry.objects.all()] == [stranger.pk]


# --- Emails ------------------------------------------------------------------------------------


def test_a_sent_email_about_a_client_is_logged_once_with_whose_which_and_its_kind(
    smtp_server, client_user, provider
):
    email = about_the_client(client_user, provider)

    run_worker()

    assert smtp_server.to() == [client_user.email]
    [entry] = emailed()
    assert (entry.client_id, entry.practice_id) == (client_user.pk, provider.pk)
    assert (entry.actor_id, entry.actor_role) == (None, Role.SYSTEM)
    said = body(entry)
    assert said["r"] == ["chat.conversation:41", f"portal.email:{email.pk}"]
    assert said["d"] == "new-message"
    assert said["o"] == "task:portal.mail.deliver_email"


def test_an_email_whose_task_runs_again_after_it_was_sent_is_logged_once(
    smtp_server, client_user, provider
):
    email = about_the_client(client_user, provider)
    run_worker()
    # The same task given again (a lease that lapsed, requeue_lost_work): it finds it sent.
    deliver_email.enqueue(email.pk)
    deliver_email.enqueue(email.pk)

    assert run_worker() == 2

    assert len(smtp_server.received) == 1
    assert len(emailed()) == 1


def test_an_email_that_fails_to_send_is_logged_only_once_it_is_sent(
    smtp_server, client_user, provider
):
    smtp_server.mode = "refuse-4xx"
    email = about_the_client(client_user, provider)

    run_worker()
    time_passes()
    run_worker()

    email.refresh_from_db()
    assert (email.status, email.attempts) == (Email.Status.QUEUED, 2)
    assert emailed() == []

    smtp_server.mode = "accept"
    time_passes()
    run_worker()

    email.refresh_from_db()
    assert email.status == Email.Status.SENT
    assert len(emailed()) == 1


def test_an_email_refused_for_good_is_never_logged(smtp_server, client_user, provider):
    smtp_server.mode = "refuse-5xx"
    email = about_the_client(client_user, provider)

    run_worker()

    email.refresh_from_db()
    assert email.status == Email.Status.FAILED
    assert emailed() == []


def test_an_email_about_no_client_logs_nothing(smtp_server):
    queue_email("new-message", CONTEXT, to="office@practice.example")

    run_worker()

    assert len(smtp_server.received) == 1
    assert not AuditEntry.objects.exists()


def test_a_sent_email_costs_one_insert_into_the_log(smtp_server, client_user, provider):
    about_the_client(client_user, provider)

    with CaptureQueriesContext(connection) as queries:
        run_worker()

    inserts = [q for q in queries.captured_queries if 'INSERT INTO "audit_entry"' in q["sql"]]
    assert len(inserts) == 1


# --- Who emails about a client -----------------------------------------------------------------


def test_a_bookings_emails_to_the_client_and_the_provider_are_both_about_the_client(
    smtp_server, client_user, provider, session_type
):
    appointment = book(client_user, provider, session_type, days=2)

    run_worker()  # writes the two emails, then sends them

    emails = Email.objects.order_by("to")
    assert {e.to for e in emails} == {client_user.email, provider.user.email}
    for email in emails:
        assert (email.client_id, email.practice_id) == (client_user.pk, provider.pk)
        assert email.about == [f"appointments.appointment:{appointment.pk}"]
    entries = emailed()
    assert len(entries) == 2
    assert {body(e)["d"] for e in entries} == {"appointment-booked"}
    assert all(e.client_id == client_user.pk for e in entries)


def test_a_chat_notice_to_the_provider_is_about_the_client(smtp_server, client_user, provider):
    conversation = Conversation.objects.create(provider=provider, client=client_user)

    message_send(
        conversation=conversation, sender=client_user, body="Hello", client_key=uuid.uuid4()
    )
    run_worker()

    email = Email.objects.get()
    assert email.to == provider.user.email
    assert (email.client_id, email.practice_id) == (client_user.pk, provider.pk)
    assert email.about == [f"chat.conversation:{conversation.pk}"]
    [entry] = emailed()
    assert entry.client_id == client_user.pk


def test_a_reminder_is_about_the_clients_appointment(smtp_server, client_user, session_type):
    start = timezone.now().replace(microsecond=0) + timedelta(hours=3)
    appointment = AppointmentFactory(appointment_type=session_type, client=client_user, start=start)

    assert queue_reminders(hours_ahead=24) == 1
    run_worker()

    email = Email.objects.get(kind="appointment-reminder")
    assert (email.client_id, email.practice_id) == (client_user.pk, session_type.provider_id)
    assert email.about == [f"appointments.appointment:{appointment.pk}"]
    [entry] = emailed()
    assert body(entry)["d"] == "appointment-reminder"

"""
"Download your data": a client's copy, asked for under Account or by their care team in the
admin, built by the worker, emailed as a link that works once, for 24 hours, only for them.
"""

import csv
import io
import re
import uuid
import zipfile
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace
from urllib.parse import urlsplit

import icalendar
import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appointments.models import Fee, OfficeStaff, WaitlistEntry
from chat.models import Conversation, Message
from portal import data_copy
from portal import data_copy_views as views
from portal.audit.models import Action, AuditEntry, Role
from portal.audit.recorder import Entry, record_entries
from portal.models import DataCopy, Email
from portal.practice import join_practice_staff
from tests.factories import AppointmentFactory, ProviderFactory, UserFactory
from tests.tasks import queued_task_count, run_worker, sent_mail

REQUEST = reverse("account:data-copy")


@pytest.fixture
def records(client_user, stranger, provider, session_type):
    """Two appointments, a fee, a waitlist entry, messages and log entries, and a stranger's."""
    first = AppointmentFactory(
        client=client_user, appointment_type=session_type, start=timezone.now() + timedelta(days=2)
    )
    first.end = first.start + timedelta(minutes=50)
    first.save()
    second = AppointmentFactory(
        client=client_user,
        appointment_type=session_type,
        start=timezone.now() - timedelta(days=5),
        status="cancelled",
    )
    Fee.objects.create(
        appointment=second,
        client=client_user,
        kind=Fee.Kind.LATE_CANCEL,
        amount=Decimal("50.00"),
        currency="USD",
    )
    WaitlistEntry.objects.create(
        client=client_user, provider=provider, appointment_type=session_type, weekdays=[0, 2]
    )
    talk = Conversation.objects.create(provider=provider, client=client_user)
    Message.objects.create(
        conversation=talk, sender=client_user, body="Can we move Tuesday?", client_key=uuid.uuid4()
    )
    Message.objects.create(
        conversation=talk,
        sender=provider.user,
        body="Yes, Thursday works.",
        client_key=uuid.uuid4(),
    )
    # The stranger's own records, with the same provider: none may reach the client's copy.
    theirs = AppointmentFactory(client=stranger, appointment_type=session_type)
    Fee.objects.create(
        appointment=theirs, client=stranger, kind="no_show", amount=Decimal("99"), currency="USD"
    )
    WaitlistEntry.objects.create(client=stranger, provider=provider, appointment_type=session_type)
    Message.objects.create(
        conversation=Conversation.objects.create(provider=provider, client=stranger),
        sender=stranger,
        body="The stranger's secret",
        client_key=uuid.uuid4(),
    )
    record_entries(
        [
            Entry(
                action=Action.VIEWED,
                actor_id=provider.user.pk,
                actor_role=Role.PROVIDER,
                client_id=client_user.pk,
            ),
            # The client's own look at their record is not someone else's access.
            Entry(action=Action.VIEWED, actor_id=client_user.pk, actor_role=Role.CLIENT),
            Entry(
                action=Action.VIEWED,
                actor_id=client_user.pk,
                actor_role=Role.CLIENT,
                client_id=client_user.pk,
            ),
            Entry(
                action=Action.CHANGED,
                actor_id=provider.user.pk,
                actor_role=Role.PROVIDER,
                client_id=stranger.pk,
            ),
        ]
    )
    return first, second


def link_in(message) -> str:
    return re.search(r"https?://\S+/account/data/\S+/", message.body).group(0)


def path_of(link: str) -> str:
    return urlsplit(link).path


def ask_and_build(browser: Client) -> str:
    """Ask for a copy, let the worker build it; the path the email links to."""
    response = browser.post(REQUEST)
    assert response.status_code == 302
    emails = [m for m in sent_mail() if "copy of your" in m.subject]
    return path_of(link_in(emails[-1]))


def opened(response) -> dict[str, bytes]:
    """
    The streamed ZIP's files. Read to the end: the test client ends the request only then, as
    a server does once it has sent the last byte.
    """
    content = b"".join(response.streaming_content)
    archive = zipfile.ZipFile(io.BytesIO(content))
    return {name: archive.read(name) for name in archive.namelist()}


def rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


# --- The copy --------------------------------------------------------------------------------


def test_the_zip_holds_each_file_with_the_clients_rows_and_nothing_of_another(
    signed_in, records, client_user, provider
):
    response = signed_in.get(ask_and_build(signed_in))
    assert response.status_code == 200
    files = opened(response)
    assert set(files) == {
        "README.txt",
        "access.csv",
        "appointments.csv",
        "appointments.ics",
        "fees.csv",
        "messages.csv",
        "waitlist.csv",
    }
    appointments = rows(files["appointments.csv"])
    assert [row["status"] for row in appointments] == ["Cancelled", "Scheduled"]
    first, _ = records
    assert appointments[1]["start"] == first.start.astimezone(client_user.zone).isoformat(
        timespec="minutes"
    )
    assert {row["provider"] for row in appointments} == {provider.full_name}

    calendar = icalendar.Calendar.from_ical(files["appointments.ics"])
    events = list(calendar.walk("VEVENT"))
    assert sorted(str(event["uid"]) for event in events) == sorted(
        each.calendar_uid for each in records
    )
    assert sorted(str(event["status"]) for event in events) == ["CANCELLED", "CONFIRMED"]

    fees = rows(files["fees.csv"])
    assert [(fee["amount"], fee["for"]) for fee in fees] == [("50.00", "Late cancellation")]
    waitlist = rows(files["waitlist.csv"])
    assert len(waitlist) == 1 and waitlist[0]["days"] == "Monday; Wednesday"
    messages = rows(files["messages.csv"])
    assert [(m["from"], m["message"]) for m in messages] == [
        ("you", "Can we move Tuesday?"),
        (provider.user.get_full_name(), "Yes, Thursday works."),
    ]
    access = rows(files["access.csv"])
    assert [(row["who"], row["as"], row["what"]) for row in access] == [
        (provider.user.get_full_name(), "provider", "viewed")
    ]
    everything = b"".join(files.values())
    assert b"stranger" not in everything.lower() and b"99" not in files["fees.csv"]


def test_building_takes_the_same_queries_however_much_data(client_user, session_type):
    AppointmentFactory(client=client_user, appointment_type=session_type)
    with CaptureQueriesContext(connection) as few:
        data_copy.build_zip(client_user, now=timezone.now())
    for days in range(4, 12):
        AppointmentFactory(
            client=client_user,
            appointment_type=session_type,
            start=timezone.now() + timedelta(days=days),
        )
    with CaptureQueriesContext(connection) as many:
        data_copy.build_zip(client_user, now=timezone.now())
    assert len(many) == len(few)


def test_the_build_run_twice_makes_one_copy_and_one_email(client_user):
    copy = data_copy.data_copy_request(client=client_user, actor=client_user)
    assert data_copy.build(copy.pk).startswith("built")
    assert data_copy.build(copy.pk) == "nothing to do"
    run_worker()  # the queued task too: a third run
    assert DataCopy.objects.filter(user=client_user).count() == 1
    assert Email.objects.filter(kind="data-copy-ready").count() == 1
    assert len([m for m in sent_mail() if m.to == [client_user.email]]) == 1


def test_the_email_says_nothing_of_the_data_and_when_the_link_ends(signed_in, client_user):
    signed_in.post(REQUEST)
    (message,) = sent_mail()
    assert message.to == [client_user.email]
    assert "works once" in message.body
    copy = DataCopy.objects.get()
    assert copy.expires_at == copy.built_at + timedelta(hours=24)
    end = copy.expires_at.astimezone(client_user.zone)
    assert end.strftime("%Z") in message.body
    html = message.alternatives[0][0]
    assert link_in(message) in html


# --- Asking for it ---------------------------------------------------------------------------


def test_the_account_page_leads_to_the_request_page(signed_in):
    response = signed_in.get(reverse("account:detail"))
    assert f'href="{REQUEST}"' in response.text
    response = signed_in.get(REQUEST)
    assert "Email me a copy of my data" in response.text


def test_asking_queues_one_build_in_the_same_transaction(signed_in, client_user):
    response = signed_in.post(REQUEST, follow=True)
    assert "preparing your copy" in response.text
    assert "Your copy is being prepared" in response.text
    assert DataCopy.objects.get().state == DataCopy.State.PENDING
    assert queued_task_count() == 1


def test_a_second_request_while_one_is_building_says_so_and_queues_nothing(signed_in):
    signed_in.post(REQUEST)
    tasks = queued_task_count()
    response = signed_in.post(REQUEST, follow=True)
    assert "already being prepared" in response.text
    assert queued_task_count() == tasks
    assert DataCopy.objects.count() == 1


def test_asking_too_often_is_refused_with_when_to_try_again(signed_in):
    for _ in range(data_copy.DATA_COPY_THROTTLE.limit):
        signed_in.post(REQUEST)
        run_worker()
    response = signed_in.post(REQUEST)
    assert response.status_code == 429
    assert "You can ask again in about 24 hours" in response.text
    assert DataCopy.objects.count() == data_copy.DATA_COPY_THROTTLE.limit


def test_the_wait_is_said_in_minutes_then_hours():
    assert data_copy.wait_words(1) == "1 minute"
    assert data_copy.wait_words(89) == "89 minutes"
    assert data_copy.wait_words(90) == "about 2 hours"
    assert data_copy.wait_words(1440) == "about 24 hours"


def test_the_request_page_needs_sign_in(db, client):
    response = client.post(REQUEST)
    assert response.status_code == 302 and response.url.startswith(reverse("sign-in"))
    assert not DataCopy.objects.exists()


def test_the_request_page_refuses_other_methods(signed_in):
    assert signed_in.put(REQUEST).status_code == 405


# --- The link --------------------------------------------------------------------------------


def test_the_link_downloads_once_as_an_attachment_never_stored(signed_in):
    path = ask_and_build(signed_in)
    response = signed_in.get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="your-data-')
    assert "no-store" in response["Cache-Control"]
    assert opened(response)
    copy = DataCopy.objects.get()
    assert copy.state == DataCopy.State.USED and bytes(copy.content) == b""

    again = signed_in.get(path)
    assert again.status_code == 410
    assert "This link was used" in again.text
    assert f'href="{REQUEST}"' in again.text


# The view's clock is moved, not the whole process's: the session would end too.
def test_the_link_expires_after_24_hours(signed_in, monkeypatch):
    path = ask_and_build(signed_in)
    copy = DataCopy.objects.get()
    at_the_end = copy.built_at + timedelta(hours=24)
    monkeypatch.setattr(views, "timezone", SimpleNamespace(now=lambda: at_the_end))
    response = signed_in.get(path)
    assert response.status_code == 410
    assert "This link has expired" in response.text
    copy = DataCopy.objects.get()
    assert copy.state == DataCopy.State.READY and bytes(copy.content) == b""


def test_the_link_works_up_to_its_last_second(signed_in, monkeypatch):
    path = ask_and_build(signed_in)
    copy = DataCopy.objects.get()
    later = copy.built_at + timedelta(hours=24) - timedelta(seconds=1)
    clock = SimpleNamespace(now=lambda: later, localtime=timezone.localtime)
    monkeypatch.setattr(views, "timezone", clock)
    response = signed_in.get(path)
    assert response.status_code == 200
    assert opened(response)


def test_an_expired_copy_is_blanked(signed_in):
    ask_and_build(signed_in)
    copy = DataCopy.objects.get()
    assert data_copy.prune_data_copies(now=copy.expires_at - timedelta(seconds=1)) == 0
    assert data_copy.prune_data_copies(now=copy.expires_at, dry_run=True) == 1
    assert bytes(DataCopy.objects.get().content) != b""
    assert data_copy.prune_data_copies(now=copy.expires_at) == 1
    assert bytes(DataCopy.objects.get().content) == b""
    assert data_copy.prune_data_copies(now=copy.expires_at) == 0


def test_prune_data_copies_blanks_only_expired_copies(signed_in, client_user, stranger):
    ask_and_build(signed_in)
    old = DataCopy.objects.get()
    DataCopy.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    fresh = data_copy.data_copy_request(client=stranger, actor=stranger)
    data_copy.build(fresh.pk)
    out = io.StringIO()
    call_command("prune_data_copies", "--dry-run", stdout=out)
    assert "1 expired copies of clients' data would be blanked" in out.getvalue()
    call_command("prune_data_copies", stdout=out)
    assert "1 expired copies of clients' data blanked" in out.getvalue()
    assert bytes(DataCopy.objects.get(pk=old.pk).content) == b""
    assert bytes(DataCopy.objects.get(pk=fresh.pk).content) != b""


def test_another_signed_in_user_gets_404(signed_in, stranger):
    path = ask_and_build(signed_in)
    other = Client()
    other.force_login(stranger)
    assert other.get(path).status_code == 404
    assert DataCopy.objects.get().state == DataCopy.State.READY


def test_staff_of_the_practice_get_404_too(signed_in, provider):
    path = ask_and_build(signed_in)
    other = Client()
    other.force_login(provider.user)
    assert other.get(path).status_code == 404


def test_signed_out_the_link_asks_to_sign_in_then_comes_back(signed_in, client):
    path = ask_and_build(signed_in)
    response = client.get(path)
    assert response.status_code == 302
    assert response.url == f"{reverse('sign-in')}?next={path}"
    assert DataCopy.objects.get().state == DataCopy.State.READY


@pytest.mark.parametrize(
    "token",
    ["x", "A" * 42, "A" * 44, "A" * 2000, "A" * 42 + "!", "Ä" * 43, "%2F" * 15, "..", "A" * 43],
)
def test_bad_tokens_are_404_never_500(signed_in, token):
    ask_and_build(signed_in)
    response = signed_in.get(f"/account/data/{token}/")
    assert response.status_code == 404


def test_the_link_refuses_post_and_head(signed_in):
    path = ask_and_build(signed_in)
    assert signed_in.post(path).status_code == 405
    # A HEAD (a link checker's, a browser's prefetch) must not use the link up.
    assert signed_in.head(path).status_code == 405
    assert DataCopy.objects.get().state == DataCopy.State.READY


# --- From the admin --------------------------------------------------------------------------


def admin_action(browser: Client, changelist: str, pk: int):
    return browser.post(
        reverse(changelist),
        {"action": "email_data_copy", "_selected_action": [pk]},
        follow=True,
    )


def test_the_care_team_emails_the_client_a_copy_and_it_is_logged(
    staff_browser, provider, client_user
):
    join_practice_staff(provider.user)
    member = provider.careteammember_set.get(client=client_user)
    response = admin_action(
        staff_browser(provider.user), "admin:appointments_careteammember_changelist", member.pk
    )
    assert "will be emailed to jordan@example.com" in response.text
    (entry,) = AuditEntry.objects.filter(action=Action.DATA_COPY)
    assert (entry.actor_id, entry.client_id, entry.actor_role, entry.practice_id) == (
        provider.user.pk,
        client_user.pk,
        Role.PROVIDER,
        provider.pk,
    )
    mail.outbox.clear()
    (message,) = sent_mail()
    assert message.to == [client_user.email]
    assert "Your practice asked" in message.body


def test_office_staff_of_the_care_team_may_ask_as_office_staff(provider, client_user):
    office = UserFactory(is_staff=True)
    OfficeStaff.objects.create(provider=provider, user=office)
    data_copy.data_copy_request(client=client_user, actor=office)
    assert AuditEntry.objects.get(action=Action.DATA_COPY).actor_role == Role.OFFICE_STAFF


def test_staff_not_of_the_clients_care_team_are_refused(provider, client_user):
    elsewhere = ProviderFactory()
    join_practice_staff(elsewhere.user)
    with pytest.raises(PermissionError):
        data_copy.data_copy_request(client=client_user, actor=elsewhere.user)
    assert not DataCopy.objects.exists()
    assert not AuditEntry.objects.filter(action=Action.DATA_COPY).exists()


def test_the_admin_action_of_another_practice_is_refused(staff_browser, provider, client_user):
    elsewhere = ProviderFactory()
    join_practice_staff(elsewhere.user)
    browser = staff_browser(elsewhere.user)
    member = provider.careteammember_set.get(client=client_user)
    # Another practice's client is not among their rows, so the action finds nobody.
    admin_action(browser, "admin:appointments_careteammember_changelist", member.pk)
    # And the users' page is the superusers'.
    response = admin_action(browser, "admin:portal_user_changelist", client_user.pk)
    assert response.status_code == 403
    assert not DataCopy.objects.exists()


def test_a_superuser_may_ask_from_the_users_page(staff_browser, client_user, stranger):
    admin = UserFactory(is_staff=True, is_superuser=True)
    response = admin_action(staff_browser(admin), "admin:portal_user_changelist", client_user.pk)
    assert "will be emailed to jordan@example.com" in response.text
    assert DataCopy.objects.get().user == client_user
    entry = AuditEntry.objects.get(action=Action.DATA_COPY)
    assert (entry.actor_id, entry.actor_role) == (admin.pk, Role.ADMINISTRATOR)


def test_a_client_cannot_ask_for_anothers_copy(client_user, stranger):
    with pytest.raises(PermissionError):
        data_copy.data_copy_request(client=stranger, actor=client_user)

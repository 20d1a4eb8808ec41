"""
The access log of the practice workspace: every page that shows a client's record, and every
change made to one, writes who, which client and records, what, when and from where, in the
one INSERT the middleware makes after the page answered.
"""

import json
import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.db import DatabaseError, connection
from django.db.models import Max
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appointments.models import (
    AppointmentSeries,
    CareTeamInvitation,
    CareTeamMember,
    Fee,
    OfficeStaff,
)
from portal.audit.models import Action, AuditEntry, Role
from portal.practice import join_practice_staff
from portal.sessions import session_handle
from tests.appointments.test_admin import practice
from tests.appointments.test_series_admin import book, first_day, series_url
from tests.appointments.test_waitlist_admin import practice_with_waitlist
from tests.appointments.test_week_view import at as week_at
from tests.factories import AppointmentFactory, UserFactory
from tests.portal.test_database_down import assert_unavailable

pytestmark = pytest.mark.django_db

ADDRESS = "203.0.113.7"


@pytest.fixture
def ours(client_user):
    return practice("Dr. Ours", client_user)


@pytest.fixture
def theirs(stranger):
    return practice("Dr. Theirs", stranger)


class Logged:
    """The entries written while the block ran, oldest first, with their bodies read."""

    def __enter__(self) -> "Logged":
        self.after = AuditEntry.objects.aggregate(last=Max("id"))["last"] or 0
        return self

    def __exit__(self, *exc) -> None:
        self.entries = list(AuditEntry.objects.filter(id__gt=self.after).order_by("id"))
        self.bodies = [json.loads(entry.body) for entry in self.entries]

    def one(self) -> tuple[AuditEntry, dict]:
        assert len(self.entries) == 1, [body["a"] for body in self.bodies]
        return self.entries[0], self.bodies[0]


def get(browser, url: str, **query):
    return browser.get(url, query, REMOTE_ADDR=ADDRESS)


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def record(obj) -> str:
    return f"{obj._meta.label_lower}:{obj.pk}"


# --- Opening a record --------------------------------------------------------------------------


def test_a_provider_opening_an_appointment_makes_exactly_one_entry_saying_everything(
    staff_browser, ours, client_user
):
    provider = ours["provider"]
    browser = staff_browser(provider.user)
    appointment = ours["appointment"]
    with Logged() as log:
        response = get(browser, change_url(appointment))
    assert response.status_code == 200
    entry, body = log.one()
    assert entry.action == Action.VIEWED
    assert entry.actor_id == provider.user.pk and entry.actor_role == Role.PROVIDER
    assert entry.practice_id == provider.pk and entry.client_id == client_user.pk
    assert entry.address == ADDRESS
    assert body["r"] == sorted([record(appointment), record(ours["fee"])])  # its fee is shown
    assert body["o"] == "admin"
    assert body["s"] == session_handle(browser.session.session_key)
    assert timezone.now() - entry.at < timedelta(minutes=1)


def test_office_staff_are_logged_as_office_staff(staff_browser, ours):
    staff = UserFactory(name="Alex Kim")
    OfficeStaff.objects.create(provider=ours["provider"], user=staff)
    join_practice_staff(staff)
    with Logged() as log:
        get(staff_browser(staff), change_url(ours["appointment"]))
    entry, _body = log.one()
    assert entry.actor_id == staff.pk and entry.actor_role == Role.OFFICE_STAFF
    assert entry.practice_id == ours["provider"].pk


def test_a_superuser_is_logged_as_administrator(staff_browser, ours):
    admin = UserFactory(is_superuser=True, is_staff=True)
    with Logged() as log:
        get(staff_browser(admin), change_url(ours["appointment"]))
    entry, _body = log.one()
    assert entry.actor_role == Role.ADMINISTRATOR and entry.practice_id == ours["provider"].pk


def test_a_superuser_who_is_the_provider_is_logged_as_the_provider(staff_browser, ours):
    user = ours["provider"].user
    user.is_superuser = True
    user.save()
    with Logged() as log:
        get(staff_browser(user), change_url(ours["appointment"]))
    assert log.one()[0].actor_role == Role.PROVIDER


def each_record_page(ours, client_user):
    """(object, what its page logs under records) for each admin that shows one record."""
    invitation = CareTeamInvitation.objects.create(
        provider=ours["provider"],
        email=client_user.email,
        status=CareTeamInvitation.Status.ACCEPTED,
        client=client_user,
    )
    series = book(ours["provider"], client_user, ours["appointment"].appointment_type, count=2)
    return [
        ours["appointment"],
        ours["fee"],
        ours["member"],
        invitation,
        series,
    ]


def test_each_record_page_makes_exactly_one_entry_for_its_client(staff_browser, ours, client_user):
    browser = staff_browser(ours["provider"].user)
    for obj in each_record_page(ours, client_user):
        with Logged() as log:
            assert get(browser, change_url(obj)).status_code == 200, obj
        entry, body = log.one()
        assert (entry.action, entry.client_id, entry.practice_id) == (
            Action.VIEWED,
            client_user.pk,
            ours["provider"].pk,
        ), obj
        # An appointment's page lists its fees, a series' page its sessions.
        listed = {
            "appointment": [ours["fee"]],
            "appointmentseries": list(getattr(obj, "sessions", Fee.objects.none()).all()),
        }.get(obj._meta.model_name, [])
        assert body["r"] == sorted(record(each) for each in [obj, *listed]), obj


def test_a_waitlist_entry_page_makes_one_entry(staff_browser):
    waiting = practice_with_waitlist("Dr. Waits")
    entry = waiting["entry"]
    with Logged() as log:
        get(staff_browser(waiting["provider"].user), change_url(entry))
    logged, body = log.one()
    assert logged.client_id == entry.client_id and logged.practice_id == waiting["provider"].pk
    assert body["r"] == [record(entry)]


def test_a_conversation_logs_the_conversation_and_each_message_shown_in_one_entry(
    staff_browser, ours, client_user
):
    from chat.services import message_send

    conversation = ours["conversation"]
    sent = message_send(
        conversation=conversation, sender=client_user, body="Hello", client_key=uuid.uuid4()
    )
    with Logged() as log:
        get(staff_browser(ours["provider"].user), change_url(conversation))
    entry, body = log.one()
    assert entry.client_id == client_user.pk and entry.practice_id == ours["provider"].pk
    assert body["r"] == sorted([record(conversation), record(sent)])


def test_the_history_page_is_logged_as_the_history_viewed(staff_browser, ours, client_user):
    url = reverse("admin:appointments_appointment_history", args=[ours["appointment"].pk])
    with Logged() as log:
        assert get(staff_browser(ours["provider"].user), url).status_code == 200
    entry, body = log.one()
    assert entry.action == Action.VIEWED_HISTORY and entry.client_id == client_user.pk
    assert body["r"] == [record(ours["appointment"])]


def test_pages_of_no_client_log_nothing(staff_browser, ours):
    browser = staff_browser(ours["provider"].user)
    with Logged() as log:
        get(browser, change_url(ours["policy"]))
        get(browser, reverse("admin:appointments_policy_changelist"))
        get(browser, reverse("admin:appointments_provider_changelist"))
    assert log.entries == []


def test_the_practice_profile_logs_the_care_team_it_lists(staff_browser, ours, client_user):
    with Logged() as log:
        get(staff_browser(ours["provider"].user), change_url(ours["provider"]))
    entry, body = log.one()
    assert (entry.action, entry.client_id, entry.practice_id) == (
        Action.LISTED,
        client_user.pk,
        ours["provider"].pk,
    )
    assert body["r"] == [record(ours["member"])]


# --- What is not shown is not logged --------------------------------------------------------------


def test_another_practices_record_is_not_found_and_not_logged(staff_browser, ours, theirs):
    browser = staff_browser(ours["provider"].user)
    with Logged() as log:
        for key in ["appointment", "fee", "member", "conversation"]:
            assert get(browser, change_url(theirs[key])).status_code == 302
        url = reverse("admin:appointments_appointment_history", args=[theirs["appointment"].pk])
        get(browser, url)
        get(browser, reverse("admin:appointment-cancel", args=[theirs["appointment"].pk]))
    assert log.entries == []


def test_a_refused_page_logs_nothing(staff_browser, ours):
    browser = staff_browser(ours["provider"].user)
    with Logged() as log:
        # Appointments are never deleted: the page is refused before anything is shown.
        url = reverse("admin:appointments_appointment_delete", args=[ours["appointment"].pk])
        assert get(browser, url).status_code == 403
        bad = get(browser, reverse("admin:appointments_appointment_changelist"), start__year="x")
        assert bad.status_code == 400
    assert log.entries == []


# The 503 closes the connection, as it does for a database that is down.
@pytest.mark.django_db(transaction=True)
def test_when_the_log_cannot_be_written_the_page_is_withheld(staff_browser, ours, client_user):
    browser = staff_browser(ours["provider"].user)
    failing = mock.patch("portal.audit.buffer.record_entries", side_effect=DatabaseError("full"))
    with Logged() as log, failing:
        response = get(browser, change_url(ours["appointment"]))
    assert_unavailable(response)
    assert client_user.get_full_name() not in response.content.decode()
    assert log.entries == []


# --- Lists ------------------------------------------------------------------------------------


def appointments_of(provider, kind, clients: int) -> list:
    """An appointment for each of `clients` new clients of the practice, from tomorrow on."""
    people = []
    for index in range(clients):
        person = UserFactory()
        CareTeamMember.objects.create(provider=provider, client=person)
        AppointmentFactory(
            appointment_type=kind,
            client=person,
            start=timezone.now() + timedelta(days=1, hours=index),
        )
        people.append(person)
    return people


def inserts_into_the_log(queries) -> int:
    return sum('INSERT INTO "audit_entry"' in query["sql"] for query in queries.captured_queries)


@pytest.mark.parametrize("clients", [3, 30])
def test_a_list_writes_one_entry_per_client_in_one_insert(staff_browser, ours, clients):
    provider = ours["provider"]
    browser = staff_browser(provider.user)
    appointments_of(provider, ours["appointment"].appointment_type, clients - 1)
    url = reverse("admin:appointments_appointment_changelist")
    get(browser, url)
    with mock.patch("portal.audit.buffer.note"), CaptureQueriesContext(connection) as unlogged:
        get(browser, url)
    with Logged() as log, CaptureQueriesContext(connection) as logged:
        get(browser, url)
    assert len(logged) == len(unlogged) + 1
    assert inserts_into_the_log(logged) == 1
    assert len(log.entries) == clients  # the client of the fixture has one upcoming too
    assert {entry.action for entry in log.entries} == {Action.LISTED}
    assert len({entry.client_id for entry in log.entries}) == clients


def test_a_clients_rows_on_a_list_are_one_entry_naming_each(staff_browser, ours, client_user):
    kind = ours["appointment"].appointment_type
    later = AppointmentFactory(
        appointment_type=kind, client=client_user, start=timezone.now() + timedelta(days=9)
    )
    url = reverse("admin:appointments_appointment_changelist") + "?when=all"
    with Logged() as log:
        get(staff_browser(ours["provider"].user), url)
    entry, body = log.one()
    assert entry.client_id == client_user.pk
    assert body["r"] == sorted(record(each) for each in [ours["appointment"], ours["past"], later])


@pytest.mark.parametrize(
    "name",
    [
        "appointments_appointment",
        "appointments_fee",
        "appointments_careteammember",
        "appointments_appointmentseries",
        "chat_conversation",
    ],
)
def test_each_list_of_client_rows_is_logged(staff_browser, ours, client_user, name):
    book(ours["provider"], client_user, ours["appointment"].appointment_type, count=2)
    with Logged() as log:
        get(staff_browser(ours["provider"].user), reverse(f"admin:{name}_changelist"))
    entry, _body = log.one()
    assert entry.action == Action.LISTED and entry.client_id == client_user.pk
    assert entry.practice_id == ours["provider"].pk


def test_the_fee_list_costs_one_query_more_for_its_log_however_many_fees(
    staff_browser, ours, client_user
):
    browser = staff_browser(ours["provider"].user)
    url = reverse("admin:appointments_fee_changelist")
    for person in appointments_of(ours["provider"], ours["appointment"].appointment_type, 5):
        Fee.objects.create(
            appointment=person.appointments.get(), kind="no_show", amount=10, currency="USD"
        )
    get(browser, url)
    with mock.patch("portal.audit.buffer.note"), CaptureQueriesContext(connection) as unlogged:
        get(browser, url)
    with Logged() as log, CaptureQueriesContext(connection) as logged:
        get(browser, url)
    assert len(logged) == len(unlogged) + 1
    assert len(log.entries) == 6


# --- The week -------------------------------------------------------------------------------


def test_the_week_logs_one_entry_per_client_naming_their_appointments(staff_browser, ours):
    provider = ours["provider"]
    kind = ours["appointment"].appointment_type
    monday = "2026-06-01"
    first, second = UserFactory(), UserFactory()
    one = AppointmentFactory(appointment_type=kind, client=first, start=week_at(monday, "10:00"))
    two = AppointmentFactory(appointment_type=kind, client=first, start=week_at(monday, "12:00"))
    three = AppointmentFactory(
        appointment_type=kind, client=second, start=week_at("2026-06-02", "10:00")
    )
    with Logged() as log:
        response = get(staff_browser(provider.user), reverse("admin:index"), week=monday)
    assert "’s week</h1>" in response.text
    by_client = {entry.client_id: body for entry, body in zip(log.entries, log.bodies, strict=True)}
    assert set(by_client) == {first.pk, second.pk}
    assert by_client[first.pk]["r"] == sorted([record(one), record(two)])
    assert by_client[second.pk]["r"] == [record(three)]
    assert {(entry.action, entry.practice_id) for entry in log.entries} == {
        (Action.LISTED, provider.pk)
    }


# --- Changes --------------------------------------------------------------------------------


def test_an_admin_action_is_logged_by_name_for_each_client_it_touched(
    staff_browser, ours, client_user
):
    other = appointments_of(ours["provider"], ours["appointment"].appointment_type, 1)[0]
    theirs_fee = Fee.objects.create(
        appointment=other.appointments.get(), kind="no_show", amount=10, currency="USD"
    )
    browser = staff_browser(ours["provider"].user)
    with Logged() as log:
        response = browser.post(
            reverse("admin:appointments_fee_changelist"),
            {"action": "waive", "_selected_action": [ours["fee"].pk, theirs_fee.pk]},
            REMOTE_ADDR=ADDRESS,
        )
    assert response.status_code == 302
    assert {(entry.action, entry.client_id) for entry in log.entries} == {
        (Action.ADMIN_ACTION, client_user.pk),
        (Action.ADMIN_ACTION, other.pk),
    }
    assert {body["d"] for body in log.bodies} == {"waive"}
    assert {entry.address for entry in log.entries} == {ADDRESS}


def test_cancelling_for_a_client_is_logged_as_a_change(staff_browser, ours, client_user):
    appointment = ours["appointment"]
    url = reverse("admin:appointment-cancel", args=[appointment.pk])
    browser = staff_browser(ours["provider"].user)
    with Logged() as shown:
        get(browser, url)
    assert shown.one()[0].action == Action.VIEWED
    with Logged() as log:
        response = browser.post(
            url, {"reason": "Ill", "expected_start": appointment.start.isoformat()}
        )
    assert response.status_code == 302
    entry, body = log.one()
    assert entry.action == Action.CHANGED and entry.client_id == client_user.pk
    assert body["d"] == "cancelled on the client's behalf" and body["r"] == [record(appointment)]


def test_settling_a_fee_is_logged_as_a_change(staff_browser, ours, client_user):
    url = reverse("admin:fee-waive", args=[ours["fee"].pk])
    with Logged() as log:
        staff_browser(ours["provider"].user).post(url)
    entry, body = log.one()
    assert (entry.action, entry.client_id, body["d"]) == (
        Action.CHANGED,
        client_user.pk,
        "fee waived",
    )


def test_a_reply_to_a_client_is_logged_as_a_change(staff_browser, ours, client_user):
    conversation = ours["conversation"]
    with Logged() as log:
        staff_browser(ours["provider"].user).post(
            change_url(conversation), {"body": "See you then", "client_key": uuid.uuid4()}
        )
    entry, body = log.one()
    assert (entry.action, entry.client_id, body["d"]) == (Action.CHANGED, client_user.pk, "replied")


def test_ending_a_series_is_logged_with_what_changed(staff_browser, ours, client_user):
    # Two weeks: the practice of the fixture has a day off in three.
    series = book(ours["provider"], client_user, ours["appointment"].appointment_type, count=2)
    day = first_day(ours["provider"])
    with Logged() as log:
        staff_browser(ours["provider"].user).post(
            reverse("admin:series-end", args=[series.pk]), {"from": day.isoformat()}
        )
    entry, body = log.one()
    assert entry.action == Action.CHANGED and entry.client_id == client_user.pk
    assert body["d"] == f"ended from {day.isoformat()}: 2 sessions cancelled"
    assert AppointmentSeries.objects.get(pk=series.pk).stopped_from == day


def test_removing_a_client_from_the_care_team_is_logged(staff_browser, ours, client_user):
    member = ours["member"]
    url = reverse("admin:appointments_careteammember_delete", args=[member.pk])
    browser = staff_browser(ours["provider"].user)
    with Logged() as asked:
        get(browser, url)
    assert asked.one()[0].action == Action.VIEWED
    with Logged() as log:
        assert browser.post(url, {"post": "yes"}).status_code == 302
    entry, body = log.one()
    assert (entry.action, entry.client_id, body["d"]) == (Action.CHANGED, client_user.pk, "deleted")


def test_a_record_page_costs_one_query_more_for_its_log(staff_browser, ours):
    browser = staff_browser(ours["provider"].user)
    url = change_url(ours["appointment"])
    get(browser, url)
    with mock.patch("portal.audit.buffer.note"), CaptureQueriesContext(connection) as unlogged:
        get(browser, url)
    with CaptureQueriesContext(connection) as logged:
        get(browser, url)
    assert len(logged) == len(unlogged) + 1
    assert inserts_into_the_log(logged) == 1


def test_removing_clients_with_the_list_action_is_one_entry_each_naming_the_action(
    staff_browser, ours, client_user
):
    other = appointments_of(ours["provider"], ours["appointment"].appointment_type, 1)[0]
    members = CareTeamMember.objects.filter(provider=ours["provider"])
    browser = staff_browser(ours["provider"].user)
    form = {"action": "delete_selected", "_selected_action": [m.pk for m in members]}
    with Logged() as asked:
        assert browser.post(reverse("admin:appointments_careteammember_changelist"), form)
    assert asked.entries == []  # the confirmation lists what the list had shown
    with Logged() as log:
        browser.post(reverse("admin:appointments_careteammember_changelist"), {**form, "post": "1"})
    assert not CareTeamMember.objects.filter(provider=ours["provider"]).exists()
    assert sorted((entry.action, entry.client_id) for entry in log.entries) == sorted(
        [(Action.ADMIN_ACTION, client_user.pk), (Action.ADMIN_ACTION, other.pk)]
    )
    assert {body["d"] for body in log.bodies} == {"delete_selected"}


def test_moving_an_appointment_for_a_client_is_logged_with_both_times(
    staff_browser, ours, client_user
):
    from appointments import selectors

    appointment = ours["appointment"]
    was = appointment.start
    new = [
        start
        for start in selectors.open_slots(
            provider=ours["provider"],
            appointment_type=appointment.appointment_type,
            client=client_user,
            now=timezone.now(),
            exclude_appointment=appointment,
        )
        if start != was
    ][0]
    url = reverse("admin:appointment-reschedule", args=[appointment.pk])
    with Logged() as log:
        response = staff_browser(ours["provider"].user).post(
            url, {"start": new.isoformat(), "expected_start": was.isoformat()}
        )
    assert response.status_code == 302
    entry, body = log.one()
    assert entry.action == Action.CHANGED and entry.client_id == client_user.pk
    assert body["d"] == f"moved from {was.isoformat()} to {new.isoformat()}"


def test_booking_a_series_for_a_client_is_logged_as_a_change(
    staff_browser, provider, client_user, session_type
):
    from tests.appointments.test_series_admin import at, rule_url

    join_practice_staff(provider.user)
    start = at(provider, first_day(provider))
    url = rule_url(client_user, session_type, start, repeat="weekly", ends="count", count=3)
    with Logged() as log:
        response = staff_browser(provider.user).post(
            url, {"start": start.isoformat(), "repeat": "weekly", "ends": "count", "count": 3}
        )
    assert response.status_code == 302, response.content[:1000]
    entry, body = log.one()
    series = AppointmentSeries.objects.get(client=client_user)
    assert (entry.action, entry.client_id, entry.practice_id) == (
        Action.CHANGED,
        client_user.pk,
        provider.pk,
    )
    assert body["d"] == "booked a series of 3 sessions" and body["r"] == [record(series)]


def test_a_series_step_page_is_the_series_viewed(staff_browser, ours, client_user):
    series = book(ours["provider"], client_user, ours["appointment"].appointment_type, count=2)
    with Logged() as log:
        response = get(staff_browser(ours["provider"].user), series_url(series, "change-time"))
    assert response.status_code == 200
    entry, body = log.one()
    assert (entry.action, entry.client_id) == (Action.VIEWED, client_user.pk)
    assert body["r"] == [record(series)]


def test_a_superusers_list_costs_the_insert_and_one_read_of_their_own_practices(
    staff_browser, ours, theirs
):
    browser = staff_browser(UserFactory(is_superuser=True, is_staff=True))
    url = reverse("admin:appointments_appointment_changelist")
    get(browser, url)
    nothing = mock.patch("portal.audit.admin_pages.listed_entries", return_value=[])
    with nothing, CaptureQueriesContext(connection) as unlogged:
        get(browser, url)
    with Logged() as log, CaptureQueriesContext(connection) as logged:
        get(browser, url)
    # Whether they are a provider or office staff of a practice is read once for the page:
    # their practice rows, which every page of other staff reads anyway, are every practice.
    assert len(logged) == len(unlogged) + 2
    assert {(entry.practice_id, entry.actor_role) for entry in log.entries} == {
        (ours["provider"].pk, Role.ADMINISTRATOR),
        (theirs["provider"].pk, Role.ADMINISTRATOR),
    }

"""
A series' emails: one to the client and one to the provider per change to the series as a
whole, never one per session, written once by the real worker however often its task runs,
each with the series' calendar file; and a single session's own emails, which change that one
date of the series in calendars.
"""

import uuid
from datetime import date, time, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from icalendar import Calendar

from appointments import series_emails
from appointments.models import AppointmentSeries, SeriesChange
from appointments.series import (
    series_cancel_following,
    series_change_time,
    series_end,
    series_extend,
    series_skip,
)
from appointments.series_emails import unwritten_series_changes, write_series_emails
from appointments.services import appointment_reschedule
from portal.models import Email
from tests.appointments import test_series as setup
from tests.factories import AppointmentFactory
from tests.tasks import run_worker, sent_mail

pytestmark = pytest.mark.django_db

now = setup.now
evening = setup.evening
weekly_type = setup.weekly_type
late_fee_policy = setup.late_fee_policy
at = setup.at
book_series = setup.book_series
PROVIDER = "dr.okafor@example.com"


@pytest.fixture(autouse=True)
def provider_email(evening):
    evening.user.email = PROVIDER
    evening.user.save()


@pytest.fixture
def booked(client_user, evening, weekly_type, now):
    """Six Tuesdays at 5 PM in Chicago (6 PM for the client in New York) from 3 Nov 2026."""
    return book_series(
        client_user, evening, weekly_type, at(evening, date(2026, 11, 3)), now, count=6
    )


def to(address: str) -> list:
    return [message for message in sent_mail() if message.to == [address]]


def calendars(message) -> list[Calendar]:
    return [Calendar.from_ical(content) for _, content, _ in message.attachments]


def method_and_uid(message) -> list[tuple[str, str]]:
    return [
        (str(calendar["METHOD"]), str(calendar.walk("VEVENT")[0]["UID"]))
        for calendar in calendars(message)
    ]


def test_booking_a_series_sends_two_emails_not_one_per_session(booked, client_user):
    messages = sent_mail()
    assert sorted(m.to[0] for m in messages) == sorted([client_user.email, PROVIDER])
    assert len(booked.sessions) == 6
    uid = booked.series.calendar_uid
    for message in messages:
        assert method_and_uid(message) == [("REQUEST", uid)]
        assert "method=REQUEST" in message.attachments[0][2]


def test_the_client_reads_the_dates_in_their_zone_and_the_provider_in_theirs(booked, client_user):
    (to_client,) = to(client_user.email)
    assert to_client.subject == "Your sessions every week from Tue 3 Nov, 6:00 PM (EST) are booked"
    assert "Your sessions with Dr. Maya Okafor are booked, every week:" in to_client.body
    assert "  Tuesday 3 November 2026, 6:00 PM EST\n" in to_client.body
    assert "  Tuesday 8 December 2026, 6:00 PM EST\n" in to_client.body
    assert "left out" not in to_client.body
    assert "/appointments/" in to_client.body
    (to_provider,) = to(PROVIDER)
    assert to_provider.subject == "New series: Jordan Lee, every week from Tue 3 Nov, 5:00 PM (CST)"
    assert "Jordan Lee has sessions with you, every week:" in to_provider.body
    assert "  Tuesday 3 November 2026, 5:00 PM CST\n" in to_provider.body
    first = booked.sessions[0]
    assert f"/admin/appointments/appointment/{first.pk}/change/" in to_provider.body
    html = to_client.alternatives[0][0]
    assert "<li><strong>Tuesday 3 November 2026, 6:00 PM EST</strong></li>" in html


def test_running_the_task_twice_writes_two_emails(booked):
    change = SeriesChange.objects.get()
    assert write_series_emails.call(change.pk) == 2
    assert write_series_emails.call(change.pk) == 0
    assert len(sent_mail()) == 2  # the task the booking queued wrote nothing more
    assert run_worker() == 0 and len(sent_mail()) == 2
    assert set(Email.objects.values_list("key", flat=True)) == {
        uuid.uuid5(change.email_seed, "client"),
        uuid.uuid5(change.email_seed, "provider"),
    }


def test_a_worker_dying_between_the_two_emails_loses_neither(booked, client_user, monkeypatch):
    change = SeriesChange.objects.get()
    real = series_emails.queue_email

    def dies_on_the_second(name, context, **options):
        if options["to"] == PROVIDER:
            raise SystemExit("killed")
        return real(name, context, **options)

    monkeypatch.setattr(series_emails, "queue_email", dies_on_the_second)
    with pytest.raises(SystemExit):
        write_series_emails.call(change.pk)
    assert not Email.objects.exists()  # the client's went with the transaction
    monkeypatch.undo()
    assert sorted(m.to[0] for m in sent_mail()) == sorted([client_user.email, PROVIDER])


def test_a_series_change_whose_task_was_lost_is_written_by_requeue_lost_work(booked):
    DBTaskResult.objects.update(status="RUNNING")  # the worker died holding the task
    changes = SeriesChange.objects.all()
    changes.update(at=timezone.now() - timedelta(minutes=5))
    assert unwritten_series_changes(timezone.now()) == []  # it may still be running
    changes.update(at=timezone.now() - timedelta(minutes=20))
    assert unwritten_series_changes(timezone.now()) == [booked.series.changes.get().pk]
    out = StringIO()
    call_command("requeue_lost_work", stdout=out)
    assert "1 series change with unwritten emails queued again." in out.getvalue()
    assert len(sent_mail()) == 2
    assert unwritten_series_changes(timezone.now()) == []


def test_dates_left_out_at_booking_are_listed_with_the_reason(
    client_user, evening, weekly_type, now
):
    AppointmentFactory(
        provider=evening, appointment_type=weekly_type, start=at(evening, date(2026, 11, 17))
    )
    book_series(
        client_user,
        evening,
        weekly_type,
        at(evening, date(2026, 11, 3)),
        now,
        count=4,
        skip={date(2026, 11, 17), date(2026, 11, 24)},
    )
    (to_client,) = to(client_user.email)
    assert "These dates are left out:\n" in to_client.body
    assert "  Tuesday 17 November 2026: already booked\n" in to_client.body
    assert "  Tuesday 24 November 2026: left out when the series was booked\n" in to_client.body
    (calendar,) = calendars(to_client)
    assert len(calendar.walk("VEVENT")[0]["EXDATE"].dts) == 2


def test_ending_the_night_before_lists_what_each_session_cost(
    late_fee_policy, booked, client_user, evening
):
    sent_mail()
    night_before = at(evening, date(2026, 11, 2), time(20, 0))
    series_cancel_following(appointment=booked.sessions[0], actor=client_user, now=night_before)
    new = [m for m in sent_mail()[2:]]
    assert sorted(m.to[0] for m in new) == sorted([client_user.email, PROVIDER])
    to_client = next(m for m in new if m.to == [client_user.email])
    assert to_client.subject == "Your sessions with Dr. Maya Okafor are cancelled"
    assert "You cancelled your sessions with Dr. Maya Okafor (every week): none is left." in (
        to_client.body
    )
    assert "  Tuesday 3 November 2026, 6:00 PM EST: late-cancellation fee of $40\n" in (
        to_client.body
    )
    assert "  Tuesday 10 November 2026, 6:00 PM EST: no fee\n" in to_client.body
    assert method_and_uid(to_client) == [("CANCEL", booked.series.calendar_uid)]
    assert "method=CANCEL" in to_client.attachments[0][2]
    to_provider = next(m for m in new if m.to == [PROVIDER])
    assert to_provider.subject == "Series ended: Jordan Lee"
    assert "Jordan Lee cancelled their sessions with you (every week): none is left." in (
        to_provider.body
    )
    assert "  Tuesday 3 November 2026, 5:00 PM CST: late-cancellation fee of $40\n" in (
        to_provider.body
    )


def test_ending_from_a_date_keeps_the_series_until_then(booked, client_user, evening, now):
    sent_mail()
    series_end(series=booked.series, actor=evening.user, from_day=date(2026, 11, 24), now=now)
    to_client = to(client_user.email)[-1]
    assert to_client.subject == "Your sessions from Tue 24 Nov are cancelled"
    assert (
        "Dr. Maya Okafor cancelled your sessions (every week) from Tuesday 24 November 2026.\n"
        in to_client.body
    )
    assert "  Tuesday 24 November 2026, 6:00 PM EST\n" in to_client.body
    assert "fee" not in to_client.body  # the practice ended it: nothing is charged
    ((method, uid),) = method_and_uid(to_client)
    assert (method, uid) == ("REQUEST", booked.series.calendar_uid)
    rule = calendars(to_client)[0].walk("VEVENT")[0]["RRULE"]
    assert rule.to_ical() == b"FREQ=WEEKLY;UNTIL=20261117T230000Z"
    assert to(PROVIDER)[-1].subject == "Series ended: Jordan Lee, from Tue 24 Nov"
    assert len(sent_mail()) == 4


def test_a_changed_time_sends_both_files_in_one_email_each(booked, client_user, evening, now):
    sent_mail()
    new = series_change_time(
        series=booked.series,
        actor=evening.user,
        from_day=date(2026, 11, 24),
        new_first_start=at(evening, date(2026, 11, 26), time(10, 0)),
        now=now,
    )
    assert len(sent_mail()) == 4
    to_client = to(client_user.email)[-1]
    assert method_and_uid(to_client) == [
        ("REQUEST", booked.series.calendar_uid),
        ("REQUEST", new.calendar_uid),
    ]
    assert to_client.subject == "Your sessions move to Thu 26 Nov, 11:00 AM (EST)"
    assert "Your sessions with Dr. Maya Okafor have a new time from Tuesday 24 November" in (
        to_client.body
    )
    assert (
        "  from Tuesday 24 November 2026, 6:00 PM EST\n"
        "  to   Thursday 26 November 2026, 11:00 AM EST\n" in to_client.body
    )
    to_provider = to(PROVIDER)[-1]
    assert to_provider.subject == (
        "Series moved: Jordan Lee is now every week from Thu 26 Nov, 10:00 AM (CST)"
    )
    first_new = new.sessions.order_by("start").first()
    assert f"/admin/appointments/appointment/{first_new.pk}/change/" in to_provider.body


def test_a_date_found_taken_when_extending_is_told_once(client_user, evening, weekly_type, now):
    evening.horizon_days = 30
    evening.save()
    booked = book_series(
        client_user,
        evening,
        weekly_type,
        at(evening, date(2026, 11, 3)),
        now,
        end=setup.SeriesEnd(),
    )
    AppointmentFactory(
        provider=evening, appointment_type=weekly_type, start=at(evening, date(2026, 12, 8))
    )
    series_extend(booked.series, now + timedelta(days=14))
    assert len(sent_mail()) == 4
    to_client = to(client_user.email)[-1]
    assert to_client.subject == "A date of your sessions with Dr. Maya Okafor could not be booked"
    assert "  Tuesday 8 December 2026, 6:00 PM EST: already booked\n" in to_client.body
    assert "Newly booked:\n\n  Tuesday 15 December 2026, 6:00 PM EST\n" in to_client.body
    (calendar,) = calendars(to_client)
    master = calendar.walk("VEVENT")[0]
    assert master["SEQUENCE"] == 1
    assert [each.dt for each in master["EXDATE"].dts] == [at(evening, date(2026, 12, 8))]
    series_extend(booked.series, now + timedelta(days=14))
    assert len(sent_mail()) == 4  # nothing new, nothing said


# --- One session of a series -----------------------------------------------------------------


def test_skipping_a_date_cancels_that_date_of_the_series_in_calendars(
    booked, client_user, evening, now
):
    sent_mail()
    series_skip(series=booked.series, actor=evening.user, day=date(2026, 11, 17), now=now)
    new = sent_mail()[2:]
    assert len(new) == 2
    for message in new:
        (calendar,) = calendars(message)
        (event,) = calendar.walk("VEVENT")
        assert str(calendar["METHOD"]) == "CANCEL"
        assert str(event["UID"]) == booked.series.calendar_uid
        assert event.decoded("RECURRENCE-ID") == at(evening, date(2026, 11, 17))
        assert str(event["STATUS"]) == "CANCELLED"


def test_moving_one_session_moves_that_date_of_the_series(booked, client_user, evening, now):
    sent_mail()
    second = booked.sessions[1]
    appointment_reschedule(
        appointment=second,
        actor=client_user,
        new_start=at(evening, date(2026, 11, 11), time(10, 0)),
        now=now,
    )
    to_client = to(client_user.email)[-1]
    (calendar,) = calendars(to_client)
    (event,) = calendar.walk("VEVENT")
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == booked.series.calendar_uid
    assert event.decoded("RECURRENCE-ID") == at(evening, date(2026, 11, 10))
    assert event.decoded("DTSTART") == at(evening, date(2026, 11, 11), time(10, 0))
    assert event["SEQUENCE"] == 1
    assert "has moved" in to_client.body


def test_a_moves_email_written_after_the_series_time_changed_updates_the_old_series(
    booked, client_user, evening, now
):
    sent_mail()
    fourth = booked.sessions[3]
    appointment_reschedule(
        appointment=fourth,
        actor=client_user,
        new_start=at(evening, date(2026, 11, 25), time(10, 0)),
        now=now,
    )
    # Before the worker writes the move's emails, the practice changes the series' time: the
    # session goes to the series that continues it.
    new = series_change_time(
        series=booked.series,
        actor=evening.user,
        from_day=date(2026, 11, 24),
        new_first_start=at(evening, date(2026, 11, 26), time(10, 0)),
        now=now,
    )
    fourth.refresh_from_db()
    assert fourth.series == new
    moved_email = next(m for m in to(client_user.email) if "has moved" in m.body)
    (event,) = calendars(moved_email)[0].walk("VEVENT")
    assert str(event["UID"]) == booked.series.calendar_uid
    assert event.decoded("RECURRENCE-ID") == at(evening, date(2026, 11, 24))
    assert AppointmentSeries.objects.count() == 2


def test_the_series_emails_are_registered_with_requeue_lost_work():
    from portal.mail import LOST_EMAIL_WORK

    assert series_emails.requeue_unwritten_series in LOST_EMAIL_WORK

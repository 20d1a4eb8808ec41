"""
The practice's side of recurring series in the workspace: booked with the day-and-time picker
and a preview of every date, listed and read on its own page, ended, skipped and moved from a
date through the series services, and shown on each of its sessions.
"""

import csv
import io
import re
from datetime import date, datetime, time, timedelta
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appointments.models import (
    Appointment,
    AppointmentEvent,
    AppointmentSeries,
    CareTeamMember,
    SeriesChange,
)
from appointments.recurrence import Repeat
from appointments.series import SeriesEnd, series_book
from portal.practice import PRACTICE_STAFF_GROUP, join_practice_staff
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    ProviderFactory,
    UserFactory,
    give_hours,
)

pytestmark = pytest.mark.django_db

TEN = time(10, 0)


@pytest.fixture
def ours(provider, session_type):
    """The Chicago practice of conftest, its provider in the workspace, a year of horizon."""
    provider.horizon_days = 400
    provider.save()
    join_practice_staff(provider.user)
    return provider


@pytest.fixture
def theirs(stranger):
    other = ProviderFactory(display_name="Dr. Theirs", time_zone="America/Chicago")
    give_hours(other)
    join_practice_staff(other.user)
    CareTeamMember.objects.create(provider=other, client=stranger)
    AppointmentTypeFactory(provider=other, name="Their session")
    return other


@pytest.fixture
def browser(staff_browser, ours):
    return staff_browser(ours.user)


def first_day(provider) -> date:
    """A day a week from now on the provider's clock: far enough for any notice."""
    return timezone.now().astimezone(provider.zone).date() + timedelta(days=7)


def at(provider, day: date, clock: time = TEN) -> datetime:
    return datetime.combine(day, clock, tzinfo=provider.zone)


def book(provider, client, kind, *, count=4, first=None, **options) -> AppointmentSeries:
    return series_book(
        client=client,
        provider=provider,
        appointment_type=kind,
        first_start=first or at(provider, first_day(provider)),
        repeat=options.pop("repeat", Repeat.WEEKLY),
        end=options.pop("end", SeriesEnd(count=count)),
        booked_by=provider.user,
        **options,
    ).series


def pick_url(client, kind) -> str:
    return reverse("admin:series-pick", args=[client.pk, kind.pk])


def rule_url(client, kind, start: datetime, **rule) -> str:
    query = f"?start={quote(start.isoformat())}"
    query += "".join(f"&{name}={quote(str(value))}" for name, value in rule.items())
    return reverse("admin:series-rule", args=[client.pk, kind.pk]) + query


def series_url(series, page="change") -> str:
    if page == "change":
        return reverse("admin:appointments_appointmentseries_change", args=[series.pk])
    return reverse(f"admin:series-{page}", args=[series.pk])


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- Booking a series ----------------------------------------------------------------------


def test_a_series_is_booked_who_then_the_picker_then_the_rule_then_the_preview(
    browser, ours, client_user, session_type
):
    add = reverse("admin:appointments_appointmentseries_add")
    page = browser.get(add)
    assert page.status_code == 200
    assert "Jordan Lee (jordan@example.com)" in page.text and "Therapy session" in page.text

    chosen = browser.get(add, {"client": client_user.pk, "appointment_type": session_type.pk})
    assert chosen.status_code == 302 and chosen.url == pick_url(client_user, session_type)

    picker = browser.get(pick_url(client_user, session_type))
    assert picker.status_code == 200 and "Pick a day" in picker.text
    assert reverse("admin:series-rule", args=[client_user.pk, session_type.pk]) in picker.text

    start = at(ours, first_day(ours))
    form = browser.get(rule_url(client_user, session_type, start))
    assert form.status_code == 200 and 'name="repeat"' in form.text and 'name="count"' in form.text

    preview = browser.get(
        rule_url(client_user, session_type, start, repeat="weekly", ends="count", count=4)
    )
    assert preview.status_code == 200
    days = [first_day(ours) + timedelta(weeks=n) for n in range(4)]
    for day in days:
        assert day.strftime("%a %-d %b %Y") in preview.text
    assert "10:00 AM" in preview.text and "Every week on" in preview.text
    assert not AppointmentSeries.objects.exists()  # nothing is saved before the confirm

    booked = browser.post(
        reverse("admin:series-rule", args=[client_user.pk, session_type.pk]),
        {"start": start.isoformat(), "repeat": "weekly", "ends": "count", "count": "4"},
    )
    series = AppointmentSeries.objects.get()
    assert booked.status_code == 302 and booked.url == series_url(series)
    assert series.booked_by == ours.user and series.client == client_user
    sessions = list(series.sessions.order_by("start"))
    assert [s.start.astimezone(ours.zone).date() for s in sessions] == days
    assert all(s.booked_by == ours.user for s in sessions)
    assert (
        AppointmentEvent.objects.filter(
            appointment__series=series, kind="booked", actor=ours.user
        ).count()
        == 4
    )
    assert "4 sessions booked" in browser.get(booked.url).text


def test_a_clashing_date_is_listed_with_its_reason_and_left_out_when_confirmed(
    browser, ours, client_user, session_type
):
    start = at(ours, first_day(ours))
    taken = AppointmentFactory(
        appointment_type=session_type,
        start=at(ours, first_day(ours) + timedelta(weeks=2)),
        client=UserFactory(),
    )
    clash_day = taken.start.astimezone(ours.zone).date()
    preview = browser.get(
        rule_url(client_user, session_type, start, repeat="weekly", ends="count", count=4)
    )
    assert preview.status_code == 200
    row = re.search(
        rf"<tr[^>]*>(?:(?!</tr>).)*{clash_day:%a %-d %b %Y}(?:(?!</tr>).)*</tr>",
        preview.text,
        re.S,
    )
    assert row and "already booked" in row.group(0)
    assert re.search(rf'name="skip" value="{clash_day.isoformat()}"[^>]*checked', row.group(0))
    assert "Pick another time" in preview.text

    post = reverse("admin:series-rule", args=[client_user.pk, session_type.pk])
    data = {"start": start.isoformat(), "repeat": "weekly", "ends": "count", "count": "4"}
    refused = browser.post(post, data)  # the clashing date not left out
    assert refused.status_code == 409
    assert any("not free" in each and "already booked" in each for each in messages_of(refused))
    assert not AppointmentSeries.objects.exists()

    booked = browser.post(post, {**data, "skip": clash_day.isoformat()})
    assert booked.status_code == 302
    series = AppointmentSeries.objects.get()
    assert series.sessions.count() == 3
    assert clash_day not in {s.start.astimezone(ours.zone).date() for s in series.sessions.all()}


def test_staff_may_leave_out_a_free_date_too(browser, ours, client_user, session_type):
    start = at(ours, first_day(ours))
    holiday = first_day(ours) + timedelta(weeks=1)
    browser.post(
        reverse("admin:series-rule", args=[client_user.pk, session_type.pk]),
        {
            "start": start.isoformat(),
            "repeat": "weekly",
            "ends": "count",
            "count": "3",
            "skip": holiday.isoformat(),
        },
    )
    series = AppointmentSeries.objects.get()
    assert series.sessions.count() == 2 and series.count == 3


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ({"repeat": "weekly", "ends": "count", "count": "0"}, "from 2 to 104 sessions; 0"),
        ({"repeat": "weekly", "ends": "count", "count": "10000"}, "10000 is not possible"),
        ({"repeat": "weekly", "ends": "count", "count": "ten"}, "Enter a whole number"),
        ({"repeat": "weekly", "ends": "count"}, "Give the number of sessions"),
        ({"repeat": "weekly", "ends": "until", "until": "2001-01-01"}, "must come after"),
        ({"repeat": "weekly", "ends": "until"}, "Give the last date"),
        ({"repeat": "daily", "ends": "count", "count": "4"}, "how often the sessions repeat"),
        ({"repeat": "weekly", "ends": "sometime"}, "Choose how the series ends"),
        ({"repeat": "weekly", "ends": "count", "count": "60"}, "up to 400 days ahead"),
        ({"repeat": "monthly", "ends": "until", "until": "9999-12-31"}, "end on Fri 31 Dec 9999"),
    ],
)
def test_a_bad_rule_gets_a_clear_message_and_saves_nothing(
    browser, ours, client_user, session_type, rule, words
):
    start = at(ours, first_day(ours))
    shown = browser.get(rule_url(client_user, session_type, start, **rule))
    assert shown.status_code == 400 and words in shown.text.replace("&#x27;", "'")
    posted = browser.post(
        reverse("admin:series-rule", args=[client_user.pk, session_type.pk]),
        {"start": start.isoformat(), **rule},
    )
    assert posted.status_code == 400 and words in posted.text.replace("&#x27;", "'")
    assert not AppointmentSeries.objects.exists() and not Appointment.objects.exists()


def test_an_open_ended_series_is_kept_booked_to_the_horizon(
    browser, ours, client_user, session_type
):
    ours.horizon_days = 60
    ours.save()
    start = at(ours, first_day(ours))
    preview = browser.get(rule_url(client_user, session_type, start, repeat="weekly", ends="never"))
    assert preview.status_code == 200 and "60 days ahead" in preview.text
    browser.post(
        reverse("admin:series-rule", args=[client_user.pk, session_type.pk]),
        {"start": start.isoformat(), "repeat": "weekly", "ends": "never"},
    )
    series = AppointmentSeries.objects.get()
    assert series.is_open_ended
    last = max(s.start for s in series.sessions.all())
    assert timezone.now() + timedelta(days=52) < last <= timezone.now() + timedelta(days=61)


def test_a_time_in_the_link_that_is_not_valid_says_so(browser, ours, client_user, session_type):
    url = reverse("admin:series-rule", args=[client_user.pk, session_type.pk])
    response = browser.get(url + "?start=yesterday", follow=True)
    assert any("That time isn't valid" in each for each in messages_of(response))
    assert not AppointmentSeries.objects.exists()


def test_a_client_of_another_practice_is_refused(
    browser, ours, theirs, stranger, client_user, session_type
):
    add = reverse("admin:appointments_appointmentseries_add")
    page = browser.get(add, {"client": stranger.pk, "appointment_type": session_type.pk})
    assert page.status_code == 400
    assert "Choose one of your practice's clients" in page.text.replace("&#x27;", "'")
    assert "Sam Stranger" not in page.text

    their_type = theirs.appointment_types.get()
    page = browser.get(add, {"client": client_user.pk, "appointment_type": their_type.pk})
    assert page.status_code == 400 and "Their session" not in page.text

    start = at(ours, first_day(ours))
    for url in [pick_url(stranger, session_type), rule_url(stranger, session_type, start)]:
        response = browser.get(url, follow=True)
        assert "Choose one of your practice's clients" in response.text.replace("&#x27;", "'")
    browser.post(
        reverse("admin:series-rule", args=[stranger.pk, session_type.pk]),
        {"start": start.isoformat(), "repeat": "weekly", "ends": "count", "count": "4"},
    )
    browser.post(
        reverse("admin:series-rule", args=[client_user.pk, their_type.pk]),
        {"start": start.isoformat(), "repeat": "weekly", "ends": "count", "count": "4"},
    )
    assert not AppointmentSeries.objects.exists()


def test_a_client_of_one_provider_is_not_booked_with_another_of_the_practice(
    browser, ours, client_user, session_type
):
    # Staff of two providers: the client is on one care team only.
    second = ProviderFactory(display_name="Dr. Second", time_zone="America/Chicago")
    give_hours(second)
    from appointments.models import OfficeStaff

    OfficeStaff.objects.create(provider=second, user=ours.user)
    kind = AppointmentTypeFactory(provider=second, name="Second's session")
    add = reverse("admin:appointments_appointmentseries_add")
    page = browser.get(add, {"client": client_user.pk, "appointment_type": kind.pk})
    assert page.status_code == 400
    assert "Jordan Lee is not a client of Dr. Second" in page.text


# --- The series' pages ----------------------------------------------------------------------


def test_the_list_shows_the_practices_series_in_words(
    browser, ours, theirs, client_user, stranger, session_type
):
    ours_series = book(ours, client_user, session_type, count=4)
    book(theirs, stranger, theirs.appointment_types.get(), count=3)
    html = browser.get(reverse("admin:appointments_appointmentseries_changelist")).text
    assert "Jordan Lee" in html and "Sam Stranger" not in html and "Dr. Theirs" not in html
    assert f"Every week on {first_day(ours):%A}" in html
    assert series_url(ours_series) in html
    assert f"{first_day(ours):%a %-d %b}, 10:00 AM" in html  # the next session
    assert ">4<" in html and "Ongoing" in html


def test_the_list_reads_the_same_queries_however_many_series(
    browser, ours, client_user, session_type
):
    url = reverse("admin:appointments_appointmentseries_changelist")
    book(ours, client_user, session_type, count=2)
    browser.get(url)
    with CaptureQueriesContext(connection) as few:
        browser.get(url)
    for n in range(1, 5):
        other = UserFactory()
        CareTeamMember.objects.create(provider=ours, client=other)
        book(ours, other, session_type, count=3, first=at(ours, first_day(ours), time(10 + n)))
    with CaptureQueriesContext(connection) as many:
        response = browser.get(url)
    assert response.text.count("Ongoing") == 5
    assert len(many) == len(few)


def test_the_series_page_reads_only_and_links_each_session_and_its_log(
    browser, ours, client_user, session_type
):
    series = book(ours, client_user, session_type, count=3)
    html = browser.get(series_url(series)).text
    assert 'name="_save"' not in html
    for session in series.sessions.all():
        assert reverse("admin:appointments_appointment_change", args=[session.pk]) in html
    assert "Booked" in html and "3 sessions booked" in html
    for page in ["end", "skip", "change-time"]:
        assert series_url(series, page) in html


def test_another_practices_series_is_not_found_and_its_actions_change_nothing(
    browser, ours, theirs, stranger
):
    series = book(theirs, stranger, theirs.appointment_types.get(), count=3)
    day = first_day(theirs)
    urls = [
        series_url(series),
        series_url(series, "end") + f"?from={day}",
        series_url(series, "skip") + f"?day={day}",
        series_url(series, "change-time"),
        reverse("admin:series-change-time-pick", args=[series.pk, day.isoformat()]),
        reverse("admin:series-change-time-review", args=[series.pk, day.isoformat()]),
        reverse("admin:appointments_appointmentseries_history", args=[series.pk]),
    ]
    for url in urls:
        response = browser.get(url)
        assert response.status_code == 302 and response.url == reverse("admin:index"), url
        assert "Dr. Theirs" not in browser.get(response.url).text
    browser.post(series_url(series, "end"), {"from": day.isoformat()})
    browser.post(series_url(series, "skip"), {"day": day.isoformat()})
    browser.post(
        reverse("admin:series-change-time-review", args=[series.pk, day.isoformat()]),
        {"start": at(theirs, day + timedelta(days=1)).isoformat()},
    )
    assert series.sessions.filter(status="scheduled").count() == 3
    assert AppointmentSeries.objects.count() == 1
    assert SeriesChange.objects.filter(series=series).count() == 1


def test_staff_without_the_practice_permissions_are_forbidden(
    staff_browser, ours, client_user, session_type
):
    series = book(ours, client_user, session_type, count=3)
    ours.user.groups.clear()
    browser = staff_browser(ours.user)
    for url in [
        reverse("admin:appointments_appointmentseries_changelist"),
        reverse("admin:appointments_appointmentseries_add"),
        pick_url(client_user, session_type),
        series_url(series),
    ]:
        assert browser.get(url).status_code == 403, url
    assert browser.post(series_url(series, "end"), {"from": first_day(ours)}).status_code == 403
    assert series.sessions.filter(status="scheduled").count() == 3


def test_the_practice_staff_group_holds_the_series_permissions(ours):
    codes = set(
        Group.objects.get(name=PRACTICE_STAFF_GROUP).permissions.values_list("codename", flat=True)
    )
    assert {"view_appointmentseries", "add_appointmentseries", "change_appointmentseries"} <= codes
    assert "delete_appointmentseries" not in codes


def test_office_staff_manage_their_providers_series(staff_browser, ours, client_user, session_type):
    from appointments.models import OfficeStaff

    office = UserFactory(name="Alex Kim")
    OfficeStaff.objects.create(provider=ours, user=office)
    join_practice_staff(office)
    series = book(ours, client_user, session_type, count=3)
    browser = staff_browser(office)
    day = first_day(ours) + timedelta(weeks=2)
    browser.post(series_url(series, "skip"), {"day": day.isoformat()})
    session = series.sessions.get(status="cancelled")
    assert session.events.get(kind="cancelled").actor == office


# --- Ending, skipping, changing the time -----------------------------------------------------


def test_ending_from_a_date_asks_first_then_cancels_every_session_from_it(
    browser, ours, client_user, session_type
):
    series = book(ours, client_user, session_type, count=4)
    dates = browser.get(series_url(series, "end"))
    assert dates.status_code == 200
    day = first_day(ours) + timedelta(weeks=2)
    assert f"?from={day.isoformat()}" in dates.text
    confirm = browser.get(series_url(series, "end"), {"from": day.isoformat()})
    assert confirm.status_code == 200
    assert f"{day:%a %-d %b %Y}" in confirm.text and "End the series from" in confirm.text
    assert series.sessions.filter(status="scheduled").count() == 4  # asking changes nothing

    done = browser.post(series_url(series, "end"), {"from": day.isoformat(), "reason": "Moving"})
    assert done.status_code == 302 and done.url == series_url(series)
    cancelled = series.sessions.filter(status="cancelled")
    assert cancelled.count() == 2 and series.sessions.filter(status="scheduled").count() == 2
    for session in cancelled:
        event = session.events.get(kind="cancelled")
        assert event.actor == ours.user and event.reason == "Moving"
    series.refresh_from_db()
    assert series.stopped_from == day
    assert SeriesChange.objects.filter(series=series, kind="ended", actor=ours.user).exists()
    assert "Ended" in browser.get(series_url(series)).text


def test_a_refused_end_is_a_message_and_changes_nothing(browser, ours, client_user, session_type):
    series = book(ours, client_user, session_type, count=4)
    day = first_day(ours) + timedelta(weeks=1)
    browser.post(series_url(series, "end"), {"from": day.isoformat()})
    again = browser.post(series_url(series, "end"), {"from": day.isoformat()}, follow=True)
    assert any("already ends before" in each for each in messages_of(again))
    assert SeriesChange.objects.filter(series=series, kind="ended").count() == 1


@pytest.mark.parametrize("value", ["", "tomorrow", "2026-02-30", "99999-01-01"])
def test_a_bad_date_is_a_message_and_changes_nothing(
    browser, ours, client_user, session_type, value
):
    series = book(ours, client_user, session_type, count=3)
    for page, name in [("end", "from"), ("skip", "day")]:
        response = browser.post(series_url(series, page), {name: value})
        assert response.status_code == 400
        assert "Pick a date from the list" in response.text
    assert series.sessions.filter(status="scheduled").count() == 3


def test_skipping_a_date_cancels_that_session_alone(browser, ours, client_user, session_type):
    series = book(ours, client_user, session_type, count=4)
    day = first_day(ours) + timedelta(weeks=1)
    confirm = browser.get(series_url(series, "skip"), {"day": day.isoformat()})
    assert confirm.status_code == 200 and f"Skip {day:%a %-d %b %Y}" in confirm.text
    done = browser.post(series_url(series, "skip"), {"day": day.isoformat()})
    assert done.status_code == 302
    skipped = series.sessions.get(status="cancelled")
    assert skipped.start.astimezone(ours.zone).date() == day
    assert skipped.events.get(kind="cancelled").actor == ours.user
    assert series.sessions.filter(status="scheduled").count() == 3
    series.refresh_from_db()
    assert series.stopped_from is None
    again = browser.post(series_url(series, "skip"), {"day": day.isoformat()}, follow=True)
    assert any("no scheduled session on" in each for each in messages_of(again))


def test_changing_the_time_picks_a_new_time_previews_the_moves_and_moves_them(
    browser, ours, client_user, session_type
):
    series = book(ours, client_user, session_type, count=4)
    from_day = first_day(ours) + timedelta(weeks=1)
    dates = browser.get(series_url(series, "change-time"))
    pick = reverse("admin:series-change-time-pick", args=[series.pk, from_day.isoformat()])
    assert pick in dates.text
    picker = browser.get(pick)
    review = reverse("admin:series-change-time-review", args=[series.pk, from_day.isoformat()])
    assert picker.status_code == 200 and review in picker.text

    new_day = from_day + timedelta(days=2)
    new_start = at(ours, new_day, time(14, 0))
    preview = browser.get(review, {"start": new_start.isoformat()})
    assert preview.status_code == 200
    assert f"{from_day + timedelta(days=2):%a %-d %b %Y}, 2:00 PM" in preview.text
    assert series.sessions.filter(start=new_start).count() == 0  # nothing moved yet

    done = browser.post(review, {"start": new_start.isoformat()})
    new = AppointmentSeries.objects.get(previous=series)
    assert done.status_code == 302 and done.url == series_url(new)
    moved = list(new.sessions.order_by("start"))
    assert [s.start for s in moved] == [
        at(ours, new_day + timedelta(weeks=n), time(14, 0)) for n in range(3)
    ]
    for session in moved:
        event = session.events.get(kind="rescheduled")
        assert event.actor == ours.user
    assert series.sessions.filter(status="scheduled").count() == 1
    page = browser.get(series_url(series)).text
    assert "Time changed" in page and series_url(new) in page


def test_a_new_time_that_clashes_is_previewed_and_refused_unless_left_out(
    browser, ours, client_user, session_type
):
    series = book(ours, client_user, session_type, count=3)
    from_day = first_day(ours)
    new_day = from_day + timedelta(days=1)
    new_start = at(ours, new_day, time(15, 0))
    taken = AppointmentFactory(
        appointment_type=session_type,
        client=UserFactory(),
        start=at(ours, new_day + timedelta(weeks=1), time(15, 0)),
    )
    review = reverse("admin:series-change-time-review", args=[series.pk, from_day.isoformat()])
    preview = browser.get(review, {"start": new_start.isoformat()})
    assert preview.status_code == 200 and "already booked" in preview.text
    clash_day = taken.start.astimezone(ours.zone).date()
    assert re.search(rf'name="skip" value="{clash_day.isoformat()}"[^>]*checked', preview.text)

    refused = browser.post(review, {"start": new_start.isoformat()})
    assert refused.status_code == 409
    assert any("not free" in each for each in messages_of(refused))
    assert AppointmentSeries.objects.count() == 1
    assert sorted(s.start for s in series.sessions.filter(status="scheduled")) == [
        at(ours, from_day + timedelta(weeks=n)) for n in range(3)
    ]

    browser.post(review, {"start": new_start.isoformat(), "skip": clash_day.isoformat()})
    new = AppointmentSeries.objects.get(previous=series)
    assert new.sessions.count() == 2
    dropped = series.sessions.get(status="cancelled")
    assert dropped.events.get(kind="cancelled").actor == ours.user


def test_a_new_time_in_the_past_is_a_message_and_changes_nothing(
    browser, ours, client_user, session_type
):
    series = book(ours, client_user, session_type, count=3)
    from_day = first_day(ours)
    review = reverse("admin:series-change-time-review", args=[series.pk, from_day.isoformat()])
    past = timezone.now() - timedelta(days=1)
    for response in [
        browser.get(review, {"start": past.isoformat()}, follow=True),
        browser.post(review, {"start": past.isoformat()}, follow=True),
    ]:
        assert any("on or after" in each for each in messages_of(response))
    assert AppointmentSeries.objects.count() == 1


# --- Each session, the appointment list and the export ---------------------------------------


def test_a_session_says_it_is_part_of_a_series_and_which(browser, ours, client_user, session_type):
    series = book(ours, client_user, session_type, count=4)
    second = series.sessions.order_by("start")[1]
    html = browser.get(reverse("admin:appointments_appointment_change", args=[second.pk])).text
    assert f"Every week on {first_day(ours):%A} (session 2 of 4)" in html
    assert series_url(series) in html
    single = AppointmentFactory(appointment_type=session_type, client=client_user)
    html = browser.get(reverse("admin:appointments_appointment_change", args=[single.pk])).text
    assert "session 1 of" not in html and "Part of a series" not in html


def test_the_appointment_list_filters_by_series(browser, ours, client_user, session_type):
    series = book(ours, client_user, session_type, count=2)
    single = AppointmentFactory(appointment_type=session_type, client=client_user)
    url = reverse("admin:appointments_appointment_changelist")
    in_series = browser.get(url, {"series": "yes"}).text
    not_series = browser.get(url, {"series": "no"}).text
    for session in series.sessions.all():
        link = reverse("admin:appointments_appointment_change", args=[session.pk])
        assert link in in_series and link not in not_series
    single_link = reverse("admin:appointments_appointment_change", args=[single.pk])
    assert single_link in not_series and single_link not in in_series


def test_the_export_names_each_sessions_series_in_the_same_queries(ours, client_user, session_type):
    AppointmentFactory(appointment_type=session_type, client=client_user)
    window = ["--start", "2000-01-01", "--end", "2199-12-30"]

    def export() -> tuple[list[dict], int]:
        out = io.StringIO()
        with CaptureQueriesContext(connection) as queries:
            call_command("export_appointments", *window, stdout=out, stderr=io.StringIO())
        return list(csv.DictReader(io.StringIO(out.getvalue()))), len(queries)

    rows, few = export()
    assert rows[0]["series_id"] == "" and rows[0]["series_rule"] == ""
    series = book(ours, client_user, session_type, count=5)
    rows, many = export()
    sessions = [row for row in rows if row["series_id"]]
    assert len(sessions) == 5 and {row["series_id"] for row in sessions} == {str(series.pk)}
    assert sessions[0]["series_rule"] == f"Every week on {first_day(ours):%A}"
    assert many == few


def test_the_appointment_list_and_the_series_page_read_the_same_queries_however_many(
    browser, ours, client_user, session_type
):
    short = book(ours, client_user, session_type, count=2)
    long = book(
        ours, client_user, session_type, count=12, first=at(ours, first_day(ours), time(14))
    )
    listing = reverse("admin:appointments_appointment_changelist") + "?series=yes"
    browser.get(listing)
    with CaptureQueriesContext(connection) as few:
        browser.get(listing)
    later = UserFactory()
    CareTeamMember.objects.create(provider=ours, client=later)
    book(ours, later, session_type, count=6, first=at(ours, first_day(ours), time(12)))
    with CaptureQueriesContext(connection) as many:
        assert browser.get(listing).text.count("Therapy session") >= 20
    assert len(many) == len(few)

    browser.get(series_url(short))
    with CaptureQueriesContext(connection) as two:
        browser.get(series_url(short))
    with CaptureQueriesContext(connection) as twelve:
        browser.get(series_url(long))
    assert len(twelve) == len(two)

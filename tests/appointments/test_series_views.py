"""
The client's side of a series: repeating a booking from its review page, the series' page, and
cancelling a session with all that follow it, each session under its own terms.
"""

import re
from datetime import datetime, time, timedelta
from html import unescape
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appointments import services
from appointments.models import Appointment, AppointmentSeries, Fee
from appointments.recurrence import Repeat
from appointments.series import SeriesEnd, series_book
from appointments.services import appointment_cancel
from tests.concurrency import providers_schedule_held
from tests.factories import AppointmentFactory, AppointmentTypeFactory, PolicyFactory
from tests.pages import section

pytestmark = pytest.mark.django_db


@pytest.fixture
def weekly_type(session_type):
    session_type.clients_may_repeat = True
    session_type.save()
    return session_type


@pytest.fixture
def policy(provider):
    return PolicyFactory(provider=provider)


def next_weekday(provider, weekday: int, clock: time = time(10), after_days: int = 2) -> datetime:
    """The first `weekday` at least `after_days` ahead, at `clock` on the provider's clock."""
    day = timezone.now().astimezone(provider.zone).date() + timedelta(days=after_days)
    day += timedelta(days=(weekday - day.weekday()) % 7)
    return datetime.combine(day, clock, tzinfo=provider.zone)


@pytest.fixture
def first(provider):
    """A Tuesday at 10 AM in Chicago, at least two days ahead."""
    return next_weekday(provider, 1)


def iso(instant: datetime) -> str:
    return instant.astimezone(timezone.UTC).isoformat()


def review_url(provider, kind, start=None) -> str:
    url = reverse("appointments:book-repeat", args=[provider.pk, kind.pk])
    return f"{url}?start={quote(iso(start), safe='')}" if start else url


def terms_token(provider, kind) -> str:
    from appointments.selectors import terms_in_force

    return terms_in_force(provider, kind).token


def series_data(provider, kind, start, **fields) -> dict:
    return {
        "start": iso(start),
        "expected_terms": terms_token(provider, kind),
        "repeat": Repeat.WEEKLY.value,
        "ends": "count",
        "count": "4",
        **fields,
    }


def text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def listed_dates(html: str) -> list[str]:
    return [text(each) for each in re.findall(r'<span class="series-date-when">(.*?)</span>', html)]


def nothing_booked(client_user) -> bool:
    return (
        not AppointmentSeries.objects.exists()
        and not Appointment.objects.filter(client=client_user).exists()
    )


def book_weekly(client_user, provider, kind, first, *, count=4, now=None):
    return series_book(
        client=client_user,
        provider=provider,
        appointment_type=kind,
        first_start=first,
        repeat=Repeat.WEEKLY,
        end=SeriesEnd(count=count),
        booked_by=client_user,
        now=now,
    )


# --- Access ---------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in(client, client_user, provider, weekly_type, first):
    booked = book_weekly(client_user, provider, weekly_type, first)
    session = booked.sessions[0]
    for url in (
        review_url(provider, weekly_type, first),
        reverse("appointments:series", args=[booked.series.pk]),
        reverse("appointments:cancel-following", args=[session.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("sign-in"))


def test_a_stranger_gets_404_for_another_clients_series_and_session(
    client, client_user, stranger, provider, weekly_type, first
):
    booked = book_weekly(client_user, provider, weekly_type, first)
    session = booked.sessions[0]
    client.force_login(stranger)
    assert client.get(reverse("appointments:series", args=[booked.series.pk])).status_code == 404
    following = reverse("appointments:cancel-following", args=[session.pk])
    assert client.get(following).status_code == 404
    assert client.post(following, {"expected_quote": "x"}).status_code == 404
    assert Appointment.objects.filter(series=booked.series, status="scheduled").count() == 4


def test_a_stranger_cannot_book_a_series_with_a_provider_not_on_their_team(
    client, stranger, provider, weekly_type, first
):
    client.force_login(stranger)
    response = client.post(
        review_url(provider, weekly_type), series_data(provider, weekly_type, first)
    )
    assert response.status_code == 404
    assert not AppointmentSeries.objects.exists()


def test_the_wrong_method_is_refused(signed_in, client_user, provider, weekly_type, first):
    booked = book_weekly(client_user, provider, weekly_type, first)
    assert signed_in.put(review_url(provider, weekly_type, first)).status_code == 405
    assert (
        signed_in.post(reverse("appointments:series", args=[booked.series.pk])).status_code == 405
    )
    following = reverse("appointments:cancel-following", args=[booked.sessions[0].pk])
    assert signed_in.delete(following).status_code == 405


def test_a_single_appointment_has_no_cancel_following(signed_in, client_user, provider, first):
    single = AppointmentFactory(client=client_user, provider=provider, start=first)
    following = reverse("appointments:cancel-following", args=[single.pk])
    assert signed_in.get(following).status_code == 404


# --- The review page ------------------------------------------------------------------------


def test_the_picker_leads_to_the_review_that_can_repeat_only_for_a_type_that_allows_it(
    signed_in, provider, weekly_type
):
    other = AppointmentTypeFactory(provider=provider, name="Consultation")
    repeat = reverse("appointments:book-repeat", args=[provider.pk, weekly_type.pk])
    once = reverse("appointments:book-review", args=[provider.pk, other.pk])
    assert (
        f'href="{repeat}?start='
        in signed_in.get(reverse("appointments:book-time", args=[provider.pk, weekly_type.pk])).text
    )
    page = signed_in.get(reverse("appointments:book-time", args=[provider.pk, other.pk])).text
    assert f'href="{once}?start=' in page and "/repeat/" not in page


def test_the_review_offers_the_rules_worded_from_the_chosen_time(
    signed_in, provider, weekly_type, first
):
    html = signed_in.get(review_url(provider, weekly_type, first)).text
    labels = re.findall(
        r'<label class="option"><input type="radio" name="repeat"[^>]*>'
        r"<span>([^<]+)</span>",
        html,
    )
    nth = ["first", "second", "third", "fourth", "last"][min((first.day - 1) // 7, 4)]
    assert labels == [
        "Does not repeat",
        "Every week on Tuesday",
        "Every 2 weeks on Tuesday",
        "Every 4 weeks on Tuesday",
        f"Every month on the {nth} Tuesday",
    ]
    assert re.search(r'name="repeat" value=""[^>]*checked', html)  # does not repeat, unless chosen
    assert "Show the dates" in html
    # Open-ended series are the practice's to book: nothing offers one here.
    assert "never" not in html.lower() and "no end" not in html.lower()


def test_showing_the_dates_lists_every_session_and_saves_nothing(
    signed_in, client_user, provider, weekly_type, first
):
    data = series_data(provider, weekly_type, first, preview="1")
    response = signed_in.post(review_url(provider, weekly_type), data)
    assert response.status_code == 200
    dates = listed_dates(response.text)
    # 10 AM in Chicago is 11 AM for the client in New York.
    expected = [(first + timedelta(weeks=n)).astimezone(client_user.zone) for n in range(4)]
    assert dates == [f"{d:%a} {d.day} {d:%b %Y}, 11:00 AM {d.tzname()}" for d in expected]
    assert "4 sessions" in response.text
    assert nothing_booked(client_user)


def test_the_dates_come_in_place_with_htmx(signed_in, client_user, provider, weekly_type, first):
    data = series_data(provider, weekly_type, first, preview="1", count="3")
    response = signed_in.post(
        review_url(provider, weekly_type), data, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.text.lstrip().startswith('<div id="series-plan"')
    assert len(listed_dates(response.text)) == 3
    assert 'id="series-summary" data-hx-swap-oob="innerHTML">3 sessions listed.' in response.text
    assert nothing_booked(client_user)


def test_a_clash_is_listed_with_its_reason_before_anything_is_saved(
    signed_in, client_user, provider, weekly_type, first
):
    AppointmentFactory(
        provider=provider, appointment_type=weekly_type, start=first + timedelta(weeks=2)
    )
    data = series_data(provider, weekly_type, first, preview="1")
    html = signed_in.post(review_url(provider, weekly_type), data).text
    clash = (first + timedelta(weeks=2)).astimezone(provider.zone).date()
    assert "4 sessions: 1 date is not free" in text(html)
    assert "Not free: already booked" in html
    assert f'name="skip" value="{clash.isoformat()}"' in html
    time_step = reverse("appointments:book-time", args=[provider.pk, weekly_type.pk])
    assert f'href="{time_step}?day=' in html and "pick another time</a>" in html
    assert nothing_booked(client_user)


def test_booking_without_choosing_to_skip_a_clash_books_nothing_and_names_it(
    signed_in, client_user, provider, weekly_type, first
):
    AppointmentFactory(
        provider=provider, appointment_type=weekly_type, start=first + timedelta(weeks=2)
    )
    response = signed_in.post(
        review_url(provider, weekly_type), series_data(provider, weekly_type, first)
    )
    assert response.status_code == 409
    clash = (first + timedelta(weeks=2)).astimezone(provider.zone)
    assert f"{clash:%a} {clash.day} {clash:%b %Y} (already booked)" in unescape(response.text)
    assert nothing_booked(client_user)


def test_skipping_the_clash_books_the_other_dates_and_lists_them(
    signed_in, client_user, provider, weekly_type, first
):
    AppointmentFactory(
        provider=provider, appointment_type=weekly_type, start=first + timedelta(weeks=2)
    )
    clash = (first + timedelta(weeks=2)).astimezone(provider.zone).date()
    data = series_data(provider, weekly_type, first, skip=[clash.isoformat()])
    response = signed_in.post(review_url(provider, weekly_type), data)
    series = AppointmentSeries.objects.get(client=client_user)
    assert response.status_code == 302
    assert response.url == reverse("appointments:series", args=[series.pk])
    starts = sorted(each.start for each in series.sessions.all())
    assert starts == [first + timedelta(weeks=n) for n in (0, 1, 3)]
    page = signed_in.get(response.url).text
    assert "Booked: 3 sessions with Dr. Maya Okafor (Every week on Tuesday)" in unescape(page)
    assert len(re.findall(r'<li class="series-session">', page)) == 3
    assert "<h1>Every week on Tuesday</h1>" in page


def test_a_series_that_does_not_repeat_is_a_single_booking(
    signed_in, client_user, provider, weekly_type, first
):
    data = series_data(provider, weekly_type, first, repeat="")
    response = signed_in.post(review_url(provider, weekly_type), data)
    assert response.status_code == 302 and response.url == reverse("appointments:list")
    booked = Appointment.objects.get(client=client_user)
    assert booked.start == first and booked.series is None


def test_the_series_is_booked_with_the_terms_the_client_saw(
    signed_in, client_user, provider, weekly_type, first, policy
):
    data = series_data(provider, weekly_type, first)
    policy.late_cancel_fee = 80
    policy.text = "Later cancellations cost $80."
    policy.save()
    response = signed_in.post(review_url(provider, weekly_type), data)
    assert response.status_code == 409
    assert "Later cancellations cost $80." in response.text
    assert f'name="expected_terms" value="{terms_token(provider, weekly_type)}"' in response.text
    # The client's choice is kept for the second confirm.
    assert re.search(r'name="repeat" value="weekly"[^>]*checked', response.text)
    assert nothing_booked(client_user)
    assert (
        signed_in.post(
            review_url(provider, weekly_type), {**data, "expected_terms": ""}
        ).status_code
        == 409
    )
    assert nothing_booked(client_user)


BAD = [
    ({"count": "0"}, "A series has from 2 to 104 sessions; 0 is not possible."),
    ({"count": "10000"}, "A series has from 2 to 104 sessions; 10000 is not possible."),
    ({"count": "six"}, "Enter the number of sessions as a whole number, like 6."),
    ({"count": ""}, "Enter how many sessions to book."),
    ({"ends": "until", "until": "2001-01-01"}, "must come after the first session"),
    ({"ends": "until", "until": "soon"}, "Enter the last date like 2026-12-03."),
    ({"repeat": "daily"}, "Choose how often the sessions repeat from the list."),
    ({"count": "40"}, "takes bookings up to 60 days ahead"),
    ({"ends": "until", "until": "9999-12-31"}, "this series would end on Fri 31 Dec 9999"),
    (
        {"ends": "until", "until": "9999-12-31", "repeat": "monthly"},
        "this series would end on Fri 31 Dec 9999",
    ),
    ({"skip": "not-a-date"}, "This page is out of date."),
]


@pytest.mark.parametrize("posted", ["preview", "confirm"])
@pytest.mark.parametrize(("fields", "message"), BAD)
def test_bad_input_gets_a_clear_message_and_books_nothing(
    signed_in, client_user, provider, weekly_type, first, fields, message, posted
):
    data = series_data(provider, weekly_type, first, **fields)
    if posted == "preview":
        data["preview"] = "1"
    response = signed_in.post(review_url(provider, weekly_type), data)
    assert response.status_code == 400
    assert message in unescape(response.text)
    assert 'class="alert alert--error" role="alert"' in response.text
    assert nothing_booked(client_user)


def test_a_type_without_repeats_refuses_a_series(
    signed_in, client_user, provider, session_type, first
):
    response = signed_in.post(
        review_url(provider, session_type), series_data(provider, session_type, first)
    )
    assert response.status_code == 400
    assert "This kind of appointment can&#x27;t be booked as a series online." in response.text
    assert nothing_booked(client_user)
    # Nor does its review page offer one.
    page = signed_in.get(review_url(provider, session_type, first)).text
    assert "Every week" not in page


@pytest.mark.django_db(transaction=True)
def test_a_schedule_too_busy_to_lock_is_a_409_to_try_again(
    signed_in, client_user, provider, weekly_type, first, monkeypatch
):
    monkeypatch.setattr(services, "LOCK_TIMEOUT_MS", 300)
    data = series_data(provider, weekly_type, first)
    try:
        with providers_schedule_held(provider):
            if connection.vendor == "sqlite":
                with connection.cursor() as cursor:
                    cursor.execute("PRAGMA busy_timeout = 300")
            response = signed_in.post(review_url(provider, weekly_type), data)
    finally:
        connection.close()
    assert response.status_code == 409
    assert "Someone else is changing this schedule right now" in unescape(response.text)
    assert nothing_booked(client_user)


def test_a_date_taken_while_the_page_was_open_is_named_and_nothing_is_booked(
    signed_in, client_user, provider, weekly_type, first
):
    data = series_data(provider, weekly_type, first)
    preview = signed_in.post(review_url(provider, weekly_type), {**data, "preview": "1"}).text
    assert "not free" not in preview
    AppointmentFactory(
        provider=provider, appointment_type=weekly_type, start=first + timedelta(weeks=3)
    )
    response = signed_in.post(review_url(provider, weekly_type), data)
    assert response.status_code == 409
    taken = (first + timedelta(weeks=3)).astimezone(provider.zone)
    assert (
        f"This date is not free: {taken:%a} {taken.day} {taken:%b %Y} (already booked)"
        in unescape(response.text)
    )
    assert f'name="skip" value="{taken.date().isoformat()}"' in response.text
    assert nothing_booked(client_user)


# --- A session's card and the series' page --------------------------------------------------


def test_a_session_card_names_its_rule_and_place_and_offers_the_series_choices(
    signed_in, client_user, provider, weekly_type, first
):
    booked = book_weekly(client_user, provider, weekly_type, first, count=4)
    html = section(signed_in.get(reverse("appointments:list")).text, "upcoming-heading")
    page = reverse("appointments:series", args=[booked.series.pk])
    tag = f'<p class="appt-series"><a href="{page}">Every week · session {{}} of 4</a>'
    assert html.count(tag.format(1)) == 1
    assert tag.format(4) in html
    card = html[html.index(f'id="appointment-{booked.sessions[1].pk}"') :]
    card = card[: card.index("</article>")]
    # One calendar entry for every session: the card offers the series' file, not its own.
    calendar = reverse("appointments:series-calendar", args=[booked.series.pk])
    assert f'<a href="{calendar}" download>Add the series to calendar' in card
    assert reverse("appointments:calendar", args=[booked.sessions[1].pk]) not in card
    assert ">Reschedule this session<" in card
    assert ">Cancel this session<" in card
    following = reverse("appointments:cancel-following", args=[booked.sessions[1].pk])
    assert f'href="{following}" data-hx-get="{following}"' in card
    assert ">Cancel this and all following sessions<" in card


def test_a_single_appointment_card_keeps_its_own_menu(signed_in, client_user, provider, first):
    AppointmentFactory(client=client_user, provider=provider, start=first)
    html = signed_in.get(reverse("appointments:list")).text
    assert ">Reschedule<" in html and ">Cancel Appointment<" in html
    assert "all following" not in html and "appt-series" not in html


def test_the_overview_reads_series_cards_in_a_fixed_number_of_queries(
    signed_in, client_user, provider, weekly_type
):
    """Two series cards or five of five series: the same queries (the series read in one)."""
    book_weekly(client_user, provider, weekly_type, next_weekday(provider, 1), count=2)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            html = signed_in.get(reverse("appointments:list")).text
        return len(captured), html.count('class="appt-series"')

    two, cards = queries()
    assert cards == 2
    for weekday in (2, 3, 4, 5):
        first = next_weekday(provider, weekday, time(15))
        book_weekly(client_user, provider, weekly_type, first, count=2)
    assert queries() == (two, 5)


def test_the_detail_page_links_to_the_series(signed_in, client_user, provider, weekly_type, first):
    booked = book_weekly(client_user, provider, weekly_type, first, count=4)
    html = signed_in.get(reverse("appointments:detail", args=[booked.sessions[0].pk])).text
    series = reverse("appointments:series", args=[booked.series.pk])
    assert f'<a href="{series}">Every week on Tuesday</a>' in html


def test_the_series_page_offers_its_calendar_file(
    signed_in, client_user, provider, weekly_type, first
):
    booked = book_weekly(client_user, provider, weekly_type, first, count=4)
    html = signed_in.get(reverse("appointments:series", args=[booked.series.pk])).text
    calendar = reverse("appointments:series-calendar", args=[booked.series.pk])
    assert f'<a href="{calendar}" download>Add every session to your calendar</a>' in html
    download = signed_in.get(calendar)
    assert download["Content-Type"] == "text/calendar"
    assert f"UID:{booked.series.calendar_uid}" in download.content.decode()


# --- Cancel this and all following ----------------------------------------------------------


@pytest.fixture
def around_the_clock(provider):
    provider.weekly_hours.update(start=time(0), end=time(23, 30))
    return provider


def soon_series(client_user, provider, kind, *, count=3):
    """A weekly series whose first session is within the 24-hour window now, booked 3 days ago."""
    now = timezone.now()
    start = (now + timedelta(hours=5)).replace(minute=0, second=0, microsecond=0)
    return book_weekly(client_user, provider, kind, start, count=count, now=now - timedelta(days=3))


def hidden_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))


def quote_rows(html: str) -> list[str]:
    return [text(row) for row in re.findall(r'<li class="quote-row[^"]*">(.*?)</li>', html, re.S)]


def test_the_dialog_lists_what_happens_to_each_session_and_the_total(
    signed_in, client_user, around_the_clock, weekly_type, policy
):
    booked = soon_series(client_user, around_the_clock, weekly_type)
    html = signed_in.get(
        reverse("appointments:cancel-following", args=[booked.sessions[0].pk])
    ).text
    rows = quote_rows(html)
    assert len(rows) == 3
    assert rows[0].endswith("Cancelled, $50 late cancellation fee")
    assert rows[1].endswith("Cancelled, free") and rows[2].endswith("Cancelled, free")
    assert "$50 in fees in all." in html
    assert "Cancel 3 sessions and accept $50 in fees" in html
    assert len(hidden_fields(html)["expected_quote"]) == 32


def test_a_session_the_policy_keeps_is_listed_as_kept(
    signed_in, client_user, around_the_clock, weekly_type
):
    PolicyFactory(provider=around_the_clock, late_cancel="refuse")
    booked = soon_series(client_user, around_the_clock, weekly_type)
    html = signed_in.get(
        reverse("appointments:cancel-following", args=[booked.sessions[0].pk])
    ).text
    rows = quote_rows(html)
    assert rows[0].split(" Kept: ")[1].startswith("Online cancellation closed")
    assert "No fee." in html and "2 sessions cancelled, 1 kept" in html
    shown = hidden_fields(html)
    response = signed_in.post(
        reverse("appointments:cancel-following", args=[booked.sessions[0].pk]), shown
    )
    assert response.status_code == 302
    statuses = [
        each.status for each in Appointment.objects.filter(series=booked.series).order_by("start")
    ]
    assert statuses == ["scheduled", "cancelled", "cancelled"]
    assert not Fee.objects.exists()


def test_confirming_cancels_this_and_the_following_and_charges_the_fee_shown(
    signed_in, client_user, around_the_clock, weekly_type, policy
):
    booked = soon_series(client_user, around_the_clock, weekly_type)
    url = reverse("appointments:cancel-following", args=[booked.sessions[0].pk])
    shown = hidden_fields(signed_in.get(url).text)
    response = signed_in.post(url, {**shown, "reason": "Moving away"}, follow=True)
    assert "3 sessions cancelled from" in unescape(response.text)
    assert "A $50 late cancellation fee applies to" in response.text
    assert "Message your provider to verify</a>" in response.text
    assert not Appointment.objects.filter(series=booked.series, status="scheduled").exists()
    assert Fee.objects.get().amount == 50
    assert 'class="appt-series"' not in section(response.text, "upcoming-heading")


def test_a_list_that_changed_since_it_was_shown_is_asked_again_with_409(
    signed_in, client_user, around_the_clock, weekly_type, policy
):
    booked = soon_series(client_user, around_the_clock, weekly_type)
    url = reverse("appointments:cancel-following", args=[booked.sessions[0].pk])
    shown = hidden_fields(signed_in.get(url).text)
    appointment_cancel(appointment=booked.sessions[2], actor=client_user)
    response = signed_in.post(url, shown)
    assert response.status_code == 409
    assert "What ending these sessions costs changed while this page was open" in response.text
    assert len(quote_rows(response.text)) == 2
    assert hidden_fields(response.text)["expected_quote"] != shown["expected_quote"]
    assert Appointment.objects.filter(series=booked.series, status="scheduled").count() == 2
    assert not Fee.objects.exists()
    # A page that sent no list at all is asked the same way.
    assert signed_in.post(url, {"expected_start": shown["expected_start"]}).status_code == 409


def test_htmx_asks_again_inside_the_dialog_and_finishes_in_place(
    signed_in, client_user, around_the_clock, weekly_type, policy
):
    booked = soon_series(client_user, around_the_clock, weekly_type)
    url = reverse("appointments:cancel-following", args=[booked.sessions[1].pk])
    htmx = {"HX-Request": "true"}
    dialog = signed_in.get(url, headers=htmx).text
    assert "<html" not in dialog and 'id="dialog-title"' in dialog and "data-dialog-close" in dialog
    again = signed_in.post(url, {**hidden_fields(dialog), "expected_quote": "old"}, headers=htmx)
    assert again.status_code == 200 and "changed while this page was open" in again.text
    done = signed_in.post(url, hidden_fields(again.text), headers=htmx)
    assert done.status_code == 200
    assert "Sessions cancelled</h2>" in done.text and "data-dialog-focus" in done.text
    assert 'data-hx-swap-oob="true"' in done.text
    assert f'id="appointment-{booked.sessions[1].pk}"' not in done.text
    assert f'id="appointment-{booked.sessions[0].pk}"' in done.text  # before it: kept


def test_a_cancelled_session_cannot_end_the_series(
    signed_in, client_user, provider, weekly_type, first
):
    booked = book_weekly(client_user, provider, weekly_type, first)
    appointment_cancel(appointment=booked.sessions[0], actor=client_user)
    url = reverse("appointments:cancel-following", args=[booked.sessions[0].pk])
    assert signed_in.get(url).status_code == 409
    assert signed_in.post(url, {"expected_quote": "x"}).status_code == 409
    assert Appointment.objects.filter(series=booked.series, status="scheduled").count() == 3

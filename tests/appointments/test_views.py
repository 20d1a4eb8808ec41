from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appointments import selectors
from appointments.models import Appointment, CareTeamMember
from tests.factories import AppointmentFactory, AppointmentTypeFactory, UserFactory
from tests.pages import section

pytestmark = pytest.mark.django_db


@pytest.fixture
def slot(provider, session_type, client_user):
    now = timezone.now()
    return selectors.open_slots(
        provider=provider,
        appointment_type=session_type,
        client=client_user,
        now=now,
        window_start=now + timedelta(days=2),
    )[0]


@pytest.fixture
def urls(provider, session_type):
    return {
        "book": reverse("appointments:book"),
        "book-type": reverse("appointments:book-type", args=[provider.pk]),
        "book-time": reverse("appointments:book-time", args=[provider.pk, session_type.pk]),
    }


def booking(provider, kind, start) -> dict:
    """What the review page's form posts: the time and the policy it showed."""
    terms = selectors.terms_in_force(provider, kind).token
    return {"start": start.isoformat(), "expected_terms": terms}


def review_url(provider, kind, start=None):
    url = reverse("appointments:book-review", args=[provider.pk, kind.pk])
    return url if start is None else f"{url}?start={start.isoformat().replace('+', '%2B')}"


# --- Access ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["book", "book-type", "book-time"])
def test_anonymous_visitors_are_sent_to_sign_in(client, urls, name):
    response = client.get(urls[name])
    assert response.status_code == 302
    assert response.url.startswith(reverse("sign-in"))


@pytest.mark.parametrize("name", ["book", "book-type", "book-time"])
def test_the_client_sees_each_booking_step(signed_in, urls, name):
    assert signed_in.get(urls[name]).status_code == 200


def test_the_picker_and_the_review_read_the_type_and_its_provider_together(
    signed_in, urls, provider, session_type, slot
):
    for url in [urls["book-time"], review_url(provider, session_type, slot)]:
        with CaptureQueriesContext(connection) as queries:
            assert signed_in.get(url).status_code == 200
        reads = [query["sql"] for query in queries if "appointments_provider" in query["sql"]]
        assert len(reads) == 1 and "appointments_appointmenttype" in reads[0], url


@pytest.mark.parametrize("name", ["book-type", "book-time"])
def test_a_provider_off_the_care_team_is_a_404(client, stranger, urls, name):
    client.force_login(stranger)
    assert client.get(urls[name]).status_code == 404


def test_someone_elses_review_page_is_a_404(client, stranger, provider, session_type, slot):
    client.force_login(stranger)
    assert client.get(review_url(provider, session_type, slot)).status_code == 404
    response = client.post(review_url(provider, session_type), {"start": slot.isoformat()})
    assert response.status_code == 404
    assert not Appointment.objects.exists()


def test_another_clients_calendar_file_is_a_404(client, stranger, client_user, session_type):
    appointment = AppointmentFactory(appointment_type=session_type, client=client_user)
    client.force_login(stranger)
    assert client.get(reverse("appointments:calendar", args=[appointment.pk])).status_code == 404


@pytest.mark.parametrize("name", ["book", "book-type", "book-time"])
def test_pages_refuse_post(signed_in, urls, name):
    assert signed_in.post(urls[name]).status_code == 405


def test_the_list_refuses_post(signed_in):
    assert signed_in.post(reverse("appointments:list")).status_code == 405


def test_review_refuses_put(signed_in, provider, session_type):
    assert signed_in.put(review_url(provider, session_type)).status_code == 405


@pytest.mark.parametrize(
    "path",
    [
        "/appointments/book/999999/",
        "/appointments/book/99999999999999999999999/",
        "/appointments/book/-1/",
        "/appointments/book/abc/",
        "/appointments/99999999999999999999999/calendar.ics",
    ],
)
def test_bogus_ids_are_404s(signed_in, path):
    assert signed_in.get(path).status_code == 404


def test_a_bogus_type_is_a_404(signed_in, provider):
    url = reverse("appointments:book-time", args=[provider.pk, 999999])
    assert signed_in.get(url).status_code == 404


def test_an_inactive_type_is_a_404(signed_in, provider, session_type):
    session_type.is_active = False
    session_type.save()
    url = reverse("appointments:book-time", args=[provider.pk, session_type.pk])
    assert signed_in.get(url).status_code == 404


def test_another_providers_type_is_a_404(signed_in, provider):
    foreign = AppointmentTypeFactory()
    url = reverse("appointments:book-time", args=[provider.pk, foreign.pk])
    assert signed_in.get(url).status_code == 404


# --- The steps ------------------------------------------------------------------------------


def test_step_one_offers_only_the_care_team(signed_in, provider):
    from tests.factories import ProviderFactory

    ProviderFactory(display_name="Dr. Not Mine")
    html = signed_in.get(reverse("appointments:book")).text
    assert "Dr. Maya Okafor" in html
    assert "Dr. Not Mine" not in html


def test_step_two_offers_only_types_bookable_online(signed_in, provider, session_type):
    AppointmentTypeFactory(provider=provider, name="Office only", bookable_online=False)
    AppointmentTypeFactory(provider=provider, name="Retired", is_active=False)
    html = signed_in.get(reverse("appointments:book-type", args=[provider.pk])).text
    assert "Therapy session" in html
    assert "Office only" not in html and "Retired" not in html


def test_the_picker_lists_days_and_times_with_full_accessible_names(signed_in, urls, slot):
    local = timezone.localtime(slot, timezone=__import__("zoneinfo").ZoneInfo("America/New_York"))
    response = signed_in.get(f"{urls['book-time']}?day={local:%Y-%m-%d}")
    assert response.status_code == 200
    label = f'aria-label="{local:%A} {local.day} {local:%B}, {local.hour % 12 or 12}:{local:%M %p}"'
    assert label in response.text
    assert f'?day={local:%Y-%m-%d}" data-hx-get' in response.text


def test_the_picker_answers_htmx_with_only_its_region(signed_in, urls, slot):
    response = signed_in.get(urls["book-time"], headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="picker"')
    assert "<html" not in response.text


def test_a_malformed_day_gets_a_message(signed_in, urls):
    response = signed_in.get(f"{urls['book-time']}?day=2026-02-31")
    assert response.status_code == 400
    assert "That date isn&#x27;t valid" in response.text


def test_a_day_without_openings_gets_a_message_and_the_open_days(signed_in, urls, slot):
    past_day = (timezone.now() - timedelta(days=3)).date()
    response = signed_in.get(f"{urls['book-time']}?day={past_day:%Y-%m-%d}")
    assert response.status_code == 200
    assert "There are no open times on" in response.text
    assert 'class="time"' in response.text


def test_no_hours_means_a_clear_empty_state(signed_in, provider, session_type, urls):
    provider.weekly_hours.all().delete()
    html = signed_in.get(urls["book-time"]).text
    assert "No open times in the next 60 days" in html


def test_the_review_page_shows_the_booking_in_the_clients_zone(
    signed_in, provider, session_type, slot
):
    response = signed_in.get(review_url(provider, session_type, slot))
    assert response.status_code == 200
    local = slot.astimezone(__import__("zoneinfo").ZoneInfo("America/New_York"))
    assert f"{local:%A} {local.day} {local:%B %Y}" in response.text
    assert "America/New York" in response.text
    assert "Dr. Maya Okafor" in response.text
    assert "Confirm booking" in response.text


@pytest.mark.parametrize(
    "bad", ["tomorrow", "2026-13-01T10:00:00+00:00", "2026-12-03T10:00:00", "x" * 500]
)
def test_a_malformed_start_gets_a_message_and_books_nothing(signed_in, provider, session_type, bad):
    response = signed_in.post(review_url(provider, session_type), {"start": bad})
    assert response.status_code == 400
    assert "isn&#x27;t valid" in response.text
    assert not Appointment.objects.exists()


def test_a_start_outside_the_hours_gets_a_message_and_books_nothing(
    signed_in, provider, session_type, slot
):
    night = slot.astimezone(provider.zone).replace(hour=23)
    page = signed_in.get(review_url(provider, session_type, night))
    assert "That time isn&#x27;t available" in page.text
    response = signed_in.post(
        review_url(provider, session_type), booking(provider, session_type, night)
    )
    assert response.status_code == 409
    assert not Appointment.objects.exists()


def test_confirming_books_and_returns_to_the_list_with_a_message(
    signed_in, client_user, provider, session_type, slot
):
    response = signed_in.post(
        review_url(provider, session_type), booking(provider, session_type, slot)
    )
    assert response.status_code == 302
    assert response.url == reverse("appointments:list")
    appointment = Appointment.objects.get()
    assert (appointment.client, appointment.start, appointment.booked_by) == (
        client_user,
        slot,
        client_user,
    )
    page = signed_in.get(response.url).text
    assert "Booked:" in page
    assert f'id="appointment-{appointment.pk}"' in page


def test_a_time_taken_meanwhile_gets_409_and_fresh_times(signed_in, provider, session_type, slot):
    rival = UserFactory()
    CareTeamMember.objects.create(provider=provider, client=rival)
    AppointmentFactory(appointment_type=session_type, client=rival, start=slot)
    response = signed_in.post(
        review_url(provider, session_type), booking(provider, session_type, slot)
    )
    assert response.status_code == 409
    assert "That time was just taken" in response.text
    assert 'class="time"' in response.text
    assert Appointment.objects.count() == 1


# --- The Appointments tab -------------------------------------------------------------------


def test_cards_show_time_in_the_clients_zone_provider_type_and_place(
    signed_in, client_user, session_type
):
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=4)
    appointment = AppointmentFactory(appointment_type=session_type, client=client_user, start=start)
    html = signed_in.get(reverse("appointments:list")).text
    local = start.astimezone(client_user.zone)
    assert f"{local:%A} {local.day} {local:%B}, {local.hour % 12 or 12}:00 {local:%p}" in html
    assert local.tzname() in html  # EST or EDT
    assert "50 min" in html
    assert "Dr. Maya Okafor" in html and "Therapy session" in html
    assert session_type.video_link in html
    assert reverse("appointments:calendar", args=[appointment.pk]) in html


def test_upcoming_are_soonest_first_and_past_have_their_own_section(
    signed_in, client_user, session_type
):
    now = timezone.now().replace(second=0, microsecond=0)
    later = AppointmentFactory(
        appointment_type=session_type, client=client_user, start=now + timedelta(days=5)
    )
    sooner = AppointmentFactory(
        appointment_type=session_type, client=client_user, start=now + timedelta(days=2)
    )
    past = AppointmentFactory(
        appointment_type=session_type,
        client=client_user,
        start=now - timedelta(days=3),
        status="completed",
    )
    html = signed_in.get(reverse("appointments:list")).text
    upcoming, past_part = html.split('id="past-heading"')
    assert upcoming.index(f"appointment-{sooner.pk}") < upcoming.index(f"appointment-{later.pk}")
    assert f"appointment-{past.pk}" in past_part and f"appointment-{past.pk}" not in upcoming
    # Upcoming cards keep their join link and calendar file even when there is a past section.
    assert upcoming.count(session_type.video_link) == 2
    assert upcoming.count("Add to calendar") == 2
    assert past_part.count(session_type.video_link) == 0


def test_cancelled_appointments_never_appear_among_the_upcoming(
    signed_in, client_user, session_type
):
    gone = AppointmentFactory(appointment_type=session_type, client=client_user, status="cancelled")
    html = signed_in.get(reverse("appointments:list")).text
    assert f"appointment-{gone.pk}" not in section(html, "upcoming-heading")
    assert "You have no upcoming appointments" in html
    assert f"appointment-{gone.pk}" in section(html, "cancelled-heading")


def test_another_clients_appointments_are_not_listed(signed_in, stranger, session_type):
    theirs = AppointmentFactory(appointment_type=session_type, client=stranger)
    assert f"appointment-{theirs.pk}" not in signed_in.get(reverse("appointments:list")).text


def count_queries(browser, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert browser.get(url).status_code == 200
    return len(queries)


def test_the_list_runs_the_same_number_of_queries_however_many_appointments(
    signed_in, client_user, session_type
):
    from tests.factories import ProviderFactory

    url = reverse("appointments:list")
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    AppointmentFactory(
        appointment_type=session_type, client=client_user, start=now + timedelta(days=1)
    )
    baseline = count_queries(signed_in, url)
    for i in range(2, 25):
        kind = AppointmentTypeFactory(provider=ProviderFactory())
        AppointmentFactory(appointment_type=kind, client=client_user, start=now + timedelta(days=i))
        AppointmentFactory(
            appointment_type=kind,
            client=client_user,
            start=now - timedelta(days=i),
            status="completed",
        )
    assert count_queries(signed_in, url) == baseline


def test_the_calendar_file_has_a_stable_uid(signed_in, client_user, session_type):
    appointment = AppointmentFactory(appointment_type=session_type, client=client_user)
    url = reverse("appointments:calendar", args=[appointment.pk])
    first, second = signed_in.get(url), signed_in.get(url)
    assert first["Content-Type"] == "text/calendar"
    assert "attachment" in first["Content-Disposition"]
    uid = f"UID:{appointment.calendar_uid}"
    assert uid in first.text and uid in second.text
    assert "DTSTART:" in first.text and "SUMMARY:Appointment with Dr. Maya Okafor" in first.text
    assert "Therapy session" not in first.text


def test_the_picker_shows_a_fortnight_of_days_at_a_time(
    signed_in, urls, provider, session_type, client_user
):
    import re

    html = signed_in.get(urls["book-time"]).text
    days = re.findall(r'class="day" href="\?day=([\d-]+)"', html)
    assert len(days) == 14
    later = re.search(r'href="\?day=([\d-]+)" data-hx-get="[^"]+">Later dates', html).group(1)
    assert later not in days and later > days[-1]
    assert "Earlier dates" not in html
    page_two = signed_in.get(f"{urls['book-time']}?day={later}").text
    second_days = re.findall(r'class="day" href="\?day=([\d-]+)"', page_two)
    assert second_days[0] == later
    assert f'?day={days[-1]}" data-hx-get="?day={days[-1]}">‹ Earlier dates' in page_two

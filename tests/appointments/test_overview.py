"""
The Appointments tab is an overview of a bounded size: the next few upcoming, the last few past
and cancelled, fees in sum; every list has a page of its own, a page at a time.
"""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, Fee
from appointments.views import CANCELLED_SHOWN, PAST_SHOWN, PER_PAGE, UPCOMING_SHOWN
from tests.factories import AppointmentFactory
from tests.pages import section

pytestmark = pytest.mark.django_db
OVERVIEW = reverse("appointments:list")
PAGES = {
    "upcoming": reverse("appointments:upcoming"),
    "past": reverse("appointments:past"),
    "cancelled": reverse("appointments:cancelled"),
    "fees": reverse("appointments:fees"),
}


def hour(days: int):
    return timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=days)


def make(client_user, session_type, days, **fields):
    return [
        AppointmentFactory(
            appointment_type=session_type, client=client_user, start=hour(day), **fields
        )
        for day in days
    ]


def cards(html: str) -> list[int]:
    return [
        int(pk)
        for pk in re.findall(r'<article class="appt-card[^"]*" id="appointment-(\d+)"', html)
    ]


def fee_rows(html: str) -> list[str]:
    """Each fee row's words, as they read."""
    rows = re.findall(r'<li class="fee-row">(.*?)</li>', html, re.DOTALL)
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in rows]


def measure(browser, url) -> tuple[int, int]:
    """Queries and bytes of a page."""
    with CaptureQueriesContext(connection) as queries:
        response = browser.get(url)
    assert response.status_code == 200
    return len(queries), len(response.content)


# --- The overview ---------------------------------------------------------------------------


def test_the_overview_shows_the_next_few_upcoming_and_leads_to_the_rest(
    signed_in, client_user, session_type
):
    upcoming = make(client_user, session_type, range(1, UPCOMING_SHOWN + 3))
    html = signed_in.get(OVERVIEW).text
    shown = cards(section(html, "upcoming-heading"))
    assert shown == [appointment.pk for appointment in upcoming[:UPCOMING_SHOWN]]
    assert f'href="{PAGES["upcoming"]}">See all upcoming appointments' in html


def test_with_no_more_than_it_shows_there_is_no_link_to_the_rest(
    signed_in, client_user, session_type
):
    make(client_user, session_type, range(1, UPCOMING_SHOWN + 1))
    make(client_user, session_type, range(-PAST_SHOWN, 0), status="completed")
    html = signed_in.get(OVERVIEW).text
    assert len(cards(section(html, "upcoming-heading"))) == UPCOMING_SHOWN
    assert len(cards(section(html, "past-heading"))) == PAST_SHOWN
    assert "See all" not in html


def test_the_overview_shows_the_latest_past_and_cancelled_and_leads_to_the_rest(
    signed_in, client_user, session_type
):
    past = make(client_user, session_type, range(-1, -PAST_SHOWN - 3, -1), status="completed")
    cancelled = make(client_user, session_type, range(2, CANCELLED_SHOWN + 4), status="cancelled")
    html = signed_in.get(OVERVIEW).text
    assert cards(section(html, "past-heading")) == [a.pk for a in past[:PAST_SHOWN]]
    # Newest first: the cancelled appointment furthest ahead leads.
    newest = sorted(cancelled, key=lambda a: a.start, reverse=True)
    assert cards(section(html, "cancelled-heading")) == [a.pk for a in newest[:CANCELLED_SHOWN]]
    assert f'href="{PAGES["past"]}">See all past appointments' in html
    assert f'href="{PAGES["cancelled"]}">See all cancelled appointments' in html


def test_fees_are_summed_by_status_and_currency_with_a_page_of_their_own(
    signed_in, client_user, session_type
):
    late, missed, waived, euro = make(client_user, session_type, [-1, -2, -3, -4])
    Fee.objects.create(appointment=late, kind="late_cancel", amount=40, currency="USD")
    Fee.objects.create(appointment=missed, kind="no_show", amount="12.50", currency="USD")
    Fee.objects.create(
        appointment=waived, kind="no_show", amount=30, currency="USD", status="waived"
    )
    Fee.objects.create(appointment=euro, kind="no_show", amount=20, currency="EUR")
    html = section(signed_in.get(OVERVIEW).text, "fees-heading")
    assert fee_rows(html) == [
        "1 fee €20 Pending",
        "2 fees $52.50 Pending",
        "1 fee $30 Waived",
    ]
    assert f'href="{PAGES["fees"]}">See every fee' in html


def test_a_client_without_fees_sees_no_fees_section(signed_in, client_user, session_type):
    make(client_user, session_type, [-1], status="completed")
    assert 'id="fees-heading"' not in signed_in.get(OVERVIEW).text


def test_the_overview_is_the_same_size_and_queries_for_twenty_or_a_thousand(
    signed_in, client_user, session_type
):
    """
    Bounded: a client with 20 upcoming and 200 past (one with a fee), or 1,000 upcoming and a
    fee on every past appointment, gets the same queries and (within the lengths of the
    numbers) the same page.
    """
    make(client_user, session_type, range(1, 21))
    past = make(client_user, session_type, range(-1, -201, -1), status="completed")
    Fee.objects.create(appointment=past[0], kind="no_show", amount=10, currency="USD")
    queries, size = measure(signed_in, OVERVIEW)
    assert size < 40_000
    rows = [
        Appointment(
            appointment_type=session_type,
            provider=session_type.provider,
            client=client_user,
            booked_by=client_user,
            start=hour(0) + timedelta(days=21, hours=i),
            end=hour(0) + timedelta(days=21, hours=i) + session_type.duration,
        )
        for i in range(980)
    ]
    Appointment.objects.bulk_create(rows)
    Fee.objects.bulk_create(
        Fee(appointment=appointment, kind="no_show", amount=10, currency="USD")
        for appointment in past[1:]
    )
    more_queries, more_size = measure(signed_in, OVERVIEW)
    assert more_queries == queries
    assert more_size - size < 1_000


def test_the_overview_reads_only_the_parts_that_have_anything(signed_in, client_user, session_type):
    """
    One query says whether there are invitations, fees or waitlist entries, and whether the
    client can book; each part that has anything costs its own query, the others none.
    """
    from appointments.models import CareTeamInvitation, WaitlistEntry

    make(client_user, session_type, [1, -1])
    bare = measure(signed_in, OVERVIEW)[0]
    (gone,) = make(client_user, session_type, [-2], status="completed")
    Fee.objects.create(appointment=gone, kind="no_show", amount=10, currency="USD")
    assert measure(signed_in, OVERVIEW)[0] == bare + 1
    CareTeamInvitation.objects.create(
        provider=session_type.provider, email=client_user.email, name="", created_at=timezone.now()
    )
    page = signed_in.get(OVERVIEW).text
    assert measure(signed_in, OVERVIEW)[0] == bare + 2 and 'id="invitations-heading"' in page
    WaitlistEntry.objects.create(
        client=client_user, provider=session_type.provider, appointment_type=session_type
    )
    assert measure(signed_in, OVERVIEW)[0] == bare + 3  # the entries with their offers


def test_a_fee_names_its_appointments_client_however_it_is_made(client_user, session_type):
    """A client's fees are read by the fee's own client column: it must be the appointment's."""
    first, second = make(client_user, session_type, [-3, -2], status="no_show")
    made = Fee.objects.create(appointment=first, kind="no_show", amount=10, currency="USD")
    (bulk,) = Fee.objects.bulk_create(
        [Fee(appointment=second, kind="no_show", amount=5, currency="USD")]
    )
    assert made.client == bulk.client == client_user
    assert list(Fee.objects.of_client(client_user).order_by("amount")) == [bulk, made]


def test_the_fee_totals_are_the_sums_of_the_clients_fees_to_the_cent(session_type):
    """Summed by the database by status and currency: the same as each fee added up here."""
    import random
    from collections import Counter
    from decimal import Decimal

    from appointments import selectors
    from tests.factories import UserFactory

    chance = random.Random(5)
    for _ in range(15):
        client = UserFactory()
        days = chance.sample(range(-60, -1), chance.randint(0, 6))
        for appointment in make(client, session_type, days, status="no_show"):
            Fee.objects.create(
                appointment=appointment,
                kind=chance.choice(["no_show", "late_cancel"]),
                amount=Decimal(chance.randint(1, 50_000)) / 100,
                currency=chance.choice(["USD", "EUR"]),
                status=chance.choice(["pending", "paid", "waived"]),
            )
        sums: Counter = Counter()
        counts: Counter = Counter()
        for fee in Fee.objects.filter(appointment__client=client):
            sums[fee.status, fee.currency] += fee.amount
            counts[fee.status, fee.currency] += 1
        wanted = {key: (sums[key], counts[key]) for key in counts}
        got = selectors.fee_totals(client)
        assert {
            (each.status, each.total.currency): (each.total.amount, each.count) for each in got
        } == wanted
        assert all(str(each.total.amount) == f"{each.total.amount:.2f}" for each in got)
        order = [(list(Fee.Status).index(each.status), each.total.currency) for each in got]
        assert order == sorted(order)


# --- A page of their own --------------------------------------------------------------------


def link(html: str, rel: str) -> str | None:
    """The href of the page link `rel` ("next", "prev"), or None when the page has none."""
    found = re.search(rf'href="([^"]*)" rel="{rel}"', html)
    return unescape(found[1]) if found else None


def walk(browser, url: str, start: str = "", rel: str = "next") -> list[str]:
    """Each page's html, following the `rel` links from `url` + `start` to the list's end."""
    pages, query = [], start
    while query is not None:
        pages.append(browser.get(url + query).text)
        query = link(pages[-1], rel)
    return pages


def test_every_upcoming_appointment_is_on_its_pages_in_order_with_its_menu(
    signed_in, client_user, session_type
):
    upcoming = make(client_user, session_type, range(1, 2 * PER_PAGE + 6))
    wanted = [appointment.pk for appointment in upcoming]
    forwards = walk(signed_in, PAGES["upcoming"])
    assert [len(cards(html)) for html in forwards] == [PER_PAGE, PER_PAGE, 5]
    assert sum((cards(html) for html in forwards), []) == wanted
    assert forwards[0].count('class="menu-button"') == PER_PAGE
    assert 'rel="prev"' not in forwards[0] and 'href="?page=last"' in forwards[0]
    assert 'rel="next"' not in forwards[-1] and 'href="?page=first"' in forwards[-1]
    # From the last page back, the same pages; the last page holds the last PER_PAGE.
    backwards = walk(signed_in, PAGES["upcoming"], "?page=last", rel="prev")
    assert [len(cards(html)) for html in backwards] == [PER_PAGE, PER_PAGE, 5]
    assert sum((cards(html) for html in reversed(backwards)), []) == wanted


@pytest.mark.parametrize(
    "query",
    [
        {"page": "0"},
        {"page": "2"},  # page numbers are gone: an old link reads as the first page
        {"page": "abc"},
        {"after": "abc"},
        {"after": "1_2_3"},
        {"before": "-5_3"},
        {"after": "99999999999999999999_1"},
        {"after": "999999999999999999_1"},  # past the latest instant the portal takes
        {"before": "1_9999999999999999999"},
        {"after": "1%00_1"},
    ],
)
def test_a_position_that_is_no_page_of_ours_shows_the_first_page(
    signed_in, client_user, session_type, query
):
    upcoming = make(client_user, session_type, range(1, PER_PAGE + 3))
    for url in PAGES.values():
        assert signed_in.get(url, query).status_code == 200
    first = [appointment.pk for appointment in upcoming[:PER_PAGE]]
    assert cards(signed_in.get(PAGES["upcoming"], query).text) == first


def test_a_link_past_the_end_of_a_list_that_shrank_shows_its_last_page(
    signed_in, client_user, session_type
):
    upcoming = make(client_user, session_type, range(1, PER_PAGE + 3))
    next_page = link(signed_in.get(PAGES["upcoming"]).text, "next")
    Appointment.objects.filter(pk__in=[a.pk for a in upcoming[PER_PAGE:]]).update(
        status="cancelled"
    )
    html = signed_in.get(PAGES["upcoming"] + next_page).text
    assert cards(html) == [appointment.pk for appointment in upcoming[:PER_PAGE]]


def test_rows_of_one_time_keep_one_order_across_pages(signed_in, client_user, session_type):
    """Cancelled appointments may share a start; none is lost or shown twice between pages."""
    same = [
        AppointmentFactory(
            appointment_type=session_type, client=client_user, start=hour(-3), status="cancelled"
        )
        for _ in range(PER_PAGE + 4)
    ]
    make(client_user, session_type, [-1, -9], status="cancelled")
    shown = sum((cards(html) for html in walk(signed_in, PAGES["cancelled"])), [])
    assert len(shown) == len(set(shown)) == PER_PAGE + 6
    assert shown[1 : PER_PAGE + 5] == sorted((a.pk for a in same), reverse=True)
    back = walk(signed_in, PAGES["cancelled"], "?page=last", rel="prev")
    assert sum((cards(html) for html in reversed(back)), []) == shown


def test_the_past_and_cancelled_pages_are_newest_first_and_never_mix(
    signed_in, client_user, session_type
):
    past = make(client_user, session_type, range(-1, -PER_PAGE - 3, -1), status="completed")
    cancelled = make(client_user, session_type, [-5, 3], status="cancelled")
    make(client_user, session_type, [1, 2])
    shown = sum((cards(html) for html in walk(signed_in, PAGES["past"])), [])
    assert shown == [appointment.pk for appointment in past]
    assert cards(signed_in.get(PAGES["cancelled"]).text) == [cancelled[1].pk, cancelled[0].pk]


def test_the_fees_page_lists_every_fee_newest_first(signed_in, client_user, session_type):
    appointments = make(client_user, session_type, range(-1, -PER_PAGE - 3, -1), status="completed")
    for appointment in appointments:
        Fee.objects.create(appointment=appointment, kind="no_show", amount=10, currency="USD")
    first, second = walk(signed_in, PAGES["fees"])
    assert len(fee_rows(first)) == 1 + PER_PAGE  # the sum, then a page
    assert len(fee_rows(second)) == 1 + 2
    assert fee_rows(first)[0] == "22 fees $220 Pending"


def test_each_page_shows_the_clients_own_and_nobody_elses(
    signed_in, client_user, stranger, session_type
):
    theirs = [
        *make(stranger, session_type, [1]),
        *make(stranger, session_type, [-1], status="completed"),
        *make(stranger, session_type, [-2], status="cancelled"),
    ]
    Fee.objects.create(appointment=theirs[1], kind="no_show", amount=99, currency="USD")
    for url in [OVERVIEW, *PAGES.values()]:
        html = signed_in.get(url).text
        assert not any(f"appointment-{appointment.pk}" in html for appointment in theirs)
        assert "$99" not in html


@pytest.mark.parametrize("name", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, name):
    response = client.get(PAGES[name])
    assert response.status_code == 302 and response.url.startswith(reverse("sign-in"))


@pytest.mark.parametrize("name", PAGES)
def test_the_pages_take_no_post(signed_in, name):
    assert signed_in.post(PAGES[name]).status_code == 405


def test_each_page_runs_the_same_queries_however_many(signed_in, client_user, session_type):
    def every_page():
        return {url: measure(signed_in, url)[0] for url in PAGES.values()}

    def one_of_each(day):
        (appointment,) = make(client_user, session_type, [day])
        (gone,) = make(client_user, session_type, [-day], status="completed")
        make(client_user, session_type, [day + 100], status="cancelled")
        Fee.objects.create(appointment=gone, kind="no_show", amount=10, currency="USD")
        Fee.objects.create(
            appointment=appointment, kind="late_reschedule", amount=5, currency="USD"
        )

    one_of_each(1)
    baseline = every_page()
    for day in range(2, 60):
        one_of_each(day)
    assert every_page() == baseline


# --- A cancel in the pop-up, from the page of every upcoming appointment -----------------


def test_a_cancel_in_place_redraws_the_page_it_was_opened_from(
    signed_in, client_user, session_type
):
    upcoming = make(client_user, session_type, range(3, PER_PAGE + 8))
    target = upcoming[PER_PAGE + 1]  # on page 2
    cancel = reverse("appointments:cancel", args=[target.pk])
    second_page = link(signed_in.get(PAGES["upcoming"]).text, "next")
    from_page = f"http://testserver{PAGES['upcoming']}{second_page}"
    response = signed_in.post(
        cancel, {"reason": ""}, headers={"HX-Request": "true", "HX-Current-URL": from_page}
    )
    assert response.status_code == 200
    redrawn = section(response.text, "upcoming-heading")
    assert cards(redrawn) == [a.pk for a in upcoming[PER_PAGE:] if a != target]
    assert link(redrawn, "prev") and not link(redrawn, "next")
    # From the overview, the overview's first few.
    response = signed_in.post(
        reverse("appointments:cancel", args=[upcoming[0].pk]),
        {"reason": ""},
        headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver{OVERVIEW}"},
    )
    shown = cards(section(response.text, "upcoming-heading"))
    assert shown == [a.pk for a in upcoming[1:] if a != target][:UPCOMING_SHOWN]

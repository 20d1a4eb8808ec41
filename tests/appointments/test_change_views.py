import re
from datetime import timedelta
from datetime import timezone as datetime_timezone
from urllib.parse import quote, unquote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, Fee
from policies.decisions import Action, Outcome
from tests.factories import PolicyFactory, book, open_slots_after
from tests.pages import section

pytestmark = pytest.mark.django_db


@pytest.fixture
def policy(provider):
    return PolicyFactory(provider=provider)


def book_at(client_user, provider, session_type, *, days, booked_days_ago=3, room_after=False):
    return book(
        client_user,
        provider,
        session_type,
        days=days,
        booked_days_ago=booked_days_ago,
        room_after=room_after,
    )


@pytest.fixture
def appointment(client_user, provider, session_type, policy):
    return book_at(client_user, provider, session_type, days=5, room_after=True)


@pytest.fixture
def soon(client_user, provider, session_type, policy):
    """Inside the 24-hour window: cancelling costs the fee, rescheduling is refused."""
    appointment = book_at(client_user, provider, session_type, days=0)
    assert appointment.start - timezone.now() < timedelta(hours=24), "no slot inside the window"
    return appointment


def url(name, appointment):
    return reverse(f"appointments:{name}", args=[appointment.pk])


def new_slot(appointment):
    """A free time at least a day after the appointment's own."""
    later = [
        slot
        for slot in open_slots_after(
            appointment.client,
            appointment.provider,
            appointment.appointment_type,
            exclude=appointment,
        )
        if slot >= appointment.start + timedelta(days=1)
    ]
    return later[0]


ACTIONS = ["cancel", "reschedule", "reschedule-review", "contact", "calendar"]


# --- Access ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ACTIONS)
def test_anonymous_visitors_are_sent_to_sign_in(client, appointment, name):
    response = client.get(url(name, appointment))
    assert response.status_code == 302 and response.url.startswith(reverse("sign-in"))


@pytest.mark.parametrize("name", ACTIONS)
def test_another_clients_appointment_is_a_404_for_every_action(client, stranger, appointment, name):
    client.force_login(stranger)
    assert (
        client.get(url(name, appointment), {"start": new_slot(appointment).isoformat()}).status_code
        == 404
    )


@pytest.mark.parametrize("name", ["cancel", "reschedule-review"])
def test_another_clients_appointment_is_a_404_for_every_post(client, stranger, appointment, name):
    client.force_login(stranger)
    data = {
        "start": new_slot(appointment).isoformat(),
        "expected_start": appointment.start.isoformat(),
    }
    assert client.post(url(name, appointment), data).status_code == 404
    appointment.refresh_from_db()
    assert appointment.status == "scheduled" and appointment.events.count() == 1


@pytest.mark.parametrize("name", ["cancel", "reschedule"])
def test_the_owner_sees_each_action(signed_in, appointment, name):
    assert signed_in.get(url(name, appointment)).status_code == 200


@pytest.mark.parametrize(
    ("name", "method"),
    [("reschedule", "post"), ("contact", "post"), ("cancel", "put"), ("cancel", "delete")],
)
def test_wrong_methods_are_405(signed_in, appointment, name, method):
    assert getattr(signed_in, method)(url(name, appointment)).status_code == 405


# --- The list -------------------------------------------------------------------------------


def wall(instant, zone) -> str:
    """Wed 2 Dec, 10:00 AM, as the portal writes it."""
    local = instant.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b}, {local.hour % 12 or 12}:{local:%M %p}"


def test_each_card_states_its_rule_and_offers_the_menu(signed_in, appointment, client_user):
    html = signed_in.get(reverse("appointments:list")).text
    deadline = wall(appointment.start - timedelta(hours=24), client_user.zone)
    # Cancelling and moving end together here: one line says so.
    assert f"Free to cancel or reschedule until {deadline}" in html
    assert '<details class="menu">' in html
    assert "Options for the appointment on" in html
    assert "Cancel Appointment" in html and "Reschedule" in html


def test_a_card_inside_the_window_shows_the_fee_and_the_refused_reschedule(signed_in, soon):
    html = signed_in.get(reverse("appointments:list")).text
    assert "A $50 fee applies if you cancel now" in html
    assert "menu-item--unavailable" in html
    assert "Unavailable: Online rescheduling closed" in html


def test_online_cancellation_off_says_so_on_the_card(
    signed_in, client_user, provider, session_type
):
    PolicyFactory(provider=provider, clients_may_cancel=False)
    book_at(client_user, provider, session_type, days=5)
    html = signed_in.get(reverse("appointments:list")).text
    assert "Online cancellation isn&#x27;t available" in html
    assert "message your provider" not in html.lower().replace("message your provider to", "")


def test_a_card_states_both_rules_when_they_differ(signed_in, client_user, provider, session_type):
    PolicyFactory(provider=provider, reschedule_notice=timedelta(hours=72))
    appointment = book_at(client_user, provider, session_type, days=5)
    html = signed_in.get(reverse("appointments:list")).text
    cancel_by = wall(appointment.start - timedelta(hours=24), client_user.zone)
    move_by = wall(appointment.start - timedelta(hours=72), client_user.zone)
    assert f"Free to cancel until {cancel_by}" in html
    assert f"Free to reschedule until {move_by}" in html


def test_an_upcoming_card_shows_its_own_fee_and_no_other(
    signed_in, client_user, provider, session_type, policy
):
    charged = book_at(client_user, provider, session_type, days=4)
    book_at(client_user, provider, session_type, days=6)
    Fee.objects.create(appointment=charged, kind="late_reschedule", amount=15, currency="USD")
    html = signed_in.get(reverse("appointments:list")).text
    cards = html.split('<article class="appt-card')[1:]
    assert "Late reschedule fee: $15 (pending)" in cards[0]
    assert "fee:" not in cards[1]


def test_the_list_stays_flat_in_queries_with_decisions_and_fees(
    signed_in, client_user, provider, session_type, policy
):
    listing = reverse("appointments:list")
    charged = book_at(client_user, provider, session_type, days=3)
    Fee.objects.create(appointment=charged, kind="late_reschedule", amount=10, currency="USD")

    def count():
        with CaptureQueriesContext(connection) as queries:
            signed_in.get(listing)
        return len(queries)

    baseline = count()
    for days in range(4, 14):
        appointment = book_at(client_user, provider, session_type, days=days)
        Fee.objects.create(
            appointment=appointment, kind="late_reschedule", amount=10, currency="USD"
        )
    assert count() == baseline


# --- Cancel ---------------------------------------------------------------------------------


def test_the_confirm_page_states_the_consequence_and_the_policy(signed_in, soon):
    html = signed_in.get(url("cancel", soon)).text
    assert "A $50 fee applies" in html
    assert "Please cancel at least 24 hours ahead" in html
    assert "Cancel and accept the $50 fee" in html


def test_htmx_gets_only_the_dialog_contents(signed_in, appointment):
    response = signed_in.get(url("cancel", appointment), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'id="dialog-title"' in response.text
    assert "data-dialog-close" in response.text  # Keep closes the pop-up, changing nothing


def test_confirming_cancels_and_says_so_with_a_way_to_verify(signed_in, appointment, client_user):
    response = signed_in.post(
        url("cancel", appointment),
        {"reason": "Travelling", "expected_start": appointment.start.isoformat()},
    )
    assert response.status_code == 302
    page = signed_in.get(response.url).text
    local = appointment.start.astimezone(client_user.zone)
    assert f"Your appointment on {local:%a} {local.day} {local:%b}" in page
    assert "was cancelled" in page
    assert f'<a href="{url("contact", appointment)}">Message your provider to verify</a>' in page
    assert f'id="appointment-{appointment.pk}"' not in section(page, "upcoming-heading")
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    assert appointment.events.get(kind="cancelled").reason == "Travelling"


def test_an_htmx_cancel_removes_the_card_in_place(signed_in, appointment):
    response = signed_in.post(
        url("cancel", appointment),
        {"expected_start": appointment.start.isoformat()},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "was cancelled" in response.text
    assert (
        '<section id="upcoming" aria-labelledby="upcoming-heading" data-hx-swap-oob="true">'
        in response.text
    )
    assert f'id="appointment-{appointment.pk}"' not in response.text


def hidden_fields(html: str) -> dict[str, str]:
    """What a form on the page would send back without the person typing anything."""
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))


def test_a_late_cancel_charges_the_fee_shown_and_says_so(signed_in, soon):
    shown = hidden_fields(signed_in.get(url("cancel", soon)).text)
    assert shown["accepted_fee"] == "50.00 USD"
    response = signed_in.post(url("cancel", soon), shown, follow=True)
    assert Fee.objects.get().amount == 50
    assert "was cancelled. A $50 late cancellation fee applies." in response.text
    assert "$50" in response.text  # in the overview's sum of fees
    assert "Late cancellation" in signed_in.get(reverse("appointments:fees")).text


def test_a_cancel_posted_without_the_fee_shown_is_asked_again_with_the_new_terms(signed_in, soon):
    """As if the page was opened before the deadline, when it said "No fee"."""
    response = signed_in.post(url("cancel", soon), {"expected_start": soon.start.isoformat()})
    assert response.status_code == 409
    assert "The terms changed while this page was open: a $50 fee now applies" in response.text
    assert "Cancel and accept the $50 fee" in response.text
    assert hidden_fields(response.text)["accepted_fee"] == "50.00 USD"
    soon.refresh_from_db()
    assert soon.status == "scheduled" and not Fee.objects.exists()


def test_htmx_asks_again_inside_the_dialog(signed_in, soon):
    response = signed_in.post(
        url("cancel", soon),
        {"expected_start": soon.start.isoformat(), "accepted_fee": "20.00 USD"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200  # htmx 2 swaps only 2xx; the dialog says what changed
    assert "<html" not in response.text
    assert "the fee is now $50, not the $20 you saw" in response.text
    assert not Fee.objects.exists()


def test_a_garbled_fee_counts_as_none_shown(signed_in, soon):
    data = {"expected_start": soon.start.isoformat(), "accepted_fee": "lots"}
    assert signed_in.post(url("cancel", soon), data).status_code == 409
    assert not Fee.objects.exists()


def test_a_cancel_the_policy_refuses_changes_nothing_even_posted_by_hand(
    signed_in, client_user, provider, session_type
):
    PolicyFactory(provider=provider, clients_may_cancel=False)
    appointment = book_at(client_user, provider, session_type, days=5)
    response = signed_in.post(
        url("cancel", appointment), {"expected_start": appointment.start.isoformat()}
    )
    assert response.status_code == 403
    assert "Online cancellation isn&#x27;t available" in response.text
    assert "Message your provider" in response.text
    appointment.refresh_from_db()
    assert appointment.status == "scheduled"


def test_a_second_cancel_from_a_stale_page_gets_a_clear_409(signed_in, appointment):
    data = {"expected_start": appointment.start.isoformat()}
    signed_in.post(url("cancel", appointment), data)
    response = signed_in.post(url("cancel", appointment), data)
    assert response.status_code == 409
    assert "already cancelled" in response.text
    assert appointment.events.filter(kind="cancelled").count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"reason": "x" * 501}, "at most 500 characters"),
        ({"expected_start": "yesterday"}, "This page is out of date"),
    ],
)
def test_bad_cancel_input_gets_a_message_and_changes_nothing(signed_in, appointment, data, message):
    response = signed_in.post(url("cancel", appointment), data)
    assert response.status_code == 400
    assert message in response.text
    appointment.refresh_from_db()
    assert appointment.status == "scheduled"


# --- Reschedule -----------------------------------------------------------------------------


def test_the_picker_offers_the_appointments_own_time_neighbours(
    signed_in, appointment, client_user
):
    # Half an hour later overlaps the current booking, and is still offered: it is this one.
    neighbour = appointment.start + timedelta(minutes=30)
    local = neighbour.astimezone(client_user.zone)
    html = signed_in.get(url("reschedule", appointment), {"day": f"{local:%Y-%m-%d}"}).text
    assert quote(neighbour.isoformat(), safe="/") in html
    assert url("reschedule-review", appointment) in html


def test_the_review_shows_old_and_new(signed_in, appointment, client_user):
    new = new_slot(appointment)
    html = signed_in.get(url("reschedule-review", appointment), {"start": new.isoformat()}).text
    old_local, new_local = (
        appointment.start.astimezone(client_user.zone),
        new.astimezone(client_user.zone),
    )
    assert f"<s>{old_local:%A} {old_local.day} {old_local:%B %Y}" in html
    assert f"{new_local:%A} {new_local.day} {new_local:%B %Y}" in html
    assert "Confirm new time" in html


def test_confirming_moves_the_card(signed_in, appointment):
    new = new_slot(appointment)
    response = signed_in.post(
        url("reschedule-review", appointment),
        {"start": new.isoformat(), "expected_start": appointment.start.isoformat()},
    )
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.start == new
    assert "Rescheduled:" in signed_in.get(response.url).text


def test_the_reschedule_picker_never_offers_the_time_it_already_has(signed_in, appointment):
    """Its own time is free for the times around it, but picking it would only be refused."""
    day = timezone.localtime(appointment.start, appointment.client.zone).date().isoformat()
    page = signed_in.get(url("reschedule", appointment), {"day": day}).text
    own = appointment.start.isoformat()
    times = re.findall(r'class="time" href="[^"]*start=([^"&]+)', page)
    assert times, "the day has other times"
    assert all(unquote(start) != own for start in times)
    assert any(
        unquote(start) == (appointment.start + timedelta(minutes=30)).isoformat() for start in times
    ), "a time overlapping its own is offered"


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("offset", ["+00:00", "-05:00", "+09:30"])
def test_the_time_it_already_has_is_no_new_time_to_review_or_confirm(
    signed_in, appointment, method, offset
):
    """However the page writes the instant, its own time gets a message, never a confirm."""
    hours, minutes = int(offset[:3]), int(offset[0] + offset[4:])
    zone = datetime_timezone(timedelta(hours=hours, minutes=minutes))
    own = appointment.start.astimezone(zone).isoformat()
    response = getattr(signed_in, method)(
        url("reschedule-review", appointment),
        {"start": own, "expected_start": appointment.start.isoformat()},
    )
    assert response.status_code == 409
    assert "That is the time it already has. Pick a different time." in response.text
    assert "Confirm new time" not in response.text
    assert 'id="picker"' in response.text
    appointment.refresh_from_db()
    assert appointment.events.count() == 1


def test_a_refused_reschedule_says_why_and_changes_nothing(signed_in, soon):
    page = signed_in.get(url("reschedule", soon))
    assert page.status_code == 403
    assert "Online rescheduling closed" in page.text
    response = signed_in.post(
        url("reschedule-review", soon),
        {"start": new_slot(soon).isoformat(), "expected_start": soon.start.isoformat()},
    )
    assert response.status_code == 403
    soon.refresh_from_db()
    assert soon.events.count() == 1


def test_a_reschedule_from_a_stale_page_gets_409(signed_in, appointment):
    first, second = new_slot(appointment), new_slot(appointment) + timedelta(days=1)
    seen = appointment.start.isoformat()
    signed_in.post(
        url("reschedule-review", appointment), {"start": first.isoformat(), "expected_start": seen}
    )
    response = signed_in.post(
        url("reschedule-review", appointment), {"start": second.isoformat(), "expected_start": seen}
    )
    assert response.status_code == 409
    assert "moved in the meantime" in response.text
    appointment.refresh_from_db()
    assert appointment.start == first


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"start": "soon"},
        {"start": "2026-12-01T10:00:00+00:00"},
        {"start": "2026-12-01T10:00:00+00:00", "expected_start": "nope"},
    ],
)
def test_bad_reschedule_input_gets_a_message_and_changes_nothing(signed_in, appointment, data):
    response = signed_in.post(url("reschedule-review", appointment), data)
    assert response.status_code == 400
    assert 'class="message message--error"' in response.text
    appointment.refresh_from_db()
    assert appointment.events.count() == 1


def test_a_new_time_outside_the_hours_is_refused_with_409(signed_in, appointment):
    night = appointment.start.astimezone(appointment.provider.zone).replace(hour=23)
    response = signed_in.post(
        url("reschedule-review", appointment),
        {"start": night.isoformat(), "expected_start": appointment.start.isoformat()},
    )
    assert response.status_code == 409
    appointment.refresh_from_db()
    assert appointment.start != night


def test_message_your_provider_opens_chat_with_the_appointment(signed_in, appointment, provider):
    response = signed_in.get(url("contact", appointment))
    assert response.status_code == 302
    assert response.url == f"/chat/new/{provider.pk}/?appointment={appointment.pk}"


def test_a_provider_without_chat_shows_the_office_instead(signed_in, appointment, provider):
    provider.uses_chat = False
    provider.save()
    response = signed_in.get(url("contact", appointment))
    assert response.status_code == 200
    html = response.text
    assert "office@practice.example" in html and "+1 312 555 0100" in html
    assert "mailto:office@practice.example?subject=About%20my%20appointment%20on" in html


def test_an_empty_cancel_post_still_cancels_with_no_reason(signed_in, appointment):
    # Every field is optional: a bare POST (no reason, no page time) is a plain cancel.
    assert signed_in.post(url("cancel", appointment)).status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"


@pytest.fixture
def late_to_move(client_user, provider, session_type):
    """Inside the 24-hour window of a policy that lets a late reschedule through for $30."""
    PolicyFactory(provider=provider, late_reschedule="fee", late_reschedule_fee=30)
    appointment = book_at(client_user, provider, session_type, days=0)
    assert appointment.start - timezone.now() < timedelta(hours=24)
    return appointment


def test_a_late_reschedule_carries_the_fee_shown_and_the_message_restates_it(
    signed_in, late_to_move
):
    new = new_slot(late_to_move)
    review = signed_in.get(url("reschedule-review", late_to_move), {"start": new.isoformat()})
    shown = hidden_fields(review.text)
    assert shown["accepted_fee"] == "30.00 USD"
    response = signed_in.post(url("reschedule-review", late_to_move), shown, follow=True)
    assert "A $30 late reschedule fee applies." in response.text
    assert Fee.objects.get().amount == 30


def test_a_reschedule_posted_without_the_fee_shown_is_asked_again(signed_in, late_to_move):
    new = new_slot(late_to_move)
    response = signed_in.post(
        url("reschedule-review", late_to_move),
        {"start": new.isoformat(), "expected_start": late_to_move.start.isoformat()},
    )
    assert response.status_code == 409
    assert "a $30 fee now applies if you reschedule" in response.text
    assert "Reschedule and accept the $30 fee" in response.text
    late_to_move.refresh_from_db()
    assert late_to_move.start != new and not Fee.objects.exists()


@pytest.fixture
def no_chat(provider):
    provider.uses_chat = False
    provider.save(update_fields=["uses_chat"])
    return provider


def test_without_chat_a_refusal_offers_the_office_and_never_chat(
    signed_in, client_user, no_chat, session_type
):
    PolicyFactory(provider=no_chat, clients_may_cancel=False)
    appointment = book_at(client_user, no_chat, session_type, days=5)
    for response in [
        signed_in.get(url("cancel", appointment)),
        signed_in.get(url("cancel", appointment), headers={"HX-Request": "true"}),
        signed_in.post(url("cancel", appointment), {"expected_start": appointment.start}),
    ]:
        text = response.text.lower()
        assert "message your provider" not in text
        assert "doesn't use chat" in text and "office@practice.example" in text


def test_without_chat_the_cancelled_message_points_to_the_office(
    signed_in, client_user, no_chat, session_type
):
    PolicyFactory(provider=no_chat)
    appointment = book_at(client_user, no_chat, session_type, days=5)
    response = signed_in.post(
        url("cancel", appointment), {"expected_start": appointment.start.isoformat()}, follow=True
    )
    assert "Contact the office to verify" in response.text
    assert "Message your provider" not in response.text


def test_the_refusal_after_the_grace_period_names_it(
    signed_in, client_user, provider, session_type
):
    """Booked inside the 24 hours: the 10 minutes after booking were the time to change it."""
    PolicyFactory(provider=provider, late_cancel="refuse", grace_period=timedelta(minutes=10))
    appointment = book_at(client_user, provider, session_type, days=0, booked_days_ago=0)
    Appointment.objects.filter(pk=appointment.pk).update(
        created_at=timezone.now() - timedelta(minutes=30)
    )
    html = signed_in.get(reverse("appointments:list")).text
    assert "when the 10-minute grace period after booking ended" in html
    assert "24 hours before the session" not in html


# --- Pages that explain a refusal ------------------------------------------------------------

DAY = 24 * 3600
# Each way a change can be refused, as the appointment's saved terms and facts make it.
REFUSALS = {
    "not online": ({"clients_may_cancel": False, "clients_may_reschedule": False}, {}),
    "inside the window": ({"cancel_notice": 10 * DAY, "reschedule_notice": 10 * DAY}, {}),
    "grace ended": (
        {"cancel_notice": 10 * DAY, "reschedule_notice": 10 * DAY, "grace_period": 600},
        {"created_at": -timedelta(hours=1)},
    ),
    "booked inside, no grace": (
        {"cancel_notice": 10 * DAY, "reschedule_notice": 10 * DAY, "grace_period": 0},
        {"created_at": -timedelta(hours=1)},
    ),
    "rescheduled enough": ({"max_reschedules": 0, "late_cancel": "refuse"}, {}),
    "started": ({}, {"start": -timedelta(minutes=10)}),
    "cancelled": ({}, {"status": "cancelled"}),
    "completed": ({}, {"status": "completed"}),
    "no-show": ({}, {"status": "no_show"}),
}


def refused(appointment, case: str):
    terms, facts = REFUSALS[case]
    now = timezone.now()
    changes = {
        name: now + value if isinstance(value, timedelta) else value
        for name, value in facts.items()
    }
    if "start" in changes:
        changes["end"] = changes["start"] + appointment.duration
    Appointment.objects.filter(pk=appointment.pk).update(
        policy_terms={**appointment.policy_terms, "late_cancel": "refuse", **terms}, **changes
    )
    appointment.refresh_from_db()
    return appointment


def no_doubled_full_stop(html: str) -> bool:
    return re.search(r"[^.]\.\.(?!\.)", html) is None


@pytest.mark.parametrize(
    ("case", "page"),
    [
        (case, page)
        for case in REFUSALS
        for page in ["cancel", "reschedule", "reschedule-review"]
        if not (case == "rescheduled enough" and page == "cancel")  # a limit on moves only
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_every_refusal_is_one_sentence_with_one_full_stop(signed_in, appointment, case, page, htmx):
    appointment = refused(appointment, case)
    action = Action.CANCEL if page == "cancel" else Action.RESCHEDULE
    decision = appointment.decide(action, timezone.now())
    assert decision.refused
    data = {"start": new_slot(appointment).isoformat()} if page == "reschedule-review" else {}
    response = signed_in.get(
        url(page, appointment), data, headers={"HX-Request": "true"} if htmx else {}
    )
    expected = (
        f"It is {appointment.get_status_display().lower()}: there is nothing to cancel"
        if decision.outcome == Outcome.INACTIVE
        else decision.sentence
    )
    assert expected in response.text.replace("&#x27;", "'")
    assert no_doubled_full_stop(response.text)


@pytest.mark.parametrize("status", ["cancelled", "completed", "no_show"])
@pytest.mark.parametrize("page", ["cancel", "reschedule", "reschedule-review"])
@pytest.mark.parametrize("htmx", [False, True])
def test_a_change_page_for_an_appointment_no_longer_scheduled_says_so_instead_of_asking(
    signed_in, appointment, status, page, htmx
):
    Appointment.objects.filter(pk=appointment.pk).update(status=status)
    label = dict(Appointment.Status.choices)[status].lower()
    data = {"start": new_slot(appointment).isoformat()} if page == "reschedule-review" else {}
    response = signed_in.get(
        url(page, appointment), data, headers={"HX-Request": "true"} if htmx else {}
    )
    html = response.text
    assert "This appointment is no longer scheduled" in html
    assert f"It is {label}: there is nothing to cancel or reschedule." in html
    for question in ["Cancel this appointment?", "Cancel appointment</button>", "Confirm new time"]:
        assert question not in html
    assert f'action="{url(page, appointment)}"' not in html
    assert no_doubled_full_stop(html)


@pytest.mark.parametrize("page", ["cancel", "reschedule", "reschedule-review"])
def test_change_pages_are_never_kept_in_the_browsers_history(signed_in, appointment, page):
    data = {"start": new_slot(appointment).isoformat()} if page == "reschedule-review" else {}
    response = signed_in.get(url(page, appointment), data)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_after_a_cancel_without_javascript_the_confirm_page_says_it_is_cancelled(
    signed_in, appointment
):
    """What Back fetches again (nothing is served from the history cache)."""
    page = signed_in.get(url("cancel", appointment))
    assert "no-store" in page["Cache-Control"]
    signed_in.post(url("cancel", appointment), {"expected_start": appointment.start.isoformat()})
    again = signed_in.get(url("cancel", appointment))
    assert "no-store" in again["Cache-Control"]
    assert "Cancel this appointment?" not in again.text
    assert "It is cancelled: there is nothing to cancel or reschedule." in again.text


def test_a_card_booked_inside_the_window_without_grace_says_so(signed_in, appointment):
    appointment = refused(appointment, "booked inside, no grace")
    html = signed_in.get(reverse("appointments:list")).text.replace("&#x27;", "'")
    assert "Online cancellation was never available for this appointment: it was booked" in html
    assert "grace period" not in html

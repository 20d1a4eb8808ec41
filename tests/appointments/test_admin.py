"""The provider's workspace in the admin: scoping to one practice, and the actions."""

import re
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import quote, unquote

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from appointments import selectors
from appointments.models import (
    CareTeamInvitation,
    CareTeamMember,
    DateOverride,
    Fee,
    OfficeStaff,
)
from appointments.services import appointment_book
from chat.services import conversation_start
from portal.models import User
from portal.practice import join_practice_staff
from tests.factories import (
    AppointmentFactory,
    AppointmentTypeFactory,
    PolicyFactory,
    ProviderFactory,
    UserFactory,
    give_hours,
)
from tests.tasks import sent_mail

pytestmark = pytest.mark.django_db


def practice(name, client):
    """A provider with every kind of object the admin shows."""
    provider = ProviderFactory(display_name=name)
    join_practice_staff(provider.user)
    give_hours(provider)
    CareTeamMember.objects.create(provider=provider, client=client)
    kind = AppointmentTypeFactory(provider=provider)
    policy = PolicyFactory(provider=provider, no_show_fee=Decimal("60"))
    now = timezone.now()
    start = selectors.open_slots(
        provider=provider,
        appointment_type=kind,
        client=client,
        now=now,
        window_start=now + timedelta(days=3),
    )[0]
    appointment = appointment_book(
        client=client,
        provider=provider,
        appointment_type=kind,
        start=start,
        booked_by=client,
        now=now - timedelta(days=2),
    )
    past = AppointmentFactory(
        appointment_type=kind,
        client=client,
        start=now - timedelta(hours=3),
        policy_terms=policy.terms().as_json(),
    )
    fee = Fee.objects.create(
        appointment=appointment, kind="late_reschedule", amount=20, currency="USD"
    )
    DateOverride.objects.create(provider=provider, date=(now + timedelta(days=20)).date())
    conversation = conversation_start(client=client, provider=provider)
    return {
        "provider": provider,
        "policy": policy,
        "appointment": appointment,
        "past": past,
        "fee": fee,
        "member": CareTeamMember.objects.get(provider=provider, client=client),
        "conversation": conversation,
    }


@pytest.fixture
def ours(client_user):
    return practice("Dr. Ours", client_user)


@pytest.fixture
def theirs(stranger):
    return practice("Dr. Theirs", stranger)


OBJECT_PAGES = [
    ("provider", "appointments_provider", ["change", "history", "delete"]),
    ("policy", "appointments_policy", ["change", "history", "delete"]),
    ("appointment", "appointments_appointment", ["change", "history", "delete"]),
    ("fee", "appointments_fee", ["change", "history"]),
    ("member", "appointments_careteammember", ["change", "history", "delete"]),
    ("conversation", "chat_conversation", ["change", "history"]),
]


# Deleting a provider or an appointment is never offered to a practice (403 on its own too).
NEVER_DELETED = {"provider", "appointment"}


def object_urls(objects, *, allowed_only=False):
    for key, prefix, pages in OBJECT_PAGES:
        for page in pages:
            if allowed_only and page == "delete" and key in NEVER_DELETED:
                continue
            yield reverse(f"admin:{prefix}_{page}", args=[objects[key].pk])
    for action in ["cancel", "reschedule", "complete", "no-show"]:
        yield reverse(f"admin:appointment-{action}", args=[objects["appointment"].pk])


def test_a_provider_reaches_every_page_of_their_own_practice(staff_browser, ours):
    browser = staff_browser(ours["provider"].user)
    for url in object_urls(ours, allowed_only=True):
        assert browser.get(url).status_code == 200, url


def test_another_practices_objects_are_not_found_on_any_page(staff_browser, ours, theirs):
    browser = staff_browser(ours["provider"].user)
    for url in object_urls(theirs):
        response = browser.get(url)
        if response.status_code == 302:
            # The admin's answer for an object it can't find: back to the index, with a note.
            assert response.url == reverse("admin:index"), url
            assert "Dr. Theirs" not in browser.get(response.url).text
        else:
            assert response.status_code == 403, url
            assert "Dr. Theirs" not in response.text


def test_posts_to_another_practices_objects_change_nothing(staff_browser, ours, theirs):
    browser = staff_browser(ours["provider"].user)
    appointment = theirs["appointment"]
    for action in ["cancel", "complete", "no-show"]:
        browser.post(reverse(f"admin:appointment-{action}", args=[appointment.pk]), {"reason": "x"})
    browser.post(
        reverse("admin:appointments_provider_change", args=[theirs["provider"].pk]),
        {"display_name": "Hijacked"},
    )
    browser.post(
        reverse("admin:appointments_careteammember_delete", args=[theirs["member"].pk]),
        {"post": "yes"},
    )
    appointment.refresh_from_db()
    theirs["provider"].refresh_from_db()
    assert appointment.status == "scheduled" and appointment.events.count() == 1
    assert theirs["provider"].display_name == "Dr. Theirs"
    assert CareTeamMember.objects.filter(pk=theirs["member"].pk).exists()


@pytest.mark.parametrize(
    "name",
    [
        "appointments_provider",
        "appointments_policy",
        "appointments_appointment",
        "appointments_fee",
        "appointments_careteammember",
        "chat_conversation",
    ],
)
def test_lists_show_only_the_practices_own_rows(staff_browser, ours, theirs, name):
    browser = staff_browser(ours["provider"].user)
    html = browser.get(reverse(f"admin:{name}_changelist") + "?when=all").text
    assert "Sam Stranger" not in html and "Dr. Theirs" not in html


def test_office_staff_see_their_providers_practice(staff_browser, ours, theirs):
    staff = UserFactory(name="Alex Kim")
    OfficeStaff.objects.create(provider=ours["provider"], user=staff)
    join_practice_staff(staff)
    browser = staff_browser(staff)
    assert (
        browser.get(
            reverse("admin:appointments_appointment_change", args=[ours["appointment"].pk])
        ).status_code
        == 200
    )
    assert (
        browser.get(
            reverse("admin:appointments_appointment_change", args=[theirs["appointment"].pk])
        ).status_code
        == 302
    )


def test_a_superuser_sees_both_practices(staff_browser, ours, theirs):
    browser = staff_browser(UserFactory(is_superuser=True, is_staff=True))
    html = browser.get(reverse("admin:appointments_appointment_changelist") + "?when=all").text
    assert "Jordan Lee" in html and "Sam Stranger" in html


def test_autocompletes_never_list_other_people(staff_browser, ours, theirs):
    browser = staff_browser(ours["provider"].user)
    url = reverse("admin:autocomplete")
    for params in [
        {
            "app_label": "appointments",
            "model_name": "officestaff",
            "field_name": "user",
            "term": "s",
        },
        {"app_label": "appointments", "model_name": "provider", "field_name": "user", "term": "s"},
    ]:
        response = browser.get(url, params)
        assert response.status_code == 403
        assert "stranger" not in response.text


def test_foreign_key_choices_are_the_practices_own(staff_browser, ours, theirs):
    browser = staff_browser(ours["provider"].user)
    html = browser.get(reverse("admin:appointments_policy_add")).text
    assert "Dr. Ours" in html and "Dr. Theirs" not in html


def test_a_client_cannot_use_the_admin(staff_browser, client_user, ours):
    browser = staff_browser(client_user)
    assert browser.get(reverse("admin:appointments_appointment_changelist")).status_code == 302


def test_users_are_managed_by_superusers_only(staff_browser, ours):
    browser = staff_browser(ours["provider"].user)
    assert browser.get(reverse("admin:portal_user_changelist")).status_code == 403


# --- The schedule and its actions -----------------------------------------------------------


def test_the_schedule_starts_with_today_and_hides_the_past(staff_browser, ours, client_user):
    old = AppointmentFactory(
        appointment_type=ours["appointment"].appointment_type,
        client=client_user,
        start=timezone.now() - timedelta(days=10),
        status="completed",
    )
    browser = staff_browser(ours["provider"].user)
    html = browser.get(reverse("admin:appointments_appointment_changelist")).text
    assert f"/{ours['appointment'].pk}/change/" in html
    assert f"/{old.pk}/change/" not in html
    past = browser.get(reverse("admin:appointments_appointment_changelist") + "?when=past").text
    assert f"/{old.pk}/change/" in past


def test_the_change_page_shows_history_and_the_actions(staff_browser, ours):
    browser = staff_browser(ours["provider"].user)
    html = browser.get(
        reverse("admin:appointments_appointment_change", args=[ours["appointment"].pk])
    ).text
    assert "History" in html or "history" in html
    assert "Cancel for the client" in html and "Move to another time" in html


def test_cancelling_for_the_client_charges_nothing_and_emails_them(staff_browser, ours):
    provider = ours["provider"]
    appointment = ours["appointment"]
    browser = staff_browser(provider.user)
    response = browser.post(
        reverse("admin:appointment-cancel", args=[appointment.pk]), {"reason": "Provider ill"}
    )
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    event = appointment.events.get(kind="cancelled")
    assert (event.actor, event.reason) == (provider.user, "Provider ill")
    assert not Fee.objects.filter(appointment=appointment, kind="late_cancel").exists()
    assert appointment.client.email in [m.to[0] for m in sent_mail()]


def picked_times(html: str) -> list[str]:
    """The new times the move page's picker offers, as the links carry them."""
    return [
        unquote(start) for start in re.findall(r'class="time" href="[^"?]*\?start=([^"]+)"', html)
    ]


def move_url(appointment) -> str:
    return reverse("admin:appointment-reschedule", args=[appointment.pk])


def test_moving_picks_a_day_then_a_time_then_confirms_it(staff_browser, ours):
    appointment = ours["appointment"]
    browser = staff_browser(ours["provider"].user)
    page = browser.get(move_url(appointment)).text
    days = re.findall(r'class="day" href="\?day=([0-9-]+)"', page)
    assert len(days) > 1 and 'aria-current="date"' in page
    later = browser.get(f"{move_url(appointment)}?day={days[1]}").text
    new = picked_times(later)[0]
    assert (
        datetime.fromisoformat(new).astimezone(ours["provider"].zone).date().isoformat() == days[1]
    )
    review = browser.get(f"{move_url(appointment)}?start={quote(new)}").text
    moved_to = datetime.fromisoformat(new).astimezone(ours["provider"].zone)
    assert f"Move to {moved_to:%a %-d %b, %-I:%M %p}" in review
    assert f'name="start" value="{new}"' in review
    browser.post(
        move_url(appointment), {"start": new, "expected_start": appointment.start.isoformat()}
    )
    appointment.refresh_from_db()
    assert appointment.start.isoformat() == new
    assert appointment.events.get(kind="rescheduled").actor == ours["provider"].user


def test_the_picker_never_offers_the_appointments_own_time(staff_browser, ours):
    appointment = ours["appointment"]
    browser = staff_browser(ours["provider"].user)
    day = appointment.start.astimezone(ours["provider"].zone).date()
    page = browser.get(f"{move_url(appointment)}?day={day:%Y-%m-%d}").text
    assert appointment.start.isoformat() not in picked_times(page)
    own = browser.get(f"{move_url(appointment)}?start={quote(appointment.start.isoformat())}")
    assert "That time is no longer open" in own.text
    assert "Move to " not in own.text.replace("Move to another time", "")


@pytest.mark.parametrize(
    "start", ["tomorrow", "2026-12-01T09:00", "9999-01-01T00:00:00+00:00", "x" * 500]
)
def test_a_bad_time_in_the_link_says_so_and_shows_the_picker(staff_browser, ours, start):
    response = staff_browser(ours["provider"].user).get(
        f"{move_url(ours['appointment'])}?start={quote(start)}"
    )
    assert response.status_code == 200
    assert "That time isn" in response.text and 'class="time"' in response.text


def test_moving_onto_a_taken_time_is_refused(staff_browser, ours, stranger):
    appointment = ours["appointment"]
    browser = staff_browser(ours["provider"].user)
    taken = picked_times(browser.get(move_url(appointment)).text)[-1]
    CareTeamMember.objects.create(provider=ours["provider"], client=stranger)
    appointment_book(
        client=stranger,
        provider=ours["provider"],
        appointment_type=appointment.appointment_type,
        start=datetime.fromisoformat(taken),
        booked_by=stranger,
    )
    response = browser.post(
        move_url(appointment), {"start": taken, "expected_start": appointment.start.isoformat()}
    )
    assert response.status_code == 409 and 'class="time"' in response.text
    assert taken not in picked_times(response.text)
    appointment.refresh_from_db()
    assert appointment.start.isoformat() != taken


def test_a_bogus_new_time_is_refused(staff_browser, ours):
    appointment = ours["appointment"]
    browser = staff_browser(ours["provider"].user)
    response = browser.post(
        move_url(appointment),
        {"start": "tomorrow", "expected_start": appointment.start.isoformat()},
    )
    assert response.status_code == 400 and "That time isn" in response.text
    before = appointment.start
    appointment.refresh_from_db()
    assert appointment.start == before


def test_a_future_appointment_cannot_be_marked_completed(staff_browser, ours):
    browser = staff_browser(ours["provider"].user)
    response = browser.post(
        reverse("admin:appointment-complete", args=[ours["appointment"].pk]), follow=True
    )
    assert "hasn&#x27;t started yet" in response.text
    ours["appointment"].refresh_from_db()
    assert ours["appointment"].status == "scheduled"


def test_marking_completed_records_who(staff_browser, ours):
    browser = staff_browser(ours["provider"].user)
    browser.post(reverse("admin:appointment-complete", args=[ours["past"].pk]))
    ours["past"].refresh_from_db()
    assert ours["past"].status == "completed"
    assert ours["past"].events.get(kind="completed").actor == ours["provider"].user


def test_a_no_show_applies_the_policys_fee_once(staff_browser, ours):
    browser = staff_browser(ours["provider"].user)
    url = reverse("admin:appointment-no-show", args=[ours["past"].pk])
    assert "no-show fee of $60 is recorded" in browser.get(url).text
    browser.post(url)
    browser.post(url)
    fee = Fee.objects.get(appointment=ours["past"])
    assert (fee.kind, fee.amount, fee.status) == ("no_show", Decimal("60"), "pending")
    assert ours["past"].events.filter(kind="no_show").count() == 1


def test_fees_can_be_waived_or_marked_paid_once(staff_browser, ours):
    browser = staff_browser(ours["provider"].user)
    changelist = reverse("admin:appointments_fee_changelist")
    fee = ours["fee"]
    browser.post(changelist, {"action": "waive", "_selected_action": [fee.pk]})
    fee.refresh_from_db()
    assert fee.status == "waived"
    response = browser.post(
        changelist, {"action": "mark_paid", "_selected_action": [fee.pk]}, follow=True
    )
    assert "already settled" in response.text
    fee.refresh_from_db()
    assert fee.status == "waived"
    event = fee.appointment.events.get(kind="fee_waived")
    assert event.actor == ours["provider"].user


def test_a_fee_of_another_practice_cannot_be_waived(staff_browser, ours, theirs):
    browser = staff_browser(ours["provider"].user)
    browser.post(
        reverse("admin:appointments_fee_changelist"),
        {"action": "waive", "_selected_action": [theirs["fee"].pk]},
    )
    theirs["fee"].refresh_from_db()
    assert theirs["fee"].status == "pending"


# --- Clients come in through their provider -------------------------------------------------


def add_client(browser, provider, email, **extra):
    return browser.post(
        reverse("admin:appointments_careteammember_add"),
        {"provider": provider.pk, "email": email, **extra},
        follow=True,
    )


SAME_ANSWER = "An invitation was sent to {}. They join your clients when they accept it."


def test_adding_a_new_address_invites_it_and_makes_no_account(staff_browser, ours):
    browser = staff_browser(ours["provider"].user)
    response = add_client(browser, ours["provider"], "New.Client@Example.com", name="Nia Brooks")
    assert SAME_ANSWER.format("new.client@example.com") in response.text
    assert "Invited, not yet accepted" in response.text
    assert not User.objects.filter(email="new.client@example.com").exists()
    (invitation,) = [m for m in sent_mail() if m.to == ["new.client@example.com"]]
    assert "Dr. Ours invited you" in invitation.subject
    assert "/appointments/invitations/" in invitation.body
    assert "Create your account" in invitation.body


def test_adding_another_practices_client_answers_the_same_and_links_nobody(
    staff_browser, ours, theirs, stranger
):
    browser = staff_browser(ours["provider"].user)
    response = add_client(browser, ours["provider"], stranger.email)
    assert SAME_ANSWER.format(stranger.email) in response.text
    assert stranger.name not in response.text
    assert not CareTeamMember.objects.filter(provider=ours["provider"], client=stranger).exists()
    assert ours["provider"] not in selectors.care_team_providers(stranger)
    (email,) = [m for m in sent_mail() if m.to == [stranger.email] and "invited" in m.subject]
    assert "Sign in with this email address and accept" in email.body
    assert stranger.has_usable_password()


@pytest.mark.parametrize("who", ["provider", "office", "superuser"])
def test_a_staff_account_is_never_added_or_emailed(staff_browser, ours, theirs, who):
    office = UserFactory(email="office@theirs.example", is_staff=True)
    OfficeStaff.objects.create(provider=theirs["provider"], user=office)
    root = UserFactory(email="root@example.com", is_staff=True, is_superuser=True)
    email = {
        "provider": theirs["provider"].user.email,
        "office": office.email,
        "superuser": root.email,
    }[who]
    browser = staff_browser(ours["provider"].user)
    response = add_client(browser, ours["provider"], email)
    assert SAME_ANSWER.format(email) in response.text  # no hint that it is a staff account
    assert not [m for m in sent_mail() if m.to == [email] and "invited" in m.subject]
    assert not CareTeamMember.objects.filter(
        provider=ours["provider"], client__email=email
    ).exists()


def test_adding_a_client_already_on_the_care_team_says_so(staff_browser, ours, client_user):
    browser = staff_browser(ours["provider"].user)
    response = add_client(browser, ours["provider"], client_user.email)
    assert f"Already a client: {client_user.email}." in response.text
    assert not [m for m in sent_mail() if "invited you" in m.subject]


@pytest.mark.parametrize("email", ["not an email", "", "x" * 300 + "@example.com"])
def test_a_bad_email_gets_a_message_and_adds_nothing(staff_browser, ours, email):
    browser = staff_browser(ours["provider"].user)
    response = browser.post(
        reverse("admin:appointments_careteammember_add"),
        {"provider": ours["provider"].pk, "email": email},
    )
    assert response.status_code == 200 and "errorlist" in response.text
    assert not CareTeamInvitation.objects.exists()


def test_a_provider_cannot_add_clients_to_another_practice(staff_browser, ours, theirs):
    browser = staff_browser(ours["provider"].user)
    response = browser.post(
        reverse("admin:appointments_careteammember_add"),
        {"provider": theirs["provider"].pk, "email": "sneaky@example.com"},
    )
    assert response.status_code == 200
    assert not CareTeamInvitation.objects.filter(email="sneaky@example.com").exists()


def test_a_move_from_a_page_older_than_the_appointments_time_changes_nothing(staff_browser, ours):
    appointment = ours["appointment"]
    browser = staff_browser(ours["provider"].user)
    new = picked_times(browser.get(move_url(appointment)).text)[-1]
    seen = (appointment.start - timedelta(days=1)).isoformat()  # as if it moved meanwhile
    response = browser.post(move_url(appointment), {"start": new, "expected_start": seen})
    before = appointment.start
    appointment.refresh_from_db()
    assert appointment.start == before
    assert response.status_code == 409 and "moved in the meantime" in response.text


def test_every_input_of_the_hours_rows_has_an_accessible_name(staff_browser, ours):
    provider = ours["provider"]
    html = (
        staff_browser(provider.user)
        .get(reverse("admin:appointments_provider_change", args=[provider.pk]))
        .text
    )
    monday = provider.weekly_hours.get(weekday=0)
    for field in ["weekday", "start", "end", "delete"]:
        prefix = f'aria-label="{field.capitalize()}, {monday}"'
        assert prefix in html, field
    day_off = provider.overrides.get()
    assert f'aria-label="Date, {day_off}"' in html
    # The row the "Add another" link copies is named too.
    assert 'aria-label="Start, new row"' in html


def test_the_appointment_page_says_when_on_the_providers_clock_with_the_zone(staff_browser, ours):
    from zoneinfo import ZoneInfo

    appointment = ours["appointment"]
    viewer = UserFactory(is_staff=True, time_zone="Asia/Tokyo")
    OfficeStaff.objects.create(provider=ours["provider"], user=viewer)
    join_practice_staff(viewer)
    html = (
        staff_browser(viewer)
        .get(reverse("admin:appointments_appointment_change", args=[appointment.pk]))
        .text
    )
    zone = ZoneInfo("America/Chicago")
    start, end = appointment.start.astimezone(zone), appointment.end.astimezone(zone)
    assert f"{start:%a %-d %b %Y, %-I:%M %p} – {end:%-I:%M %p %Z}" in html
    assert "UTC" not in html and "Asia/Tokyo" not in html


@pytest.mark.parametrize("name", ["appointment", "careteammember", "policy"])
def test_lists_name_the_provider_only_for_a_practice_of_several(staff_browser, ours, theirs, name):
    url = reverse(f"admin:appointments_{name}_changelist")
    html = staff_browser(ours["provider"].user).get(url).text
    assert "column-provider" not in html
    staff = UserFactory(is_staff=True)
    for provider in (ours["provider"], theirs["provider"]):
        OfficeStaff.objects.create(provider=provider, user=staff)
    join_practice_staff(staff)
    assert "column-provider" in staff_browser(staff).get(url).text


# --- Pages that only show, fees settled by their buttons, durations in hours -----------------


@pytest.mark.parametrize("name", ["appointment", "fee"])
def test_a_page_where_nothing_can_be_edited_has_no_save(staff_browser, ours, name):
    prefix = dict((key, prefix) for key, prefix, _ in OBJECT_PAGES)[name]
    url = reverse(f"admin:{prefix}_change", args=[ours[name].pk])
    browser = staff_browser(ours["provider"].user)
    html = browser.get(url).text
    assert 'name="_save"' not in html and 'name="_continue"' not in html
    assert browser.post(url, {"_save": "Save"}).status_code == 403


@pytest.mark.parametrize(
    ("action", "status", "kind"),
    [("waive", "waived", "fee_waived"), ("mark-paid", "paid", "fee_paid")],
)
@pytest.mark.parametrize("page", ["fee", "appointment"])
def test_a_fee_is_settled_with_the_button_that_says_so(
    staff_browser, ours, action, status, kind, page
):
    fee = ours["fee"]
    browser = staff_browser(ours["provider"].user)
    on = reverse(
        f"admin:appointments_{page}_change",
        args=[fee.pk if page == "fee" else fee.appointment_id],
    )
    html = browser.get(on).text
    url = reverse(f"admin:fee-{action}", args=[fee.pk])
    button = {"waive": "Waive the $20 fee", "mark-paid": "Mark the $20 fee paid"}[action]
    assert f'action="{url}"' in html and button in html
    response = browser.post(url, {"next": on}, follow=True)
    assert response.redirect_chain[-1][0] == on
    fee.refresh_from_db()
    assert fee.status == status
    assert fee.appointment.events.get(kind=kind).actor == ours["provider"].user
    assert "The $20 late reschedule fee is" in response.text
    # Settled: no button is offered, and a second press changes nothing.
    assert f'action="{url}"' not in response.text
    again = browser.post(url, {"next": on}, follow=True)
    assert f"This fee is already {fee.get_status_display().lower()}." in again.text
    assert fee.appointment.events.filter(kind__startswith="fee_").count() == 1


def test_settling_a_fee_goes_nowhere_but_this_site_and_only_by_post(staff_browser, ours):
    fee = ours["fee"]
    browser = staff_browser(ours["provider"].user)
    url = reverse("admin:fee-waive", args=[fee.pk])
    assert browser.get(url).status_code == 405
    response = browser.post(url, {"next": "https://example.org/"})
    assert response.url == reverse("admin:appointments_fee_change", args=[fee.pk])


def test_a_fee_of_another_practice_has_no_button_that_works(staff_browser, ours, theirs):
    browser = staff_browser(ours["provider"].user)
    browser.post(reverse("admin:fee-mark-paid", args=[theirs["fee"].pk]))
    theirs["fee"].refresh_from_db()
    assert theirs["fee"].status == "pending"


def test_an_appointment_without_fees_says_so(staff_browser, ours):
    html = (
        staff_browser(ours["provider"].user)
        .get(reverse("admin:appointments_appointment_change", args=[ours["past"].pk]))
        .text
    )
    assert "No fees: the client owes nothing for this appointment." in html


def test_fees_show_amounts_as_the_portal_writes_them(staff_browser, ours):
    html = (
        staff_browser(ours["provider"].user).get(reverse("admin:appointments_fee_changelist")).text
    )
    assert "$20" in html and "20.00" not in html


@pytest.mark.parametrize(
    "name",
    ["appointment", "fee", "careteammember", "careteaminvitation", "policy", "waitlistentry"],
)
def test_lists_are_headed_by_what_they_list(staff_browser, ours, name):
    html = (
        staff_browser(ours["provider"].user)
        .get(reverse(f"admin:appointments_{name}_changelist"))
        .text
    )
    assert "Select " not in html.split("<h1")[1].split("</h1>")[0]


def test_times_in_lists_are_on_the_practices_clock_with_the_zone_named(staff_browser, ours):
    from zoneinfo import ZoneInfo

    viewer = UserFactory(is_staff=True, time_zone="Pacific/Auckland")
    OfficeStaff.objects.create(provider=ours["provider"], user=viewer)
    join_practice_staff(viewer)
    html = staff_browser(viewer).get(reverse("admin:appointments_appointment_changelist")).text
    start = ours["appointment"].start.astimezone(ZoneInfo("America/Chicago"))
    assert f"{start:%a %-d %b %Y, %-I:%M %p %Z}" in html
    assert "a.m." not in html and "p.m." not in html


DURATIONS = {
    "policy": ["cancel_notice", "reschedule_notice", "grace_period"],
    "provider": ["min_notice", "buffer_before", "buffer_after"],
}


@pytest.mark.parametrize("name", DURATIONS)
def test_durations_are_entered_as_hours_and_minutes(staff_browser, ours, name):
    obj = ours[name]
    url = reverse(f"admin:appointments_{name}_change", args=[obj.pk])
    html = staff_browser(ours["provider"].user).get(url).text
    for field in DURATIONS[name]:
        value = getattr(obj, field)
        hours, minutes = divmod(int(value.total_seconds()) // 60, 60)
        assert re.search(
            rf'name="{field}_0"[^>]*value="{hours}"|value="{hours}"[^>]*name="{field}_0"', html
        ), field
        assert re.search(
            rf'name="{field}_1"[^>]*value="{minutes}"|value="{minutes}"[^>]*name="{field}_1"', html
        ), field
        assert f'name="{field}"' not in html  # no "1 00:00:00" box


def test_hours_and_minutes_read_back_as_a_duration():
    from portal.forms import HoursAndMinutesField

    field = HoursAndMinutesField(label="Notice")
    assert field.clean(["48", "0"]) == timedelta(hours=48)
    assert field.clean(["", "30"]) == timedelta(minutes=30)
    assert field.clean(["2", ""]) == timedelta(hours=2)
    for bad in (["1", "60"], ["-1", "0"], ["x", "0"], ["10000000000", "0"], ["", ""]):
        with pytest.raises(ValidationError):
            field.clean(bad)


@pytest.mark.parametrize("name", ["provider", "policy", "appointment", "fee"])
def test_no_input_is_described_by_an_element_that_is_not_there(staff_browser, ours, name):
    html = (
        staff_browser(ours["provider"].user)
        .get(reverse(f"admin:appointments_{name}_change", args=[ours[name].pk]))
        .text
    )
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    for refs in re.findall(r'aria-(?:describedby|labelledby)="([^"]+)"', html):
        for ref in refs.split():
            assert ref in ids or "__prefix__" in ref, ref


def test_a_waitlist_entry_without_offers_says_so_and_offers_no_save(staff_browser, ours):
    from appointments.models import WaitlistEntry

    appointment = ours["appointment"]
    entry = WaitlistEntry.objects.create(
        client=appointment.client,
        provider=appointment.provider,
        appointment_type=appointment.appointment_type,
    )
    html = (
        staff_browser(ours["provider"].user)
        .get(reverse("admin:appointments_waitlistentry_change", args=[entry.pk]))
        .text
    )
    assert "No time has been offered yet." in html
    assert 'class="closelink"' not in html and 'name="_save"' not in html


def test_the_fee_list_reads_the_same_queries_however_many_fees(staff_browser, ours, client_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    browser = staff_browser(ours["provider"].user)
    url = reverse("admin:appointments_fee_changelist")
    browser.get(url)
    with CaptureQueriesContext(connection) as few:
        browser.get(url)
    for day in range(5):
        other = UserFactory()
        CareTeamMember.objects.create(provider=ours["provider"], client=other)
        Fee.objects.create(
            appointment=AppointmentFactory(
                appointment_type=ours["appointment"].appointment_type,
                client=other,
                start=timezone.now() - timedelta(days=day + 1),
            ),
            kind="no_show",
            amount=10,
            currency="USD",
        )
    with CaptureQueriesContext(connection) as many:
        browser.get(url)
    assert len(many) == len(few)

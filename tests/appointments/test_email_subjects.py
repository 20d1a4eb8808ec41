"""
Email subjects are plain text, and one that states a time names the zone it is in: the
recipient's, as the body does.
"""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from appointments import services, waitlist
from appointments.models import (
    Appointment,
    AppointmentType,
    CareTeamMember,
    Provider,
    WaitlistOffer,
)
from appointments.reminders import queue_reminders
from portal.formatting import when
from portal.mail import render_email
from portal.models import Email, User
from tests.factories import UserFactory, book, open_slots_after
from tests.tasks import sent_mail

CLIENT_NAME = "Siobhán O'Brien & Daughter"
PROVIDER_NAME = "Dr. Aoife D'Arcy & Partners"
PORTAL_NAME = "Harbor's Health & Care"
# Either side of UTC, and far enough apart that one instant falls on different dates.
ZONES = ["America/Los_Angeles", "Asia/Tokyo", "America/Sao_Paulo"]
# 23:30 UTC: 3:30 PM in Los Angeles, 8:30 AM the next day in Tokyo.
AT = datetime(2026, 1, 15, 23, 30, tzinfo=UTC)
TIME = re.compile(r"\d{1,2}:\d{2} (AM|PM)")
ENTITY = re.compile(r"&(#\d+|#x[0-9a-f]+|[a-z]+);", re.IGNORECASE)
# The emails that are neither about an appointment nor an offer.
OTHERS = {
    "care-team-invitation",
    "data-copy-ready",
    "invitation",
    "new-message",
    "password-reset",
    "two-factor-enrolment",
}
TIMED = ("booked", "rescheduled", "reminder", "cancelled")
SUBJECTS = sorted(
    path.name.removesuffix("-subject.txt")
    for path in (Path(settings.BASE_DIR) / "templates" / "emails").glob("*-subject.txt")
)


def stated(instant: datetime, zone: ZoneInfo) -> str:
    """How a subject writes an instant: the date, the time and the zone's name."""
    local = instant.astimezone(zone)
    hour = local.hour % 12 or 12
    return f"{local:%a} {local.day} {local:%b}, {hour}:{local:%M %p} ({local.tzname()})"


def people(zone: ZoneInfo):
    client = User(name=CLIENT_NAME, email="siobhan@example.com", time_zone=str(zone))
    provider = Provider(display_name=PROVIDER_NAME, time_zone=str(zone))
    provider.user = User(name=PROVIDER_NAME, email="aoife@example.com")
    kind = AppointmentType(provider=provider, name="Therapy session", duration_minutes=50)
    appointment = Appointment(
        pk=7, provider=provider, client=client, appointment_type=kind, start=AT
    )
    appointment.end = AT + kind.duration
    return client, provider, appointment


def context_for(name: str, audience: str, zone: ZoneInfo) -> dict:
    """The context each kind of email is written with (see the modules that queue them)."""
    client, provider, appointment = people(zone)
    recipient = client if audience == "client" else provider.user
    common = {"portal_name": PORTAL_NAME, "portal_url": "https://portal.example.org"}
    if name.startswith("appointment-"):
        return common | {
            "appointment": appointment,
            "audience": audience,
            "recipient": recipient,
            "start": timezone.localtime(AT),
            "old_start": timezone.localtime(AT - timedelta(days=1)),
        }
    if name == "waitlist-offer":
        return common | {
            "recipient": client,
            "provider_name": PROVIDER_NAME,
            "when": when(AT, zone),
            "hold_until": when(AT - timedelta(hours=2), zone),
            "moving": audience == "provider",
            "url": "https://portal.example.org/waitlist/offer/x/",
        }
    if name.startswith("series-"):
        return common | {
            "audience": audience,
            "recipient": recipient,
            "client": client,
            "provider": provider,
            "repeat": "Every week",
            "booked": [AT, AT + timedelta(weeks=1)],
            "left_out": [(AT + timedelta(weeks=2), "already booked")],
            "cancelled": [(AT, "$40")],
            "kept": [],
            "moved": [(AT - timedelta(days=1), AT)],
            "added": [],
            "new_first": AT,
            "from_day": AT,
            "ended_by_client": audience == "client",
            "cancelled_whole": False,
            "link": "https://portal.example.org/appointments/",
        }
    if name not in OTHERS:
        raise KeyError(f"No context for the {name} email: add one here.")
    link = {"link": "https://portal.example.org/x/", "days": 3, "minutes": 15}
    return (
        common
        | link
        | {
            "recipient": recipient,
            "user": recipient,
            "provider": PROVIDER_NAME,
            "invited_by": PROVIDER_NAME,
            "audience": audience,
            "has_account": audience == "client",
            "uses_chat": True,
            "uid": "MQ",
            "token": "set-token",
            "email": recipient.email,
            "expires_at": AT,
            "by_practice": audience == "provider",
        }
    )


def test_every_subject_template_is_checked_here():
    assert len(SUBJECTS) >= 10
    for name in SUBJECTS:
        assert render_email(name, context_for(name, "client", ZoneInfo("UTC")))[0]


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("audience", ["client", "provider"])
@pytest.mark.parametrize("name", SUBJECTS)
def test_a_subject_is_plain_text_and_a_time_in_it_names_its_zone(name, audience, zone):
    zone_info = ZoneInfo(zone)
    with timezone.override(zone_info):
        subject, body, _ = render_email(name, context_for(name, audience, zone_info))
    assert not ENTITY.search(subject), subject
    for whole in (CLIENT_NAME, PROVIDER_NAME, PORTAL_NAME):
        # "Brien", "Arcy", "s Health": a subject that names someone names them as they are.
        part = whole.split("'")[1].split(" &")[0]
        assert (part in subject) <= (whole in subject), subject
    for found in TIME.finditer(subject):
        assert stated(AT, zone_info) in subject, subject
        assert found.group() in stated(AT, zone_info)
        assert f"({AT.astimezone(zone_info).tzname()})" in subject
        assert AT.astimezone(zone_info).tzname() in body


def test_the_appointment_and_offer_subjects_state_a_time():
    """The rule above is not empty: these are the subjects that carry a time."""
    zone = ZoneInfo(ZONES[0])
    with timezone.override(zone):
        timed = {
            name
            for name in SUBJECTS
            for audience in ("client", "provider")
            if TIME.search(render_email(name, context_for(name, audience, zone))[0])
        }
    assert timed == {
        name
        for name in SUBJECTS
        if name.startswith(("appointment-", "waitlist-", "series-booked", "series-changed"))
    }


@pytest.mark.django_db
@pytest.mark.parametrize(("client_zone", "provider_zone"), [ZONES[:2], ZONES[1::-1]])
def test_every_email_of_a_journey_states_its_times_in_the_recipients_zone(
    client_user, provider, session_type, client_zone, provider_zone
):
    User.objects.filter(pk=client_user.pk).update(name=CLIENT_NAME, time_zone=client_zone)
    client_user.refresh_from_db()
    provider.display_name = PROVIDER_NAME
    provider.time_zone = provider_zone
    provider.waitlist_enabled = True
    provider.save()
    zones = {client_user.email: client_user.zone, provider.user.email: provider.zone}
    waiting = UserFactory(name="Ned O'Neill & Son", time_zone=client_zone)
    CareTeamMember.objects.create(provider=provider, client=waiting)
    zones[waiting.email] = waiting.zone
    waitlist.entry_save(
        client=waiting,
        provider=provider,
        appointment_type=session_type,
        weekdays=[],
        parts=[],
        not_after=None,
        actor=waiting,
    )
    appointment = book(client_user, provider, session_type, days=2)
    instants = {appointment.start}
    moved = open_slots_after(client_user, provider, session_type, days=3, exclude=appointment)[0]
    services.appointment_reschedule(appointment=appointment, actor=client_user, new_start=moved)
    instants.add(moved)
    queue_reminders(hours_ahead=24 * 5)
    services.appointment_cancel(appointment=appointment, actor=client_user)
    messages = sent_mail()
    kinds = set(Email.objects.values_list("kind", flat=True))
    assert {f"appointment-{kind}" for kind in TIMED} | {"waitlist-offer"} <= kinds
    instants |= set(WaitlistOffer.objects.values_list("start", flat=True))
    for message in messages:
        (to,) = message.to
        assert not ENTITY.search(message.subject), message.subject
        for found in TIME.finditer(message.subject):
            said = [stated(instant, zones[to]) for instant in instants]
            assert any(words in message.subject for words in said), (message.subject, said)
            assert found.group() in " ".join(said)
        assert ("Arcy" in message.subject) <= (PROVIDER_NAME in message.subject)
        assert ("Brien" in message.subject) <= (CLIENT_NAME in message.subject)

"""
Every statement written by hand answers what the one definition of its rule answers.

Hypothesis draws whole states of a practice: providers and their types (retired, offline only,
with the waitlist on or off), clients in zones either side of UTC (some of them staff), care
teams, invitations of every age and answer, appointments in every status around `now` (one
ending exactly then), fees of every kind and status, waitlist entries ending yesterday, today
or never (some moving an appointment up, with offers live, taken or over), hours and days off,
and conversations with messages and read markers. For each statement registered in
portal.mirrors, it calls the statement and its definition with the same arguments, for every
client, provider and conversation of the state, and compares their answers column by column. On
PostgreSQL and on SQLite (the suite runs on both). A rule changed on one side only, or a
statement added without being registered here, fails this test.
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django.db.models import Model
from hypothesis import given
from hypothesis import strategies as st

from appointments.models import (
    LONGEST_SESSION,
    Appointment,
    AppointmentType,
    CareTeamInvitation,
    CareTeamMember,
    DateOverride,
    Fee,
    Policy,
    Provider,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistOpening,
    WeeklyHours,
)
from chat.models import Conversation, Message, ReadState
from portal.mirrors import all_mirrors
from portal.models import User

pytestmark = pytest.mark.django_db

# 23:30 UTC: already tomorrow in Auckland, still today in New York.
NOW = datetime(2026, 6, 10, 23, 30, tzinfo=UTC)
ZONES = ["Pacific/Auckland", "America/New_York", "UTC"]


@dataclass
class World:
    now: datetime
    clients: list[User] = field(default_factory=list)
    providers: list[Provider] = field(default_factory=list)
    appointments: list[Appointment] = field(default_factory=list)
    conversations: list[Conversation] = field(default_factory=list)
    types: list[AppointmentType] = field(default_factory=list)


# --- Drawing a state ------------------------------------------------------------------------

provider_plans = st.lists(
    st.fixed_dictionaries(
        {
            "zone": st.sampled_from(ZONES[:2]),
            "active": st.booleans(),
            "waitlist": st.booleans(),
            "types": st.lists(
                st.tuples(
                    st.booleans(), st.booleans(), st.booleans(), st.sampled_from([30, 50, 480])
                ),
                min_size=1,
                max_size=3,
            ),
            # Policies: the provider's own (no type), and one for each of these types.
            "policies": st.tuples(st.booleans(), st.lists(st.integers(0, 2), max_size=2)),
            "weekly": st.lists(
                st.tuples(st.integers(0, 6), st.sampled_from([(8, 12), (13, 17), (18, 21)])),
                max_size=4,
                unique=True,
            ),
            # Days from today: a day off (None) or other hours.
            "overrides": st.lists(
                st.tuples(st.integers(-2, 4), st.sampled_from([None, (9, 11), (14, 16)])),
                max_size=3,
                unique_by=lambda each: each[0],
            ),
        }
    ),
    min_size=1,
    max_size=3,
)
client_plans = st.lists(
    st.fixed_dictionaries(
        {
            "zone": st.sampled_from(ZONES),
            "staff": st.booleans(),
            "teams": st.sets(st.integers(0, 2)),
            "invited": st.sampled_from([None, "fresh", "old", "accepted"]),
            # Appointments: (provider, type, status, slot, ends now, microseconds, fees)
            "appointments": st.lists(
                st.tuples(
                    st.integers(0, 2),
                    st.integers(0, 2),
                    st.sampled_from(
                        ["scheduled", "scheduled", "completed", "cancelled", "no_show"]
                    ),
                    st.integers(-6, 6),
                    st.booleans(),
                    st.sampled_from([0, 1, 999_999]),
                    st.lists(
                        st.tuples(
                            st.sampled_from(["late_cancel", "late_reschedule", "no_show"]),
                            st.sampled_from(["pending", "waived", "paid"]),
                            st.sampled_from(["USD", "EUR"]),
                            st.integers(1, 50_000),
                        ),
                        max_size=2,
                        unique_by=lambda fee: fee[0],
                    ),
                ),
                max_size=8,
                unique_by=lambda each: each[3],
            ),
            # Waitlist entries: (provider, type, status, ends, moves up the client's first
            # appointment, offers as (status, hours from now, hold ends hours from now))
            "entries": st.lists(
                st.tuples(
                    st.integers(0, 2),
                    st.integers(0, 2),
                    st.sampled_from(["active", "active", "ended"]),
                    st.sampled_from([None, -1, 0, 1]),
                    st.booleans(),
                    st.lists(
                        st.tuples(
                            st.sampled_from(["offered", "offered", "claimed", "declined"]),
                            st.sampled_from([-2, 0, 3, 30]),
                            st.sampled_from([None, -1, 0, 2]),
                        ),
                        max_size=3,
                        unique_by=lambda offer: offer[1],
                    ),
                ),
                max_size=2,
                unique_by=lambda each: each[:2],
            ),
            # Conversations: (provider, messages as who wrote them, where the client read to)
            "conversations": st.lists(
                st.tuples(
                    st.integers(0, 2),
                    st.lists(st.sampled_from(["client", "provider"]), max_size=5),
                    st.none() | st.integers(0, 4),
                ),
                max_size=2,
                unique_by=lambda each: each[0],
            ),
        }
    ),
    min_size=1,
    max_size=4,
)


def build(providers: list[dict], clients: list[dict], now: datetime) -> World:
    world = World(now)
    sequence = iter(range(10_000))
    kinds: list[list[AppointmentType]] = []
    for plan in providers:
        n = next(sequence)
        provider = Provider.objects.create(
            user=User.objects.create_user(
                f"provider{n}@example.com", is_staff=True, is_active=plan["active"]
            ),
            display_name=f"Provider {n}",
            time_zone=plan["zone"],
            waitlist_enabled=plan["waitlist"],
        )
        world.providers.append(provider)
        kinds.append(
            [
                AppointmentType.objects.create(
                    provider=provider,
                    name=f"Type {n}.{i}",
                    duration_minutes=minutes,
                    is_active=active,
                    bookable_online=online,
                    waitlist_enabled=waitlist,
                )
                for i, (active, online, waitlist, minutes) in enumerate(plan["types"])
            ]
        )
        world.types.extend(kinds[-1])
        provider_wide, typed = plan["policies"]
        if provider_wide:
            Policy.objects.create(provider=provider, cancel_notice=timedelta(hours=24))
        for t in sorted({t % len(kinds[-1]) for t in typed}):
            Policy.objects.create(
                provider=provider, appointment_type=kinds[-1][t], cancel_notice=timedelta(hours=t)
            )
        for weekday, (start, end) in plan["weekly"]:
            WeeklyHours.objects.create(
                provider=provider, weekday=weekday, start=time(start), end=time(end)
            )
        today = now.astimezone(provider.zone).date()
        for days, hours in plan["overrides"]:
            day = today + timedelta(days=days)
            if hours is None:
                DateOverride.objects.create(provider=provider, date=day)
            else:
                DateOverride.objects.create(
                    provider=provider, date=day, start=time(hours[0]), end=time(hours[1])
                )
    for plan in clients:
        n = next(sequence)
        client = User.objects.create_user(
            f"client{n}@example.com", time_zone=plan["zone"], is_staff=plan["staff"]
        )
        world.clients.append(client)
        for team in plan["teams"]:
            if team < len(world.providers):
                CareTeamMember.objects.create(provider=world.providers[team], client=client)
        if plan["invited"]:
            age = settings.INVITATION_MAX_AGE + timedelta(minutes=1)
            CareTeamInvitation.objects.create(
                provider=world.providers[0],
                email=client.email,
                status="accepted" if plan["invited"] == "accepted" else "pending",
                created_at=now - (age if plan["invited"] == "old" else timedelta(hours=1)),
            )
        for p, t, status, slot, ends_now, micro, fees in plan["appointments"]:
            provider = world.providers[p % len(world.providers)]
            kind = kinds[p % len(world.providers)][t % len(kinds[p % len(world.providers)])]
            # Nine hours apart (no session is longer than eight), every client's its own
            # hours: nothing overlaps, so the exclusion constraints never refuse a state. The
            # first client's may end exactly now.
            hours = 9 * (slot * 4 + len(world.clients) - 1)
            start = now + timedelta(hours=hours, microseconds=micro)
            if ends_now and slot == 0 and len(world.clients) == 1:
                start = now - kind.duration
            appointment = Appointment.objects.create(
                provider=provider,
                client=client,
                appointment_type=kind,
                start=start,
                end=start + kind.duration,
                status=status,
                booked_by=client,
                created_at=now - timedelta(days=40),
                policy_terms={"cancel_window_hours": abs(slot) % 48},
            )
            world.appointments.append(appointment)
            for fee_kind, fee_status, currency, cents in fees:
                Fee.objects.create(
                    appointment=appointment,
                    kind=fee_kind,
                    status=fee_status,
                    currency=currency,
                    amount=Decimal(cents) / 100,
                )
        today = now.astimezone(client.zone).date()
        joined = set()
        theirs = [each for each in world.appointments if each.client_id == client.pk]
        for p, t, status, ends, moves_up, offers in plan["entries"]:
            provider = world.providers[p % len(world.providers)]
            kind = kinds[p % len(world.providers)][t % len(kinds[p % len(world.providers)])]
            if kind.pk in joined:  # one entry per client and type
                continue
            joined.add(kind.pk)
            entry = WaitlistEntry.objects.create(
                client=client,
                provider=provider,
                appointment_type=kind,
                status=status,
                not_after=None if ends is None else today + timedelta(days=ends),
                move_up=theirs[0] if moves_up and theirs else None,
                joined_at=now - timedelta(days=1, minutes=len(joined)),
            )
            for offer_status, hours, hold in offers:
                start = now + timedelta(hours=hours)
                opening = WaitlistOpening.objects.create(
                    provider=provider, start=start, end=start + kind.duration, cause="cancelled"
                )
                WaitlistOffer.objects.create(
                    entry=entry,
                    opening=opening,
                    start=start,
                    status=offer_status,
                    token=uuid.uuid4().hex,
                    expires_at=None if hold is None else now + timedelta(hours=hold),
                )
        talked = set()
        for p, written, read_to in plan["conversations"]:
            provider = world.providers[p % len(world.providers)]
            if provider.pk in talked:  # one conversation with each provider
                continue
            talked.add(provider.pk)
            conversation = Conversation.objects.create(provider=provider, client=client)
            messages = [
                Message.objects.create(
                    conversation=conversation,
                    sender=client if who == "client" else provider.user,
                    body=f"Message {i}",
                    client_key=uuid.uuid4(),
                )
                for i, who in enumerate(written)
            ]
            if messages:
                Conversation.objects.filter(pk=conversation.pk).update(
                    last_message_at=now - timedelta(minutes=len(messages))
                )
            if read_to is not None and messages:
                ReadState.objects.create(
                    conversation=conversation,
                    user=client,
                    last_read_id=messages[min(read_to, len(messages) - 1)].pk,
                )
            world.conversations.append(conversation)
    return world


# --- How each statement is called, and its answers compared ----------------------------------


def columns(instance: Model | None) -> Any:
    if instance is None:
        return None
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def listed(appointments, fees: bool) -> list:
    return [
        (
            columns(each),
            columns(each.provider),
            columns(each.appointment_type),
            each.has_fees if fees else None,
        )
        for each in appointments
    ]


def lists_shape(lists) -> tuple:
    return (
        listed(lists.upcoming, True),
        lists.more_upcoming,
        listed(lists.past, False),
        lists.more_past,
        listed(lists.cancelled, False),
        lists.more_cancelled,
    )


def schedule_calls(world: World):
    """A window around now, and windows whose edges fall on sessions' own starts and ends."""
    day = timedelta(days=1)
    windows = [(world.now - timedelta(hours=12), world.now + 2 * day)]
    for each in world.appointments[:3]:
        windows.append((each.start - LONGEST_SESSION, each.end))
        windows.append((each.end, each.end + timedelta(hours=9)))
    for provider in world.providers:
        for client in world.clients:
            for busy_from, busy_to in windows:
                for exclude in [None, *[each.pk for each in world.appointments[:1]]]:
                    arguments = {
                        "provider": provider,
                        "client": client,
                        "first_day": busy_from.astimezone(provider.zone).date() - day,
                        "last_day": busy_to.astimezone(provider.zone).date() + day,
                        "busy_from": busy_from,
                        "busy_to": busy_to,
                        "exclude_pk": exclude,
                    }
                    yield (), arguments


def answer(read, shape, args, kwargs) -> Any:
    """The read's answer, compared as `shape` says, or its exception's type (a 404, say)."""
    try:
        return shape(read(*args, **kwargs))
    except Exception as error:  # noqa: BLE001  (both sides must fail alike)
        return type(error)


# name -> (the calls a state gives, how an answer is compared)
CALLS = {
    "appointments.sql.overview_facts": (
        lambda w: (((client, w.now), {}) for client in w.clients),
        lambda answer: answer,
    ),
    "appointments.sql.overview_lists": (
        lambda w: (
            ((client, w.now), {"upcoming": u, "past": p, "cancelled": c})
            for client in w.clients
            for u, p, c in [(1, 1, 1), (2, 3, 1), (5, 3, 3), (3, 0, 0)]
        ),
        lists_shape,
    ),
    "appointments.sql.upcoming_last": (
        lambda w: (((client, w.now, count), {}) for client in w.clients for count in (1, 2, 5)),
        lambda answer: (listed(answer[0], True), answer[1]),
    ),
    "appointments.sql.schedule_facts": (schedule_calls, lambda answer: answer),
    "appointments.sql.client_waitlist": (
        lambda w: (((client, w.now), {}) for client in w.clients),
        lambda entries: [
            (
                columns(entry),
                columns(entry.provider),
                columns(entry.appointment_type),
                columns(entry.move_up),
                [columns(offer) for offer in entry.live],
            )
            for entry in entries
        ],
    ),
    "appointments.sql.bookable_type": (
        lambda w: (
            ((client, provider.pk, kind.pk), {})
            for client in w.clients
            for provider in w.providers
            for kind in [*w.types, AppointmentType(pk=2**40)]
        ),
        lambda kind: (columns(kind), columns(kind.provider)),
    ),
    "appointments.sql.booking_facts": (
        lambda w: (
            ((client, provider, kind), {})
            for client in w.clients
            for provider in w.providers
            for kind in w.types
        ),
        lambda facts: (facts.on_care_team, facts.type_bookable, columns(facts.policy)),
    ),
    "chat.sql.unread_total": (
        lambda w: (((client,), {}) for client in w.clients),
        lambda answer: answer,
    ),
    "chat.sql.opened_conversation": (
        lambda w: (
            ((client, conversation.pk, size), {})
            for conversation in w.conversations
            for client in w.clients
            for size in (1, 3, 50)
        ),
        lambda opened: (
            columns(opened["conversation"]),
            opened["conversation"].last_read,
            columns(opened["conversation"].provider),
            opened["bubbles"],
            opened["older"],
        ),
    ),
    "chat.sql.poll_state": (
        lambda w: (
            ((client, conversation.pk, after), {})
            for conversation in w.conversations
            for client in w.clients
            for after in (0, *conversation.messages.values_list("pk", flat=True), 2**40)
        ),
        lambda answer: answer,
    ),
}


def test_every_statement_written_by_hand_is_checked_here():
    assert set(all_mirrors()) == set(CALLS)


@given(providers=provider_plans, clients=client_plans)
def test_each_statement_answers_what_its_rules_definition_answers(providers, clients):
    mirrors = all_mirrors()
    with transaction.atomic():
        world = build(providers, clients, NOW)
        for name, (calls, shape) in CALLS.items():
            mirror = mirrors[name]
            for args, kwargs in calls(world):
                got = answer(mirror.statement, shape, args, kwargs)
                wanted = answer(mirror.definition, shape, args, kwargs)
                assert got == wanted, (name, args, kwargs)
        transaction.set_rollback(True)

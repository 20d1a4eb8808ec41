"""Cancelling and rescheduling through the services, under the policy booked with."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from icalendar import Calendar

from appointments.models import Appointment, AppointmentEvent, Fee
from appointments.services import (
    FeeNotAccepted,
    PolicyRefused,
    SlotUnavailable,
    StaleAppointment,
    appointment_book,
    appointment_cancel,
    appointment_reschedule,
)
from policies.terms import Money
from tests.factories import PolicyFactory, UserFactory, book, open_slots_after
from tests.tasks import sent_mail

pytestmark = pytest.mark.django_db
USD50 = Money(Decimal("50"), "USD")


@pytest.fixture
def policy(provider):
    return PolicyFactory(provider=provider)


@pytest.fixture
def booked(client_user, provider, session_type, policy):
    """An appointment about five days out, booked two days ago under the policy."""
    return book(client_user, provider, session_type, days=5, booked_days_ago=2, room_after=True)


def later_slot(appointment, days=1):
    return open_slots_after(
        appointment.client,
        appointment.provider,
        appointment.appointment_type,
        days=(appointment.start - timezone.now()).days + days,
        exclude=appointment,
    )[0]


def ics(message):
    return Calendar.from_ical(message.attachments[0][1]).walk("VEVENT")[0], Calendar.from_ical(
        message.attachments[0][1]
    )


# --- Cancel ---------------------------------------------------------------------------------


def test_a_free_cancel_keeps_the_row_and_records_the_reason(booked, client_user):
    appointment_cancel(appointment=booked, actor=client_user, reason="  Feeling better  ")
    booked.refresh_from_db()
    assert booked.status == "cancelled"
    assert not Fee.objects.exists()
    event = booked.events.get(kind="cancelled")
    assert (event.actor, event.reason, event.old_start) == (
        client_user,
        "Feeling better",
        booked.start,
    )


def test_a_late_cancel_records_a_pending_fee_and_says_so_in_history(booked, client_user):
    now = booked.start - timedelta(hours=2)
    change = appointment_cancel(appointment=booked, actor=client_user, now=now, accepted_fee=USD50)
    fee = Fee.objects.get()
    assert change.fee == fee
    assert (fee.kind, fee.amount, fee.currency, fee.status) == (
        "late_cancel",
        Decimal("50"),
        "USD",
        "pending",
    )
    kinds = list(booked.events.values_list("kind", flat=True))
    assert kinds == ["booked", "fee_applied", "cancelled"]
    assert booked.events.get(kind="cancelled").details == {"fee": "$50"}


def test_a_later_policy_edit_does_not_apply_to_an_existing_booking(booked, client_user, policy):
    policy.late_cancel = "refuse"
    policy.save()
    # The policy booked with still charges a fee: later edits do not apply to this booking.
    appointment_cancel(
        appointment=booked,
        actor=client_user,
        now=booked.start - timedelta(hours=2),
        accepted_fee=USD50,
    )
    assert Fee.objects.count() == 1


def test_a_cancel_inside_a_refusing_window_is_refused_and_changes_nothing(
    client_user, provider, session_type
):
    PolicyFactory(provider=provider, late_cancel="refuse")
    appointment = book(client_user, provider, session_type, days=1, booked_days_ago=1)
    start = appointment.start
    with pytest.raises(PolicyRefused, match="closed"):
        appointment_cancel(
            appointment=appointment, actor=client_user, now=start - timedelta(hours=3)
        )
    appointment.refresh_from_db()
    assert appointment.status == "scheduled"
    assert appointment.events.count() == 1


def test_a_double_submitted_cancel_cancels_once_and_charges_once(booked, client_user):
    now = booked.start - timedelta(hours=2)
    kwargs = {"actor": client_user, "now": now, "expected_start": booked.start}
    appointment_cancel(appointment=booked, accepted_fee=USD50, **kwargs)
    with pytest.raises(StaleAppointment, match="already cancelled"):
        appointment_cancel(appointment=booked, accepted_fee=USD50, **kwargs)
    assert Fee.objects.count() == 1
    assert booked.events.filter(kind="cancelled").count() == 1


def test_a_cancel_from_a_page_that_predates_a_move_is_stale(booked, client_user, provider):
    seen = booked.start
    appointment_reschedule(appointment=booked, actor=provider.user, new_start=later_slot(booked))
    with pytest.raises(StaleAppointment, match="moved"):
        appointment_cancel(appointment=booked, actor=client_user, expected_start=seen)
    booked.refresh_from_db()
    assert booked.status == "scheduled"


def test_a_started_appointment_cannot_be_cancelled_by_the_client(booked, client_user):
    with pytest.raises(PolicyRefused, match="already started"):
        appointment_cancel(appointment=booked, actor=client_user, now=booked.start)


def test_office_staff_cancelling_for_the_client_charge_no_fee(booked, provider):
    appointment_cancel(
        appointment=booked, actor=provider.user, now=booked.start - timedelta(hours=1)
    )
    assert not Fee.objects.exists()
    assert booked.events.get(kind="cancelled").actor == provider.user


def test_cancel_emails_a_calendar_cancel_with_the_same_uid(booked, client_user):
    sent_mail().clear()  # the booking's own emails
    appointment_cancel(appointment=booked, actor=client_user)
    assert len(sent_mail()) == 2
    event, calendar = ics(sent_mail()[0])
    assert calendar["METHOD"] == "CANCEL"
    assert event["STATUS"] == "CANCELLED"
    assert str(event["UID"]) == booked.calendar_uid
    assert event["SEQUENCE"] == 1
    assert "cancelled" in sent_mail()[0].subject


def test_a_cancelled_time_can_be_booked_again(
    booked, client_user, stranger, provider, session_type
):
    from appointments.models import CareTeamMember

    appointment_cancel(appointment=booked, actor=client_user)
    CareTeamMember.objects.create(provider=provider, client=stranger)
    again = appointment_book(
        client=stranger,
        provider=provider,
        appointment_type=session_type,
        start=booked.start,
        booked_by=stranger,
    )
    assert again.start == booked.start


# --- Reschedule -----------------------------------------------------------------------------


def test_a_reschedule_moves_the_appointment_and_records_old_and_new(booked, client_user):
    old = booked.start
    new = later_slot(booked)
    appointment_reschedule(appointment=booked, actor=client_user, new_start=new, expected_start=old)
    booked.refresh_from_db()
    assert (booked.start, booked.end) == (new, new + timedelta(minutes=50))
    assert booked.client_reschedules == 1
    assert booked.ics_sequence == 1
    event = booked.events.get(kind="rescheduled")
    assert (event.old_start, event.new_start, event.actor) == (old, new, client_user)


def test_the_appointments_own_time_does_not_count_as_busy(booked, client_user):
    # Half an hour later overlaps the current booking, which is the one being moved.
    new = booked.start + timedelta(minutes=30)
    appointment_reschedule(appointment=booked, actor=client_user, new_start=new)
    booked.refresh_from_db()
    assert booked.start == new


def test_rescheduling_to_the_same_time_is_refused(booked, client_user):
    with pytest.raises(SlotUnavailable, match="already has"):
        appointment_reschedule(appointment=booked, actor=client_user, new_start=booked.start)


def test_rescheduling_onto_someone_elses_time_is_refused(
    booked, client_user, provider, session_type
):
    from appointments.models import CareTeamMember

    rival = UserFactory()
    CareTeamMember.objects.create(provider=provider, client=rival)
    taken = later_slot(booked)
    appointment_book(
        client=rival, provider=provider, appointment_type=session_type, start=taken, booked_by=rival
    )
    with pytest.raises(SlotUnavailable):
        appointment_reschedule(appointment=booked, actor=client_user, new_start=taken)
    booked.refresh_from_db()
    assert booked.start != taken and booked.events.count() == 1


def test_the_reschedule_limit_is_enforced(booked, client_user):
    for days in (1, 2):
        appointment_reschedule(
            appointment=booked, actor=client_user, new_start=later_slot(booked, days)
        )
    with pytest.raises(PolicyRefused, match="rescheduled 2 times"):
        appointment_reschedule(
            appointment=booked, actor=client_user, new_start=later_slot(booked, 1)
        )


def test_a_late_reschedule_with_a_fee_records_it(client_user, provider, session_type):
    PolicyFactory(provider=provider, late_reschedule="fee", late_reschedule_fee=Decimal("30"))
    appointment = book(client_user, provider, session_type, days=3, booked_days_ago=1)
    start = appointment.start
    appointment_reschedule(
        appointment=appointment,
        actor=client_user,
        new_start=later_slot(appointment),
        now=start - timedelta(hours=5),
        accepted_fee=Money(Decimal("30"), "USD"),
    )
    fee = Fee.objects.get()
    assert (fee.kind, fee.amount) == ("late_reschedule", Decimal("30"))


def test_a_reschedule_refused_in_the_window_changes_nothing(booked, client_user):
    with pytest.raises(PolicyRefused, match="closed"):
        appointment_reschedule(
            appointment=booked,
            actor=client_user,
            new_start=later_slot(booked),
            now=booked.start - timedelta(hours=3),
        )
    booked.refresh_from_db()
    assert booked.client_reschedules == 0 and booked.events.count() == 1


def test_a_double_submitted_reschedule_moves_once(booked, client_user):
    seen = booked.start
    new = later_slot(booked)
    appointment_reschedule(
        appointment=booked, actor=client_user, new_start=new, expected_start=seen
    )
    with pytest.raises(StaleAppointment):
        appointment_reschedule(
            appointment=booked, actor=client_user, new_start=new, expected_start=seen
        )
    assert AppointmentEvent.objects.filter(kind="rescheduled").count() == 1


def test_reschedule_emails_move_the_same_calendar_entry(booked, client_user):
    old = booked.start
    sent_mail().clear()  # the booking's own emails
    appointment_reschedule(appointment=booked, actor=client_user, new_start=later_slot(booked))
    event, calendar = ics(sent_mail()[0])
    assert calendar["METHOD"] == "REQUEST"
    assert str(event["UID"]) == booked.calendar_uid
    assert event["SEQUENCE"] == 1  # higher than the booking's 0
    assert event["DTSTART"].dt == Appointment.objects.get().start
    local_old = old.astimezone(client_user.zone)
    assert f"{local_old:%-d %B %Y}" in sent_mail()[0].body and "has moved" in sent_mail()[0].body


def test_emails_written_after_later_changes_describe_each_change_as_it_stood(booked, client_user):
    """The worker writes a change's emails from its history entry, not from the row as it is."""
    first = booked.start
    moved = later_slot(booked)
    appointment_reschedule(appointment=booked, actor=client_user, new_start=moved)
    appointment_cancel(appointment=booked, actor=client_user)
    to_client = [m for m in sent_mail() if m.to == [client_user.email]]
    said = ["booked", "moved", "cancelled"]
    assert [word in m.subject for word, m in zip(said, to_client, strict=True)] == [True] * 3
    entries = [ics(message) for message in to_client]
    assert [calendar["METHOD"] for _, calendar in entries] == ["REQUEST", "REQUEST", "CANCEL"]
    assert [event["SEQUENCE"] for event, _ in entries] == [0, 1, 2]
    assert [event["DTSTART"].dt for event, _ in entries] == [first, moved, moved]
    assert [event["STATUS"] for event, _ in entries] == ["CONFIRMED", "CONFIRMED", "CANCELLED"]
    assert f"{first.astimezone(client_user.zone):%-d %B %Y}" in to_client[0].body
    assert len(sent_mail()) == 6  # and as many to the provider


def test_a_changes_emails_are_written_once_however_often_its_task_runs(booked, client_user):
    from appointments.emails import write_appointment_emails

    event = booked.events.get(kind="booked")
    assert write_appointment_emails.call(event.pk) == 2
    assert write_appointment_emails.call(event.pk) == 0
    assert len(sent_mail()) == 2  # the task the booking queued wrote nothing more


def requeue_lost(*args) -> list[str]:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("requeue_lost_work", *args, stdout=out)
    return out.getvalue().splitlines()


def test_a_change_whose_emails_a_worker_never_wrote_gets_a_new_task(booked, client_user):
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.update(status="RUNNING")  # the worker died holding the booking's task
    entry = AppointmentEvent.objects.filter(kind="booked")
    entry.update(at=timezone.now() - timedelta(minutes=5))
    assert "0 appointment changes with unwritten emails queued again." in requeue_lost()
    entry.update(at=timezone.now() - timedelta(minutes=20))
    assert "1 appointment change with unwritten emails would be queued." in requeue_lost(
        "--dry-run"
    )
    assert "1 appointment change with unwritten emails queued again." in requeue_lost()
    assert sorted(m.to[0] for m in sent_mail()) == sorted(
        [client_user.email, booked.provider.user.email]
    )
    assert "0 appointment changes with unwritten emails queued again." in requeue_lost()
    # Past the time an email is retried for, a change is left alone.
    AppointmentEvent.objects.filter(kind="booked").update(at=timezone.now() - timedelta(days=3))
    appointment_cancel(appointment=booked, actor=client_user)
    DBTaskResult.objects.update(status="FAILED")
    AppointmentEvent.objects.filter(kind="cancelled").update(at=timezone.now() - timedelta(days=3))
    assert "0 appointment changes with unwritten emails queued again." in requeue_lost()


def test_the_terms_are_saved_with_the_booking(booked, policy):
    policy.cancel_notice = timedelta(hours=72)
    policy.save()
    booked.refresh_from_db()
    assert booked.terms.cancel_notice == timedelta(hours=24)


def test_a_type_policy_overrides_the_providers(client_user, provider, session_type, policy):
    PolicyFactory(provider=provider, appointment_type=session_type, clients_may_cancel=False)
    appointment = book(client_user, provider, session_type, days=5)
    assert appointment.terms.clients_may_cancel is False
    with pytest.raises(PolicyRefused, match="isn't available"):
        appointment_cancel(appointment=appointment, actor=client_user)


# --- A fee the client did not see is never charged ------------------------------------------


def deadline_of(appointment, notice=timedelta(hours=24)):
    return appointment.start - notice


@pytest.mark.parametrize(
    ("offset", "fee_applies"),
    [(timedelta(seconds=-1), False), (timedelta(0), False), (timedelta(seconds=1), True)],
)
def test_a_cancel_shown_free_goes_through_only_until_the_deadline(
    booked, client_user, offset, fee_applies
):
    now = deadline_of(booked) + offset
    if not fee_applies:
        change = appointment_cancel(appointment=booked, actor=client_user, now=now)
        assert change.fee is None and change.appointment.status == "cancelled"
        return
    with pytest.raises(FeeNotAccepted, match=r"a \$50 fee now applies") as refused:
        appointment_cancel(appointment=booked, actor=client_user, now=now)
    assert refused.value.decision.fee == USD50
    booked.refresh_from_db()
    assert booked.status == "scheduled" and not Fee.objects.exists()
    assert booked.events.count() == 1


@pytest.mark.parametrize(
    "accepted", [None, Money(Decimal("40"), "USD"), Money(Decimal("50"), "EUR")]
)
def test_a_fee_larger_than_the_one_accepted_changes_nothing(booked, client_user, accepted):
    with pytest.raises(FeeNotAccepted):
        appointment_cancel(
            appointment=booked,
            actor=client_user,
            now=booked.start - timedelta(hours=2),
            accepted_fee=accepted,
        )
    booked.refresh_from_db()
    assert booked.status == "scheduled" and not Fee.objects.exists()


def test_a_fee_accepted_that_no_longer_applies_is_not_charged(booked, client_user):
    change = appointment_cancel(
        appointment=booked,
        actor=client_user,
        now=deadline_of(booked) - timedelta(seconds=1),
        accepted_fee=USD50,
    )
    assert change.fee is None and not Fee.objects.exists()


def test_the_end_of_the_grace_period_brings_a_fee_the_client_did_not_accept(
    client_user, provider, session_type
):
    PolicyFactory(provider=provider, grace_period=timedelta(minutes=10))
    appointment = book(client_user, provider, session_type, days=0)  # inside the 24 hours
    grace_ends = appointment.created_at + timedelta(minutes=10)
    with pytest.raises(FeeNotAccepted):
        appointment_cancel(
            appointment=appointment, actor=client_user, now=grace_ends + timedelta(seconds=1)
        )
    change = appointment_cancel(appointment=appointment, actor=client_user, now=grace_ends)
    assert change.fee is None


@pytest.mark.parametrize(
    ("offset", "fee_applies"),
    [(timedelta(seconds=-1), False), (timedelta(0), False), (timedelta(seconds=1), True)],
)
def test_a_late_reschedule_fee_needs_acceptance_from_the_second_after_the_deadline(
    client_user, provider, session_type, offset, fee_applies
):
    PolicyFactory(provider=provider, late_reschedule="fee", late_reschedule_fee=Decimal("30"))
    appointment = book(client_user, provider, session_type, days=3, booked_days_ago=1)
    new_start, now = later_slot(appointment), deadline_of(appointment) + offset
    if not fee_applies:
        change = appointment_reschedule(
            appointment=appointment, actor=client_user, new_start=new_start, now=now
        )
        assert change.fee is None and change.appointment.start == new_start
        return
    with pytest.raises(FeeNotAccepted, match=r"a \$30 fee now applies if you reschedule"):
        appointment_reschedule(
            appointment=appointment, actor=client_user, new_start=new_start, now=now
        )
    appointment.refresh_from_db()
    assert appointment.start != new_start and not Fee.objects.exists()
    change = appointment_reschedule(
        appointment=appointment,
        actor=client_user,
        new_start=new_start,
        now=now,
        accepted_fee=Money(Decimal("30"), "USD"),
    )
    assert change.fee.amount == Decimal("30")

"""The waitlist's services and its worker tasks: openings, offers, holds, claims."""

from datetime import datetime, time, timedelta

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from appointments import services, waitlist
from appointments.models import (
    Appointment,
    CareTeamMember,
    DateOverride,
    WaitlistEntry,
    WaitlistOffer,
    WaitlistOpening,
)
from portal.formatting import when
from tests.factories import AppointmentTypeFactory, PolicyFactory, UserFactory
from tests.tasks import run_worker, sent_mail

pytestmark = pytest.mark.django_db


def at_nine(provider, days=3) -> datetime:
    day = timezone.now().astimezone(provider.zone).date() + timedelta(days=days)
    return datetime.combine(day, time(9), tzinfo=provider.zone)


def book_at(client, provider, kind, start):
    return services.appointment_book(
        client=client, provider=provider, appointment_type=kind, start=start, booked_by=client
    )


def someone_on_the_team(provider):
    other = UserFactory()
    CareTeamMember.objects.create(provider=provider, client=other)
    return other


def join(client, provider, kind, **wishes):
    return waitlist.entry_save(
        client=client,
        provider=provider,
        appointment_type=kind,
        weekdays=wishes.get("weekdays", []),
        parts=wishes.get("parts", []),
        not_after=wishes.get("not_after"),
        move_up=wishes.get("move_up"),
        actor=wishes.get("actor", client),
    )


@pytest.fixture
def freed(on, session_type):
    """An appointment of someone else at 09:00 in three days, to cancel."""
    other = someone_on_the_team(on)
    return book_at(other, on, session_type, at_nine(on))


def cancel(appointment):
    return services.appointment_cancel(appointment=appointment, actor=appointment.client)


def test_a_cancel_records_an_opening_and_queues_its_task_in_the_same_transaction(freed):
    cancel(freed)
    opening = WaitlistOpening.objects.get()
    assert (opening.start, opening.end, opening.cause) == (freed.start, freed.end, "cancelled")
    assert DBTaskResult.objects.filter(task_path="appointments.tasks.offer_opening").count() == 1


def test_a_cancel_that_rolls_back_opens_nothing(freed):
    with pytest.raises(RuntimeError), transaction.atomic():
        cancel(freed)
        raise RuntimeError
    assert not WaitlistOpening.objects.exists()
    assert not DBTaskResult.objects.filter(task_path="appointments.tasks.offer_opening").exists()


def test_without_the_waitlist_a_cancel_opens_nothing(provider, session_type):
    other = someone_on_the_team(provider)
    cancel(book_at(other, provider, session_type, at_nine(provider)))
    assert not WaitlistOpening.objects.exists()


def test_the_worker_offers_the_freed_time_by_email_in_the_clients_zone(
    freed, client_user, session_type
):
    entry = join(client_user, freed.provider, session_type)
    cancel(freed)
    mail = [m for m in sent_mail() if m.to == [client_user.email]]
    offer = WaitlistOffer.objects.get(entry=entry)
    assert offer.start == freed.start and offer.expires_at is None
    local = freed.start.astimezone(client_user.zone)
    words = f"A time opened with Dr. Maya Okafor on {local:%a %-d %b, %-I:%M %p} (E"
    assert words in mail[0].body
    assert offer.token in mail[0].body
    assert "Therapy" not in mail[0].body + mail[0].subject  # no clinical detail


def test_a_moved_appointment_frees_its_old_time(freed, client_user, session_type):
    entry = join(client_user, freed.provider, session_type)
    services.appointment_reschedule(
        appointment=freed, actor=freed.client, new_start=freed.start + timedelta(hours=4)
    )
    run_worker()
    assert WaitlistOffer.objects.get(entry=entry).start == freed.start


def test_new_hours_open_time_for_the_waitlist(on, client_user, session_type):
    entry = join(client_user, on, session_type, parts=["evening"])
    day = timezone.now().astimezone(on.zone).date() + timedelta(days=5)
    DateOverride.objects.create(provider=on, date=day, start=time(9), end=time(21))
    assert WaitlistOpening.objects.get().cause == "hours"
    run_worker()
    offer = WaitlistOffer.objects.get(entry=entry)
    assert offer.start.astimezone(client_user.zone).hour >= 17


def test_entries_whose_last_date_passed_end_and_get_nothing(freed, client_user, session_type):
    entry = join(client_user, freed.provider, session_type)
    WaitlistEntry.objects.filter(pk=entry.pk).update(
        not_after=timezone.now().date() - timedelta(days=2)
    )
    cancel(freed)
    run_worker()
    entry.refresh_from_db()
    assert (entry.status, entry.ended_reason) == ("ended", "passed")
    assert not WaitlistOffer.objects.exists()


def test_matching_reads_a_fixed_number_of_queries_however_many_entries(
    freed, session_type, django_assert_num_queries
):
    cancel(freed)
    opening = WaitlistOpening.objects.get()
    for _ in range(3):
        join(someone_on_the_team(freed.provider), freed.provider, session_type)
    with django_assert_num_queries(6):
        few, _ = waitlist.find_matches(freed.provider, opening, timezone.now())
    for _ in range(30):
        join(someone_on_the_team(freed.provider), freed.provider, session_type)
    with django_assert_num_queries(6):
        many, _ = waitlist.find_matches(freed.provider, opening, timezone.now())
    assert (len(few), len(many)) == (3, 33)


def one_at_a_time(provider, minutes=20):
    provider.waitlist_mode = "one"
    provider.waitlist_hold_minutes = minutes
    provider.save()


def test_one_at_a_time_holds_the_time_for_the_first_to_join_then_passes_it_on(
    freed, client_user, session_type
):
    one_at_a_time(freed.provider)
    first = join(client_user, freed.provider, session_type)
    second = join(someone_on_the_team(freed.provider), freed.provider, session_type)
    cancel(freed)
    run_worker()
    offer = WaitlistOffer.objects.get()
    assert offer.entry == first
    assert offer.expires_at - offer.created_at == timedelta(minutes=20)
    hold = DBTaskResult.objects.get(task_path="appointments.tasks.end_offer_hold")
    assert hold.run_after == offer.expires_at and hold.args_kwargs["args"] == [offer.pk]
    assert not waitlist.hold_ended(offer.pk, now=offer.expires_at - timedelta(seconds=1))
    assert waitlist.hold_ended(offer.pk, now=offer.expires_at)
    run_worker()
    offer.refresh_from_db()
    assert offer.status == "expired"
    passed_on = WaitlistOffer.objects.get(entry=second)
    assert passed_on.start == offer.start and passed_on.expires_at is not None


def test_declining_passes_a_held_time_on_at_once_and_keeps_the_entry(
    freed, client_user, session_type
):
    one_at_a_time(freed.provider)
    first = join(client_user, freed.provider, session_type)
    second = join(someone_on_the_team(freed.provider), freed.provider, session_type)
    cancel(freed)
    run_worker()
    assert waitlist.offer_decline(offer=WaitlistOffer.objects.get(), actor=client_user)
    run_worker()
    assert WaitlistOffer.objects.get(entry=second).start == freed.start
    first.refresh_from_db()
    assert first.status == "active"


def test_claiming_books_through_the_booking_service_and_ends_the_entry(
    freed, client_user, session_type
):
    entry = join(client_user, freed.provider, session_type)
    rival = join(someone_on_the_team(freed.provider), freed.provider, session_type)
    cancel(freed)
    run_worker()
    offer = WaitlistOffer.objects.get(entry=entry)
    change = waitlist.offer_claim(offer=offer, actor=client_user)
    booked = change.appointment
    assert (booked.client, booked.start, booked.status) == (client_user, freed.start, "scheduled")
    offer.refresh_from_db()
    entry.refresh_from_db()
    assert (offer.status, offer.appointment) == ("claimed", booked)
    assert (entry.status, entry.ended_reason) == ("ended", "booked")
    assert WaitlistOffer.objects.get(entry=rival).status == "lost"


def test_a_time_someone_took_first_is_a_clean_refusal_and_the_entry_stays(
    freed, client_user, session_type
):
    entry = join(client_user, freed.provider, session_type)
    cancel(freed)
    run_worker()
    offer = WaitlistOffer.objects.get(entry=entry)
    book_at(someone_on_the_team(freed.provider), freed.provider, session_type, offer.start)
    with pytest.raises(services.SlotUnavailable):
        waitlist.offer_claim(offer=offer, actor=client_user)
    offer.refresh_from_db()
    entry.refresh_from_db()
    assert (offer.status, entry.status) == ("lost", "active")


def test_only_the_client_an_offer_was_made_to_can_take_it(
    freed, client_user, stranger, session_type
):
    join(client_user, freed.provider, session_type)
    cancel(freed)
    run_worker()
    with pytest.raises(services.NotPermitted):
        waitlist.offer_claim(offer=WaitlistOffer.objects.get(), actor=stranger)
    assert Appointment.objects.filter(status="scheduled").count() == 0


def test_a_time_someone_else_books_closes_the_offer_at_once(freed, client_user, session_type):
    """Not only when its link is opened: no card goes on offering a time that is gone."""
    join(client_user, freed.provider, session_type)
    cancel(freed)
    run_worker()
    offer = WaitlistOffer.objects.get()
    book_at(someone_on_the_team(freed.provider), freed.provider, session_type, offer.start)
    offer.refresh_from_db()
    assert offer.status == "lost"
    with pytest.raises(waitlist.OfferEnded):
        waitlist.offer_check(offer, timezone.now())


@pytest.mark.parametrize(
    ("gap", "status"), [(timedelta(minutes=10), "lost"), (timedelta(minutes=40), "offered")]
)
def test_a_booking_closes_an_offer_it_would_clash_with_buffers_counted(
    freed, client_user, session_type, gap, status
):
    """A 15-minute buffer after each session: a booking 10 minutes after the offered one ends
    leaves it no room; 40 minutes after, it still fits."""
    provider = freed.provider
    provider.buffer_after = timedelta(minutes=15)
    provider.save()
    join(client_user, provider, session_type)
    cancel(freed)
    run_worker()
    offer = WaitlistOffer.objects.get()
    later = offer.start + session_type.duration + gap
    book_at(someone_on_the_team(provider), provider, session_type, later)
    offer.refresh_from_db()
    assert offer.status == status


def test_move_up_offers_an_earlier_time_and_claiming_reschedules(on, client_user, session_type):
    later = book_at(client_user, on, session_type, at_nine(on, days=6))
    entry = join(client_user, on, session_type, move_up=later)
    blocker = book_at(someone_on_the_team(on), on, session_type, at_nine(on))
    cancel(blocker)
    run_worker()
    offer = WaitlistOffer.objects.get(entry=entry)
    assert offer.start == blocker.start
    change = waitlist.offer_claim(offer=offer, actor=client_user)
    assert change.appointment.pk == later.pk and change.appointment.start == blocker.start
    assert Appointment.objects.filter(client=client_user, status="scheduled").count() == 1


def test_move_up_is_refused_when_the_policy_does_not_let_the_client_reschedule(
    on, client_user, session_type
):
    PolicyFactory(provider=on, clients_may_reschedule=False)
    later = book_at(client_user, on, session_type, at_nine(on, days=6))
    with pytest.raises(waitlist.WaitlistError, match="Online rescheduling isn't available"):
        join(client_user, on, session_type, move_up=later)
    assert not WaitlistEntry.objects.exists()


def test_joining_again_edits_the_one_entry(on, client_user, session_type):
    first = join(client_user, on, session_type)
    again = join(client_user, on, session_type, weekdays=[1, 3], parts=["morning"])
    assert first.pk == again.pk
    assert (again.weekdays, again.parts) == ([1, 3], ["morning"])
    assert WaitlistEntry.objects.count() == 1


def test_the_database_refuses_a_second_active_entry(on, client_user, session_type):
    join(client_user, on, session_type)
    with pytest.raises(IntegrityError), transaction.atomic():
        WaitlistEntry.objects.create(client=client_user, provider=on, appointment_type=session_type)


def test_nobody_else_joins_for_a_client(on, client_user, stranger, session_type):
    with pytest.raises(services.NotPermitted):
        join(client_user, on, session_type, actor=stranger)


def test_a_waitlist_that_is_off_cannot_be_joined(provider, client_user, session_type):
    with pytest.raises(waitlist.WaitlistError, match="doesn't keep a waitlist"):
        join(client_user, provider, session_type)
    session_type.waitlist_enabled = False
    session_type.save()
    provider.waitlist_enabled = True
    provider.save()
    with pytest.raises(waitlist.WaitlistError):
        join(client_user, provider, session_type)


def test_leaving_ends_the_entry_and_its_offers(freed, client_user, session_type):
    entry = join(client_user, freed.provider, session_type)
    cancel(freed)
    run_worker()
    assert waitlist.entry_leave(entry=entry, actor=client_user)
    entry.refresh_from_db()
    assert (entry.status, entry.ended_reason) == ("ended", "left")
    assert WaitlistOffer.objects.get().status == "declined"
    assert not waitlist.entry_leave(entry=entry, actor=client_user)


def test_a_day_off_opens_nothing_and_taking_it_back_opens_the_date(on):
    day = at_nine(on).astimezone(on.zone).date()
    day_off = DateOverride.objects.create(provider=on, date=day)
    assert not WaitlistOpening.objects.exists()
    day_off.delete()
    opening = WaitlistOpening.objects.get()
    assert (opening.cause, opening.start.astimezone(on.zone).date()) == ("hours", day)


def test_a_day_off_ends_the_offers_it_leaves_without_room_once_the_worker_runs(
    freed, client_user, session_type
):
    provider = freed.provider
    join(client_user, provider, session_type)
    cancel(freed)
    run_worker()
    offer = WaitlistOffer.objects.get()
    DateOverride.objects.create(
        provider=provider, date=offer.start.astimezone(provider.zone).date()
    )
    assert DBTaskResult.objects.filter(task_path="appointments.tasks.recheck_offers").exists()
    run_worker()
    offer.refresh_from_db()
    assert offer.status == "expired"
    assert waitlist.client_waitlist(client_user, timezone.now())["offers"] == []


def test_new_hours_elsewhere_leave_a_fitting_offer_alone(freed, client_user, session_type):
    provider = freed.provider
    join(client_user, provider, session_type)
    cancel(freed)
    run_worker()
    other_day = (freed.start + timedelta(days=1)).astimezone(provider.zone).date()
    DateOverride.objects.create(provider=provider, date=other_day, start=time(9), end=time(10))
    run_worker()
    assert WaitlistOffer.objects.get(start=freed.start).status == "offered"


# --- One freed time, one offer email to a client ------------------------------------------------


def waiting_twice(on, client_user, session_type, *, move_up_first: bool):
    """
    The client waits for an intake with the provider and for an earlier time for the session
    they have booked in six days; a session of someone else three days out is to be cancelled.
    """
    intake = AppointmentTypeFactory(provider=on, name="Intake", duration_minutes=50)
    later = book_at(client_user, on, session_type, at_nine(on, days=6))
    joins = [
        lambda: join(client_user, on, session_type, move_up=later),
        lambda: join(client_user, on, intake),
    ]
    entries = [each() for each in (joins if move_up_first else joins[::-1])]
    blocker = book_at(someone_on_the_team(on), on, session_type, at_nine(on))
    return entries, later, blocker


def offer_mail(client):
    return [m for m in sent_mail() if m.to == [client.email] and "Reminder" not in m.subject]


@pytest.mark.parametrize("one_mode", [False, True])
@pytest.mark.parametrize("move_up_first", [True, False])
def test_one_freed_time_sends_a_client_one_offer_saying_which_it_is(
    on, client_user, session_type, move_up_first, one_mode
):
    if one_mode:
        one_at_a_time(on)
    (first, second), later, blocker = waiting_twice(
        on, client_user, session_type, move_up_first=move_up_first
    )
    mail.outbox.clear()
    cancel(blocker)
    (message,) = [m for m in offer_mail(client_user) if "time" in m.subject]
    (offer,) = WaitlistOffer.objects.filter(entry__client=client_user)
    assert offer.entry == first and offer.start == blocker.start
    said = when(offer.start, client_user.zone)
    if move_up_first:
        assert (
            message.subject == f"An earlier time for your appointment with Dr. Maya Okafor: {said}"
        )
        assert f"for your appointment on {when(later.start, client_user.zone)}" in message.body
    else:
        assert message.subject == f"A time you're waiting for opened with Dr. Maya Okafor: {said}"
        assert "earlier" not in message.subject + message.body
    assert "Intake" not in message.subject + message.body  # no clinical detail
    assert "Therapy" not in message.subject + message.body
    second.refresh_from_db()
    assert second.status == "active"  # it waits for the next time that opens


def test_running_the_offer_task_again_sends_nothing_more(on, client_user, session_type):
    _, _, blocker = waiting_twice(on, client_user, session_type, move_up_first=True)
    cancel(blocker)
    run_worker()
    opening = WaitlistOpening.objects.get()
    assert waitlist.make_offers(opening.pk) == 0
    # Were the run's claim on the opening lost, the matcher would find the client's next-best
    # start: the offer email's key, one per client and freed time, refuses it, and the run
    # writes nothing.
    WaitlistOpening.objects.filter(pk=opening.pk).update(offered_at=None)
    with pytest.raises(IntegrityError):
        waitlist.make_offers(opening.pk)
    assert WaitlistOffer.objects.count() == 1
    assert len([m for m in offer_mail(client_user) if "time" in m.subject]) == 1


def test_a_time_passed_on_does_not_reach_the_client_again_through_their_other_entry(
    on, client_user, session_type
):
    one_at_a_time(on)
    (first, second), _, blocker = waiting_twice(on, client_user, session_type, move_up_first=False)
    cancel(blocker)
    run_worker()
    offer = WaitlistOffer.objects.get(entry=first)
    assert waitlist.hold_ended(offer.pk, now=offer.expires_at)
    run_worker()
    assert WaitlistOpening.objects.filter(cause="hold_ended").exists()
    assert list(WaitlistOffer.objects.values_list("entry", flat=True)) == [first.pk]
    assert len([m for m in offer_mail(client_user) if "time" in m.subject]) == 1

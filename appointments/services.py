"""Writes to appointments. Each is one transaction; every write to the schedule locks first."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from appointments import selectors, sql
from appointments.emails import queue_appointment_emails
from appointments.invitations import queue_invitation_email
from appointments.models import (
    Appointment,
    AppointmentEvent,
    AppointmentType,
    CareTeamInvitation,
    CareTeamMember,
    Fee,
    Policy,
    Provider,
)
from appointments.tasks import time_opened, time_taken
from policies.decisions import Action, Decision
from policies.terms import Money, PolicyTerms
from portal.invitations import queue_invitation
from portal.models import User, normalize_email_address
from portal.practice import join_practice_staff


class BookingError(Exception):
    """A booking that cannot be made; the message is written for the client."""


class SlotUnavailable(BookingError):
    def __init__(self, message: str = "That time was just taken. Please pick another."):
        super().__init__(message)


ALREADY_ITS_TIME = "That is the time it already has. Pick a different time."


class NotBookable(BookingError):
    pass


class TermsChanged(BookingError):
    """
    The policy a booking would be made under is not the one the client was shown (it changed
    while the page was open, or the page showed none): nothing is booked and they are asked
    again, with `terms` as they are now.
    """

    def __init__(self, terms: PolicyTerms, shown: bool):
        if shown:
            text = (
                "The cancellation and rescheduling policy changed while this page was open. "
                "Nothing was booked. Read the new policy and confirm again if you still want "
                "this time."
            )
        else:
            text = (
                "Nothing was booked yet. Read the cancellation and rescheduling policy and "
                "confirm if you still want this time."
            )
        super().__init__(text)
        self.terms = terms


class ChangeError(Exception):
    """A cancel or reschedule that cannot be made; the message is written for the client."""


class StaleAppointment(ChangeError):
    """The page was out of date: the appointment was cancelled or moved meanwhile."""


class PolicyRefused(ChangeError):
    def __init__(self, decision: Decision):
        super().__init__(decision.sentence)
        self.decision = decision


class FeeNotAccepted(ChangeError):
    """
    The change would now cost more than the client saw and agreed to when they confirmed (a
    deadline passed while the page was open): nothing is changed and they are asked again.
    """

    def __init__(self, decision: Decision, accepted: Money | None):
        verb = "cancel" if decision.action == Action.CANCEL else "reschedule"
        if accepted:
            change = f"the fee is now {decision.fee}, not the {accepted} you saw"
        else:
            change = (
                f"a {decision.fee} fee now applies if you {verb}, and there was none when "
                "you opened it"
            )
        super().__init__(
            f"The terms changed while this page was open: {change}. Nothing was changed. "
            f"Read the new terms and confirm again if you still want to {verb}."
        )
        self.decision = decision
        self.accepted = accepted


@dataclass(frozen=True)
class AppointmentChange:
    appointment: Appointment
    fee: Fee | None  # what the change charged, if anything


class ScheduleBusy(SlotUnavailable, ChangeError):
    """The schedule stayed locked by another change for too long: try again in a moment."""

    def __init__(self, message: str = ""):
        super().__init__(
            message
            or "Someone else is changing this schedule right now. Nothing was changed; "
            "please try again in a moment."
        )


class NotPermitted(PermissionDenied):
    """Someone who is neither the client nor their provider's practice."""


# PostgreSQL's codes for a deadlock and a serialization failure: two writers checked the same
# exclusion constraint at once and the database picked one. For the client, a lost race.
RACE_SQLSTATES = {"40P01", "40001"}
# How long a change waits for another one holding the same schedule (PostgreSQL; SQLite waits
# its busy timeout for the database's single write lock, then says it is locked). Shorter than
# a web request's statement timeout (DATABASE_STATEMENT_TIMEOUT, 5 s by default), so that a busy
# schedule is told as one, not as a database that cannot answer (a 503); appointments.checks
# warns when the settings undo that.
LOCK_TIMEOUT_MS = 3000


def lost_race(error: OperationalError) -> bool:
    return getattr(error.__cause__, "sqlstate", None) in RACE_SQLSTATES


def waited_too_long(error: OperationalError) -> bool:
    """
    PostgreSQL's lock_timeout (55P03), or SQLite's busy timeout; nothing else. A statement
    cancelled by statement_timeout (57014) or a lost connection is the database failing to
    answer, and goes up to be a 503 that says so. SQLite has no other wait than the busy
    timeout, and inside a change it can only be waiting for the write lock another change
    holds: that is a busy schedule.
    """
    lock_timeout = getattr(error.__cause__, "sqlstate", None) == "55P03"
    return lock_timeout or "database is locked" in str(error)


@contextmanager
def schedule_change() -> Iterator[None]:
    """
    One transaction for a change to a schedule, and what the database may say turned into what
    the person is told: the exclusion constraint, or a deadlock between two writers, is a lost
    race; a lock held too long is a busy schedule; anything else is a bug and goes up as it is.
    """
    try:
        with transaction.atomic():
            yield
    except IntegrityError as error:
        raise SlotUnavailable() from error
    except OperationalError as error:
        if lost_race(error):
            raise SlotUnavailable() from error
        if waited_too_long(error):
            raise ScheduleBusy() from error
        raise


def practice_only(actor: User | None, provider: Provider) -> None:
    """Closing a session and settling fees are the practice's, never the client's."""
    if actor is None or not (actor.is_superuser or provider.is_worked_by(actor)):
        raise NotPermitted("Only the provider's practice can do this.")


def acting_as(actor: User | None, *, client_id: int, provider: Provider) -> str:
    """
    "client" when the client acts for themselves, "practice" for the provider, their office
    staff or a superuser; anyone else may not touch this schedule.
    """
    if actor is not None and actor.pk == client_id:
        return "client"
    if actor is not None and (actor.is_superuser or provider.is_worked_by(actor)):
        return "practice"
    raise NotPermitted("Only the client or their provider's practice can change this.")


def lock_schedules(*, client: User, provider: Provider) -> Provider:
    """
    Serialise every write to these two schedules: the client's row is locked, then the
    provider's, always in that order, so that two changes cannot wait on each other. A change
    that waits longer than LOCK_TIMEOUT_MS gives up (ScheduleBusy) rather than hold a web
    worker; the wait is set before any row is locked. SQLite has no row locks: there the
    IMMEDIATE transaction already holds the database's single write lock. Returns the provider
    as it is now.
    """
    sql.wait_for_row_locks_at_most(LOCK_TIMEOUT_MS)
    User.objects.select_for_update().filter(pk=client.pk).values_list("pk", flat=True).get()
    return Provider.objects.select_for_update().get(pk=provider.pk)


@dataclass(frozen=True)
class BookingLock:
    """The schedules locked, and what a booking checks again under the lock."""

    provider: Provider  # as it is now
    on_care_team: bool  # the client may still book with them
    type_bookable: bool  # the type is still theirs and bookable online
    terms: PolicyTerms  # the policy the booking is made under


def lock_to_book(
    *, client: User, provider: Provider, appointment_type: AppointmentType
) -> BookingLock:
    """
    The schedules locked, and, read under the lock by their rules' one definitions, whether
    this client may still book this type with them, and the policy the booking is made under.
    """
    locked = lock_schedules(client=client, provider=provider)
    facts = sql.booking_facts(client, locked, appointment_type)
    return BookingLock(
        locked,
        on_care_team=facts.on_care_team,
        type_bookable=facts.type_bookable,
        terms=selectors.terms_of(facts.policy),
    )


def appointment_book(
    *,
    client: User,
    provider: Provider,
    appointment_type: AppointmentType,
    start: datetime,
    booked_by: User,
    expected_terms: str | None = None,
    now: datetime | None = None,
) -> Appointment:
    """
    Book `start` if it is open for this client; raise a BookingError otherwise. The client books
    for themselves, or their provider's practice books for them. `expected_terms` is the token
    of the policy the client was shown (PolicyTerms.token): the booking binds no other.
    """
    if timezone.is_naive(start):
        raise ValueError("start must be an aware datetime")
    acting_as(booked_by, client_id=client.pk, provider=provider)
    with schedule_change():
        # Checked again under the lock: the page the client saw may be minutes old.
        locked = lock_to_book(client=client, provider=provider, appointment_type=appointment_type)
        now = now or timezone.now()
        if not locked.on_care_team:
            raise NotBookable("You can only book with providers on your care team.")
        if not locked.type_bookable:
            raise NotBookable("That kind of appointment can't be booked online.")
        provider = locked.provider
        if not selectors.is_open_slot(
            provider=provider,
            appointment_type=appointment_type,
            client=client,
            start=start,
            now=now,
        ):
            raise SlotUnavailable()
        # The terms were read under the lock with the rest: comparing them costs no query.
        if expected_terms is not None and expected_terms != locked.terms.token:
            raise TermsChanged(locked.terms, shown=bool(expected_terms))
        appointment = Appointment.objects.create(
            provider=provider,
            client=client,
            appointment_type=appointment_type,
            start=start,
            end=start + appointment_type.duration,
            booked_by=booked_by,
            created_at=now,
            policy_terms=locked.terms.as_json(),
        )
        event = AppointmentEvent.objects.create(
            appointment=appointment,
            kind=AppointmentEvent.Kind.BOOKED,
            actor=booked_by,
            at=now,
            new_start=start,
            ics_sequence=appointment.ics_sequence,
        )
        queue_appointment_emails(event)
        time_taken(provider, appointment.start, appointment.end, client, now)
    return appointment


def _locked_appointment(appointment: Appointment, expected_start: datetime | None) -> Appointment:
    """Lock the schedules, then re-read the appointment as it is now, not as the page saw it."""
    lock_schedules(client=appointment.client, provider=appointment.provider)
    current = Appointment.objects.select_related("provider", "client", "appointment_type").get(
        pk=appointment.pk
    )
    if current.status != Appointment.Status.SCHEDULED:
        raise StaleAppointment(
            f"This appointment is already {current.get_status_display().lower()}; "
            "nothing was changed."
        )
    if expected_start is not None and current.start != expected_start:
        raise StaleAppointment(
            "This appointment was moved in the meantime; nothing was changed. "
            "Check its new time below."
        )
    return current


def _client_decision(
    appointment: Appointment, action: Action, actor: User, now: datetime, accepted: Money | None
):
    """
    The policy binds the client acting for themselves, and they pay no fee larger than the one
    they accepted. The practice acting on a client's behalf is not held to it (and charges no
    fee); anyone else may not act at all.
    """
    if acting_as(actor, client_id=appointment.client_id, provider=appointment.provider) != "client":
        return None
    decision = appointment.decide(action, now)
    if decision.refused:
        raise PolicyRefused(decision)
    if decision.fee is not None and not (accepted and accepted.covers(decision.fee)):
        raise FeeNotAccepted(decision, accepted)
    return decision


def _record_fee(appointment, money: Money | None, kind: str, actor, now: datetime) -> Fee | None:
    """A pending fee and its history entry; nothing when there is no fee to charge."""
    if money is None or money.amount <= 0:
        return None
    fee = Fee.objects.create(
        appointment=appointment,
        kind=kind,
        amount=money.amount,
        currency=money.currency,
        created_at=now,
    )
    fee_applied(appointment, fee, actor, now).save()
    return fee


def fee_applied(appointment, fee: Fee, actor, now: datetime) -> AppointmentEvent:
    """The history entry of a fee charged (unsaved: a series writes many at once)."""
    return AppointmentEvent(
        appointment=appointment,
        kind=AppointmentEvent.Kind.FEE_APPLIED,
        actor=actor,
        at=now,
        details={
            "fee_id": fee.pk,
            "kind": fee.kind,
            "amount": str(fee.amount),
            "currency": fee.currency,
        },
    )


def appointment_cancel(
    *,
    appointment: Appointment,
    actor: User,
    reason: str = "",
    expected_start: datetime | None = None,
    accepted_fee: Money | None = None,
    now: datetime | None = None,
) -> AppointmentChange:
    """
    Cancel under the policy in force when it was booked, charging at most `accepted_fee` (the
    fee the client was shown). The row stays, with its history; it only leaves the schedule.
    A second submit finds it cancelled and changes nothing.
    """
    with schedule_change():
        now = now or timezone.now()
        appointment = _locked_appointment(appointment, expected_start)
        decision = _client_decision(appointment, Action.CANCEL, actor, now, accepted_fee)
        appointment.status = Appointment.Status.CANCELLED
        appointment.ics_sequence += 1
        appointment.save(update_fields=["status", "ics_sequence"])
        fee = _record_fee(appointment, decision and decision.fee, Fee.Kind.LATE_CANCEL, actor, now)
        event = AppointmentEvent.objects.create(
            appointment=appointment,
            kind=AppointmentEvent.Kind.CANCELLED,
            actor=actor,
            at=now,
            old_start=appointment.start,
            reason=reason.strip(),
            details={"fee": str(fee.money) if fee else None},
            ics_sequence=appointment.ics_sequence,
        )
        queue_appointment_emails(event)
        time_opened(appointment.provider, appointment.start, appointment.end, "cancelled", now)
    return AppointmentChange(appointment, fee)


def appointment_reschedule(
    *,
    appointment: Appointment,
    actor: User,
    new_start: datetime,
    expected_start: datetime | None = None,
    reason: str = "",
    accepted_fee: Money | None = None,
    now: datetime | None = None,
) -> AppointmentChange:
    """
    Move to another open time, under the same locks and checks as a new booking, charging at
    most `accepted_fee` (the fee the client was shown).
    """
    if timezone.is_naive(new_start):
        raise ValueError("new_start must be an aware datetime")
    with schedule_change():
        now = now or timezone.now()
        appointment = _locked_appointment(appointment, expected_start)
        decision = _client_decision(appointment, Action.RESCHEDULE, actor, now, accepted_fee)
        if new_start == appointment.start:
            raise SlotUnavailable(ALREADY_ITS_TIME)
        if not selectors.is_open_slot(
            provider=appointment.provider,
            appointment_type=appointment.appointment_type,
            client=appointment.client,
            start=new_start,
            now=now,
            exclude_appointment=appointment,
        ):
            raise SlotUnavailable()
        old_start = appointment.start
        appointment.start = new_start
        appointment.end = new_start + (appointment.end - old_start)
        appointment.ics_sequence += 1
        if decision is not None:
            appointment.client_reschedules += 1
        appointment.save(update_fields=["start", "end", "ics_sequence", "client_reschedules"])
        fee = _record_fee(
            appointment, decision and decision.fee, Fee.Kind.LATE_RESCHEDULE, actor, now
        )
        event = AppointmentEvent.objects.create(
            appointment=appointment,
            kind=AppointmentEvent.Kind.RESCHEDULED,
            actor=actor,
            at=now,
            old_start=old_start,
            new_start=new_start,
            reason=reason.strip(),
            details={"fee": str(fee.money) if fee else None},
            ics_sequence=appointment.ics_sequence,
        )
        queue_appointment_emails(event)
        old_end = old_start + appointment.duration
        time_opened(appointment.provider, old_start, old_end, "moved", now)
        time_taken(
            appointment.provider, appointment.start, appointment.end, appointment.client, now
        )
    return AppointmentChange(appointment, fee)


def _close(appointment: Appointment, status: str, kind: str, actor: User | None, now, details=None):
    """
    Move a scheduled appointment that has started to `status`, once: a conditional update, so
    a command running twice, or a click racing a command, changes it only one time.
    """
    if appointment.start > now:
        raise ChangeError("This appointment hasn't started yet.")
    changed = Appointment.objects.filter(
        pk=appointment.pk, status=Appointment.Status.SCHEDULED
    ).update(status=status)
    if not changed:
        raise StaleAppointment("This appointment is no longer scheduled; nothing was changed.")
    appointment.status = status
    AppointmentEvent.objects.create(
        appointment=appointment, kind=kind, actor=actor, at=now, details=details or {}
    )
    return appointment


def appointment_complete(
    *, appointment: Appointment, actor: User | None, now: datetime | None = None, details=None
) -> Appointment:
    """Completed, by the practice or, with no actor, by `complete_past_appointments`."""
    if actor is not None:
        practice_only(actor, appointment.provider)
    with transaction.atomic():
        return _close(
            appointment,
            Appointment.Status.COMPLETED,
            AppointmentEvent.Kind.COMPLETED,
            actor,
            now or timezone.now(),
            details,
        )


def appointment_mark_no_show(
    *, appointment: Appointment, actor: User, now: datetime | None = None
) -> Appointment:
    """A missed session; the no-show fee of the policy booked with applies, if it has one."""
    practice_only(actor, appointment.provider)
    now = now or timezone.now()
    with transaction.atomic():
        _close(appointment, Appointment.Status.NO_SHOW, AppointmentEvent.Kind.NO_SHOW, actor, now)
        terms = appointment.terms
        fee = Money(terms.no_show_fee, terms.currency) if terms.no_show_fee else None
        _record_fee(appointment, fee, Fee.Kind.NO_SHOW, actor, now)
    return appointment


def _settle_fee(fee: Fee, status: str, kind: str, actor: User, now: datetime | None) -> Fee:
    practice_only(actor, fee.appointment.provider)
    now = now or timezone.now()
    with transaction.atomic():
        # Only a pending fee can be waived or paid, and only once.
        if not Fee.objects.filter(pk=fee.pk, status=Fee.Status.PENDING).update(status=status):
            fee.refresh_from_db()
            raise StaleAppointment(f"This fee is already {fee.get_status_display().lower()}.")
        fee.status = status
        AppointmentEvent.objects.create(
            appointment_id=fee.appointment_id,
            kind=kind,
            actor=actor,
            at=now,
            details={"fee_id": fee.pk, "amount": str(fee.amount), "currency": fee.currency},
        )
    return fee


def fee_waive(*, fee: Fee, actor: User, now: datetime | None = None) -> Fee:
    return _settle_fee(fee, Fee.Status.WAIVED, AppointmentEvent.Kind.FEE_WAIVED, actor, now)


def fee_mark_paid(*, fee: Fee, actor: User, now: datetime | None = None) -> Fee:
    return _settle_fee(fee, Fee.Status.PAID, AppointmentEvent.Kind.FEE_PAID, actor, now)


@dataclass(frozen=True)
class CareTeamResult:
    invitation: CareTeamInvitation | None  # the pending invitation, new or re-used
    member: CareTeamMember | None  # when the person was already on this care team


# An invitation added again is emailed again, but not more often than this.
RESEND_INVITATION_AFTER = timedelta(hours=1)


def is_staff_account(user: User) -> bool:
    """Providers, office staff and superusers: never a practice's client."""
    return user.is_staff or user.is_superuser


def care_team_invite(
    *, provider: Provider, email: str, name: str = "", actor: User, now: datetime | None = None
) -> CareTeamResult:
    """
    Invite an address to the provider's care team. The answer is the same whether or not an
    account exists, and nobody is linked, or named to the provider, until the person accepts.
    A staff account is never emailed and can never accept.
    """
    if not (actor.is_superuser or provider.is_worked_by(actor)):
        raise PermissionDenied("Only the provider's practice can invite to their care team.")
    email = normalize_email_address(email)
    try:
        if len(email) > 254:
            raise ValidationError("too long")
        validate_email(email)
    except ValidationError:
        raise ChangeError("Enter a valid email address.") from None
    now = now or timezone.now()
    with transaction.atomic():
        Provider.objects.select_for_update().get(pk=provider.pk)  # one invitation at a time
        member = CareTeamMember.objects.filter(provider=provider, client__email=email).first()
        if member is not None:
            return CareTeamResult(invitation=None, member=member)
        invitation, created = CareTeamInvitation.objects.get_or_create(
            provider=provider,
            email=email,
            status=CareTeamInvitation.Status.PENDING,
            defaults={"name": name.strip()[:150], "invited_by": actor, "created_at": now},
        )
        if not created and not invitation.is_open(now):
            invitation.created_at, invitation.sent_at = now, None  # a fresh link for the old one
            invitation.save(update_fields=["created_at", "sent_at"])
        account = User.objects.filter(email=email).first()
        due = invitation.sent_at is None or now - invitation.sent_at >= RESEND_INVITATION_AFTER
        if due and not (account and is_staff_account(account)):
            queue_invitation_email(invitation, has_account=account is not None)
            invitation.sent_at = now
            invitation.save(update_fields=["sent_at"])
    return CareTeamResult(invitation=invitation, member=None)


def _answerable(invitation: CareTeamInvitation, user: User, now: datetime) -> CareTeamInvitation:
    locked = CareTeamInvitation.objects.select_for_update().get(pk=invitation.pk)
    if locked.email != normalize_email_address(user.email):
        raise PermissionDenied("This invitation is for another address.")
    if is_staff_account(user):
        raise ChangeError("Staff accounts can't join a care team as a client.")
    if not locked.is_open(now):
        raise ChangeError("This invitation no longer works. Ask the practice to send a new one.")
    return locked


def care_team_invitation_accept(
    *, invitation: CareTeamInvitation, user: User, now: datetime | None = None
) -> CareTeamMember:
    """The person behind the address joins the care team; only now does the provider see them."""
    now = now or timezone.now()
    with transaction.atomic():
        invitation = _answerable(invitation, user, now)
        member, _ = CareTeamMember.objects.get_or_create(
            provider_id=invitation.provider_id, client=user, defaults={"added_at": now}
        )
        invitation.status = CareTeamInvitation.Status.ACCEPTED
        invitation.client, invitation.responded_at = user, now
        invitation.save(update_fields=["status", "client", "responded_at"])
    return member


def care_team_invitation_decline(
    *, invitation: CareTeamInvitation, user: User, now: datetime | None = None
) -> CareTeamInvitation:
    now = now or timezone.now()
    with transaction.atomic():
        invitation = _answerable(invitation, user, now)
        invitation.status, invitation.responded_at = CareTeamInvitation.Status.DECLINED, now
        invitation.save(update_fields=["status", "responded_at"])
    return invitation


def client_account_create(
    *, invitation: CareTeamInvitation, name: str, password: str, now: datetime | None = None
) -> User:
    """
    An account for an invited address that had none, made by the person who opened the link
    (which proves the address is theirs), and the invitation accepted with it.
    """
    now = now or timezone.now()
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=invitation.email, password=password, name=name.strip()[:150]
            )
            care_team_invitation_accept(invitation=invitation, user=user, now=now)
    except IntegrityError:
        raise ChangeError(
            "An account with this email address exists already. Sign in to accept."
        ) from None
    return user


DEFAULT_POLICY_TEXT = (
    "You can cancel or reschedule online up to 24 hours before your session. After that, "
    "please message us."
)


@dataclass(frozen=True)
class ProviderCreated:
    provider: Provider
    invited: bool  # a new account was made and emailed a link to set its password


def provider_create(
    *,
    email: str,
    name: str,
    time_zone: str,
    title: str = "",
    actor: User | None,
    profile: dict | None = None,
    policy: dict | None = None,
) -> ProviderCreated:
    """
    A provider: their account (an existing one, or a new one invited to set a password), the
    profile in their zone, a policy (the default unless `policy` gives its fields) and the
    practice staff's access to the admin. Ops (no actor) or a superuser may.
    """
    if actor is not None and not actor.is_superuser:
        raise NotPermitted("Only a superuser can create a provider.")
    email = normalize_email_address(email)
    with transaction.atomic():
        if Provider.objects.filter(user__email=email).exists():
            raise ChangeError(f"{email} is already a provider.")
        user = User.objects.filter(email=email).first()
        invited = user is None
        if user is None:
            user = User.objects.create_user(email, None, name=name, time_zone=time_zone)
        provider = Provider.objects.create(
            user=user,
            display_name=name,
            title=title.strip()[:150],
            time_zone=time_zone,
            **(profile or {}),
        )
        Policy.objects.create(provider=provider, **(policy or {"text": DEFAULT_POLICY_TEXT}))
        join_practice_staff(user)
        if invited:
            queue_invitation(user, invited_by=name, audience="provider")
    return ProviderCreated(provider=provider, invited=invited)

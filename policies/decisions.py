"""
Whether a client may cancel or reschedule an appointment right now, and on what terms.

A pure function of (terms, action, appointment facts, now): no database, no request. Every
window is measured between UTC instants, so "24 hours before" is 24 real hours whatever the
clocks do in between.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from policies.terms import Late, Money, PolicyTerms
from portal.formatting import when

UTC_ZONE = ZoneInfo("UTC")


class Action(StrEnum):
    CANCEL = "cancel"
    RESCHEDULE = "reschedule"


class Outcome(StrEnum):
    FREE = "free"  # allowed, no fee
    GRACE = "grace"  # allowed and free because the booking was just made
    FEE = "fee"  # allowed with a fee
    NOT_ONLINE = "not_online"  # the provider does not allow this action online
    WINDOW = "window"  # refused: inside the notice window
    GRACE_ENDED = "grace_ended"  # refused: booked inside the window, and the grace period ended
    BOOKED_INSIDE = "booked_inside"  # refused: booked inside the window, with no grace period
    LIMIT = "limit"  # refused: rescheduled as often as the policy allows
    STARTED = "started"  # refused: the appointment has started or passed
    INACTIVE = "inactive"  # refused: cancelled, completed or missed


@dataclass(frozen=True)
class AppointmentFacts:
    start: datetime
    booked_at: datetime
    client_reschedules: int = 0
    is_scheduled: bool = True


@dataclass(frozen=True)
class Decision:
    action: Action
    outcome: Outcome
    allowed: bool
    fee: Money | None
    # The last instant at which the action is free (None when that no longer matters).
    deadline: datetime | None
    reason: str

    @property
    def refused(self) -> bool:
        return not self.allowed

    @property
    def sentence(self) -> str:
        """The reason as a sentence: one full stop, never two (a reason may end in "p. m.")."""
        return self.reason if self.reason.endswith((".", "?", "!")) else f"{self.reason}."


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def notice_words(notice: timedelta) -> str:
    hours, rest = divmod(int(notice.total_seconds()), 3600)
    if rest == 0 and hours and hours % 24 == 0 and hours >= 48:
        return _plural(hours // 24, "day")
    if rest == 0:
        return _plural(hours, "hour")
    return _plural(int(notice.total_seconds() // 60), "minute")


def duration_words(span: timedelta) -> str:
    """10-minute, 1-hour, 2-day: a length as an adjective."""
    words = notice_words(span)
    count, unit = words.split(" ", 1)
    return f"{count}-{unit.rstrip('s')}"


def decide(
    terms: PolicyTerms,
    action: Action,
    appointment: AppointmentFacts,
    now: datetime,
    *,
    zone: ZoneInfo = UTC_ZONE,
) -> Decision:
    """`zone` only shapes the words of the reason (the viewer's zone); never the decision."""
    noun = "cancellation" if action == Action.CANCEL else "rescheduling"
    verb = "cancel" if action == Action.CANCEL else "reschedule"
    done = "cancelled" if action == Action.CANCEL else "rescheduled"

    def refuse(outcome: Outcome, reason: str, deadline: datetime | None = None) -> Decision:
        return Decision(action, outcome, False, None, deadline, reason)

    if not appointment.is_scheduled:
        return refuse(Outcome.INACTIVE, "This appointment is no longer scheduled.")
    if now >= appointment.start:
        return refuse(
            Outcome.STARTED,
            f"This appointment has already started, so it can't be {done} online",
        )
    may = terms.clients_may_cancel if action == Action.CANCEL else terms.clients_may_reschedule
    if not may:
        return refuse(Outcome.NOT_ONLINE, f"Online {noun} isn't available")
    if (
        action == Action.RESCHEDULE
        and terms.max_reschedules is not None
        and appointment.client_reschedules >= terms.max_reschedules
    ):
        return refuse(
            Outcome.LIMIT,
            f"This appointment has been rescheduled "
            f"{_plural(appointment.client_reschedules, 'time')}, the most your provider allows "
            "online",
        )

    notice = terms.cancel_notice if action == Action.CANCEL else terms.reschedule_notice
    window_opens = appointment.start - notice
    grace_ends = min(appointment.booked_at + terms.grace_period, appointment.start)
    deadline = max(window_opens, grace_ends)
    if now <= deadline:
        outcome = Outcome.FREE if now <= window_opens else Outcome.GRACE
        return Decision(
            action,
            outcome,
            True,
            None,
            deadline,
            f"Free to {verb} until {when(deadline, zone)}",
        )

    late = terms.late_cancel if action == Action.CANCEL else terms.late_reschedule
    amount = terms.late_cancel_fee if action == Action.CANCEL else terms.late_reschedule_fee
    if late == Late.FEE:
        if amount > 0:
            fee = Money(amount, terms.currency)
            return Decision(
                action,
                Outcome.FEE,
                True,
                fee,
                deadline,
                f"A {fee} fee applies if you {verb} now",
            )
        return Decision(action, Outcome.FREE, True, None, None, f"You can {verb} online")
    if grace_ends > window_opens and not terms.grace_period:
        # Booked inside the notice window, and no grace period: it was never free to change.
        return refuse(
            Outcome.BOOKED_INSIDE,
            f"Online {noun} was never available for this appointment: it was booked "
            f"{when(appointment.booked_at, zone)}, less than {notice_words(notice)} before the "
            "session",
            appointment.booked_at,
        )
    if grace_ends > window_opens:
        # Booked inside the notice window: the grace period after booking was the free time.
        return refuse(
            Outcome.GRACE_ENDED,
            f"Online {noun} closed {when(grace_ends, zone)}, when the "
            f"{duration_words(terms.grace_period)} grace period after booking ended",
            grace_ends,
        )
    return refuse(
        Outcome.WINDOW,
        f"Online {noun} closed {when(window_opens, zone)}, {notice_words(notice)} before the "
        "session",
        window_opens,
    )

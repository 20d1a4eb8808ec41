"""The policy decision, as a pure function, tested at its edges."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from policies.decisions import Action, AppointmentFacts, Decision, Outcome, decide
from policies.terms import Late, Money, PolicyTerms
from portal.formatting import when

NEW_YORK = ZoneInfo("America/New_York")
SECOND = timedelta(seconds=1)
START = datetime(2026, 12, 2, 14, tzinfo=UTC)  # Wed 2 Dec, 9:00 AM EST
BOOKED = START - timedelta(days=10)

FEE_TERMS = PolicyTerms(
    cancel_notice=timedelta(hours=24),
    late_cancel=Late.FEE,
    late_cancel_fee=Decimal("50"),
    reschedule_notice=timedelta(hours=48),
    late_reschedule=Late.REFUSE,
    max_reschedules=2,
    grace_period=timedelta(minutes=10),
)


def facts(start=START, booked=BOOKED, reschedules=0, scheduled=True):
    return AppointmentFacts(start, booked, reschedules, scheduled)


def cancel(now, terms=FEE_TERMS, **kw):
    return decide(terms, Action.CANCEL, facts(**kw), now, zone=NEW_YORK)


def reschedule(now, terms=FEE_TERMS, **kw):
    return decide(terms, Action.RESCHEDULE, facts(**kw), now, zone=NEW_YORK)


def test_before_the_window_it_is_free_and_says_until_when():
    decision = cancel(START - timedelta(days=3))
    assert decision.allowed and decision.fee is None and decision.outcome == Outcome.FREE
    assert decision.deadline == START - timedelta(hours=24)
    assert decision.reason == "Free to cancel until Tue 1 Dec, 9:00 AM (EST)"


def test_exactly_at_the_deadline_is_still_free():
    decision = cancel(START - timedelta(hours=24))
    assert decision.allowed and decision.fee is None


def test_one_second_before_the_deadline_is_free():
    assert cancel(START - timedelta(hours=24) - SECOND).fee is None


def test_one_second_after_the_deadline_costs_the_fee():
    decision = cancel(START - timedelta(hours=24) + SECOND)
    assert decision.allowed and decision.outcome == Outcome.FEE
    assert decision.fee == Money(Decimal("50"), "USD")
    assert decision.reason == "A $50 fee applies if you cancel now"


def test_inside_a_refusing_window_it_is_refused_with_the_reason():
    decision = reschedule(START - timedelta(hours=48) + SECOND)
    assert decision.refused and decision.outcome == Outcome.WINDOW
    assert decision.reason == (
        "Online rescheduling closed Mon 30 Nov, 9:00 AM (EST), 2 days before the session"
    )
    assert reschedule(START - timedelta(hours=48)).allowed


def test_a_window_across_a_clock_change_is_real_hours():
    # Sunday 8 March 2026, 9:00 AM EDT; the clocks went forward at 2:00 that morning.
    start = datetime(2026, 3, 8, 9, tzinfo=NEW_YORK).astimezone(UTC)
    deadline = start - timedelta(hours=24)
    assert deadline.astimezone(NEW_YORK).hour == 8  # 24 real hours is 25 on the clock
    assert cancel(deadline, start=start, booked=start - timedelta(days=30)).fee is None
    late = cancel(deadline + SECOND, start=start, booked=start - timedelta(days=30))
    assert late.fee is not None
    early = cancel(deadline - SECOND, start=start, booked=start - timedelta(days=30))
    assert early.reason == "Free to cancel until Sat 7 Mar, 8:00 AM (EST)"


def test_rescheduling_stops_at_the_limit():
    early = START - timedelta(days=5)
    assert reschedule(early, reschedules=1).allowed
    decision = reschedule(early, reschedules=2)
    assert decision.refused and decision.outcome == Outcome.LIMIT
    assert "rescheduled 2 times" in decision.reason


def test_no_limit_means_no_limit():
    terms = PolicyTerms(max_reschedules=None)
    assert reschedule(START - timedelta(days=5), terms=terms, reschedules=40).allowed


def test_a_limit_of_zero_refuses_every_reschedule():
    terms = PolicyTerms(max_reschedules=0)
    assert reschedule(START - timedelta(days=5), terms=terms).outcome == Outcome.LIMIT


def test_a_just_made_booking_can_be_cancelled_free_inside_the_window():
    booked = START - timedelta(hours=3)
    decision = cancel(booked + timedelta(minutes=5), booked=booked)
    assert decision.allowed and decision.fee is None and decision.outcome == Outcome.GRACE
    assert decision.deadline == booked + timedelta(minutes=10)


def test_the_grace_period_ends_exactly_after_its_length():
    booked = START - timedelta(hours=3)
    assert cancel(booked + timedelta(minutes=10), booked=booked).fee is None
    assert cancel(booked + timedelta(minutes=10) + SECOND, booked=booked).fee is not None


def test_the_grace_period_also_frees_a_reschedule_inside_a_refusing_window():
    booked = START - timedelta(hours=3)
    assert reschedule(booked + timedelta(minutes=9), booked=booked).allowed
    assert reschedule(booked + timedelta(minutes=11), booked=booked).refused


def test_the_grace_period_never_reaches_past_the_start():
    booked = START - timedelta(minutes=5)
    assert cancel(START, booked=booked).outcome == Outcome.STARTED


def test_grace_does_not_lift_the_reschedule_limit():
    booked = START - timedelta(hours=3)
    assert reschedule(booked, booked=booked, reschedules=2).outcome == Outcome.LIMIT


@pytest.mark.parametrize("after", [timedelta(0), SECOND, timedelta(hours=3)])
def test_a_started_or_past_appointment_is_never_changeable(after):
    for decision in (cancel(START + after), reschedule(START + after)):
        assert decision.refused and decision.outcome == Outcome.STARTED


def test_a_cancelled_appointment_is_not_changeable():
    assert cancel(START - timedelta(days=5), scheduled=False).outcome == Outcome.INACTIVE


def test_an_action_not_offered_online_is_refused_whatever_the_time():
    terms = PolicyTerms(clients_may_cancel=False, clients_may_reschedule=False)
    decision = cancel(START - timedelta(days=30), terms=terms)
    assert decision.refused
    assert decision.reason == "Online cancellation isn't available"
    assert reschedule(START - timedelta(days=30), terms=terms).outcome == Outcome.NOT_ONLINE


def test_a_fee_of_nothing_is_no_fee():
    terms = PolicyTerms(late_cancel=Late.FEE, late_cancel_fee=Decimal("0"))
    decision = cancel(START - timedelta(hours=1), terms=terms)
    assert decision.allowed and decision.fee is None


def test_the_zone_changes_only_the_words():
    berlin = decide(
        FEE_TERMS, Action.CANCEL, facts(), START - timedelta(days=3), zone=ZoneInfo("Europe/Berlin")
    )
    assert berlin.reason == "Free to cancel until Tue 1 Dec, 3:00 PM (CET)"
    assert berlin.deadline == cancel(START - timedelta(days=3)).deadline


@pytest.mark.parametrize(
    ("money", "text"),
    [
        (Money(Decimal("50"), "USD"), "$50"),
        (Money(Decimal("49.5"), "USD"), "$49.50"),
        (Money(Decimal("1250"), "GBP"), "£1,250"),
        (Money(Decimal("30"), "CHF"), "30 CHF"),
    ],
)
def test_money_reads_naturally(money, text):
    assert str(money) == text


def test_terms_survive_a_trip_through_json():
    terms = PolicyTerms(
        cancel_notice=timedelta(hours=36),
        late_cancel=Late.FEE,
        late_cancel_fee=Decimal("75.50"),
        max_reschedules=3,
        no_show_fee=Decimal("100"),
        text="Please give a day's notice.",
    )
    import json

    again = PolicyTerms.from_json(json.loads(json.dumps(terms.as_json())))
    assert again == terms and again.text == terms.text
    assert PolicyTerms.from_json({}) == PolicyTerms()


# --- What a page carries back: the fee it showed -----------------------------------------------


def test_money_round_trips_through_the_token_a_page_carries():
    for money in [Money(Decimal("50"), "USD"), Money(Decimal("12.5"), "EUR")]:
        again = Money.from_token(money.token)
        assert (again.amount, again.currency) == (money.amount, money.currency)


@pytest.mark.parametrize(
    "token", ["", "50", "fifty USD", "NaN USD", "-5 USD", "5 DOLLARS", "1 2 3"]
)
def test_an_unreadable_token_means_no_fee_was_shown(token):
    assert Money.from_token(token) is None


def test_an_accepted_fee_covers_only_no_more_of_the_same_currency():
    accepted = Money(Decimal("50"), "USD")
    assert accepted.covers(None)
    assert accepted.covers(Money(Decimal("50"), "USD"))
    assert accepted.covers(Money(Decimal("20"), "USD"))
    assert not accepted.covers(Money(Decimal("50.01"), "USD"))
    assert not accepted.covers(Money(Decimal("10"), "EUR"))


# --- The refusal names the rule that decided it, with its own time -------------------------------

DAWN = datetime(2026, 11, 28, 10, tzinfo=UTC)  # Sat 28 Nov, 5:00 AM EST
REFUSING = PolicyTerms(
    cancel_notice=timedelta(hours=24),
    reschedule_notice=timedelta(hours=24),
    late_reschedule=Late.REFUSE,
    late_cancel=Late.REFUSE,
    grace_period=timedelta(minutes=10),
    max_reschedules=1,
)


def test_after_the_grace_period_the_refusal_names_the_grace_period_and_its_end():
    """Booked 2:22 AM for 5:00 AM: the only free time was the 10 minutes after booking."""
    booked = DAWN - timedelta(hours=2, minutes=38)
    decision = reschedule(booked + timedelta(minutes=11), terms=REFUSING, start=DAWN, booked=booked)
    assert decision.refused and decision.outcome == Outcome.GRACE_ENDED
    assert decision.reason == (
        "Online rescheduling closed Sat 28 Nov, 2:32 AM (EST), when the 10-minute grace period "
        "after booking ended"
    )
    assert decision.deadline == booked + timedelta(minutes=10)


def test_inside_the_notice_window_the_refusal_names_the_window_and_its_opening():
    decision = reschedule(DAWN - timedelta(hours=3), terms=REFUSING, start=DAWN, booked=BOOKED)
    assert decision.outcome == Outcome.WINDOW
    assert decision.reason == (
        "Online rescheduling closed Fri 27 Nov, 5:00 AM (EST), 24 hours before the session"
    )


def test_a_reached_limit_says_so_without_a_time():
    decision = reschedule(DAWN - timedelta(days=3), terms=REFUSING, start=DAWN, reschedules=1)
    assert decision.outcome == Outcome.LIMIT
    assert decision.reason == (
        "This appointment has been rescheduled 1 time, the most your provider allows online"
    )


def test_a_started_session_says_so():
    decision = cancel(DAWN + SECOND, terms=REFUSING, start=DAWN)
    assert decision.outcome == Outcome.STARTED
    assert (
        decision.reason == "This appointment has already started, so it can't be cancelled online"
    )


def test_not_allowed_online_says_so_for_each_action():
    terms = PolicyTerms(clients_may_cancel=False, clients_may_reschedule=False)
    assert cancel(DAWN - timedelta(days=3), terms=terms, start=DAWN).reason == (
        "Online cancellation isn't available"
    )
    assert reschedule(DAWN - timedelta(days=3), terms=terms, start=DAWN).reason == (
        "Online rescheduling isn't available"
    )


def test_no_reason_tells_the_client_to_message_anyone():
    """How to reach the provider follows from their settings, not from the policy."""
    for now in [DAWN - timedelta(days=3), DAWN - timedelta(hours=3), DAWN + SECOND]:
        for act in (cancel, reschedule):
            assert "message" not in act(now, terms=REFUSING, start=DAWN).reason.lower()


@pytest.mark.parametrize(
    ("reason", "sentence"),
    [
        ("Online cancellation isn't available", "Online cancellation isn't available."),
        ("This appointment is no longer scheduled.", "This appointment is no longer scheduled."),
        (
            "Online cancellation closed lun 2 dic, 9:00 p. m.",
            "Online cancellation closed lun 2 dic, 9:00 p. m.",
        ),
        (
            "Free to cancel until Mon 2 Dec, 9:00 AM (EST)",
            "Free to cancel until Mon 2 Dec, 9:00 AM (EST).",
        ),
        ("Is that so?", "Is that so?"),
    ],
)
def test_a_reason_reads_as_a_sentence_with_one_full_stop(reason, sentence):
    decision = Decision(Action.CANCEL, Outcome.WINDOW, False, None, None, reason)
    assert decision.sentence == sentence


# Why a change is closed, against the rule itself, for every combination: grace or none,
# booked long before the window, just before it (the grace reaching into it) or inside it,
# and asked before or after the grace period ended, or inside the window.
NOTICE = timedelta(hours=24)
GRACES = [timedelta(0), timedelta(minutes=10)]
BOOKINGS = {
    "long before the window": START - timedelta(days=10),
    "just before the window": START - NOTICE - timedelta(minutes=5),
    "inside the window": START - timedelta(hours=5),
}
MOMENTS = {
    "during the grace period": timedelta(minutes=5),  # after booking
    "after the grace period": timedelta(minutes=15),  # after booking
    "an hour before the session": None,
}


def the_rule(action: Action, grace: timedelta, booked: datetime, now: datetime) -> tuple[bool, str]:
    """The policy as the help article states it, written out case by case."""
    noun, verb = (
        ("cancellation", "cancel") if action == Action.CANCEL else ("rescheduling", "reschedule")
    )
    window_opens, grace_ends = START - NOTICE, booked + grace
    free_until = max(window_opens, grace_ends)
    if now <= free_until:
        return True, f"Free to {verb} until {when(free_until, NEW_YORK)}"
    if grace and grace_ends > window_opens:
        return False, (
            f"Online {noun} closed {when(grace_ends, NEW_YORK)}, when the 10-minute grace "
            "period after booking ended"
        )
    if booked > window_opens:
        return False, (
            f"Online {noun} was never available for this appointment: it was booked "
            f"{when(booked, NEW_YORK)}, less than 24 hours before the session"
        )
    return (
        False,
        f"Online {noun} closed {when(window_opens, NEW_YORK)}, 24 hours before the session",
    )


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("grace", GRACES, ids=["no grace", "10-minute grace"])
@pytest.mark.parametrize("booking", list(BOOKINGS))
@pytest.mark.parametrize("moment", list(MOMENTS))
def test_every_closed_change_states_its_true_reason(action, grace, booking, moment):
    booked = BOOKINGS[booking]
    after = MOMENTS[moment]
    now = booked + after if after is not None else START - timedelta(hours=1)
    terms = PolicyTerms(
        cancel_notice=NOTICE,
        reschedule_notice=NOTICE,
        late_cancel=Late.REFUSE,
        late_reschedule=Late.REFUSE,
        grace_period=grace,
    )
    decision = decide(terms, action, facts(booked=booked), now, zone=NEW_YORK)
    allowed, reason = the_rule(action, grace, booked, now)
    assert (decision.allowed, decision.reason) == (allowed, reason)
    if not grace:
        assert "grace" not in decision.reason

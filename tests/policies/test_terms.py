"""The terms saved with each booking: read back exactly, and never crash a page when odd."""

from datetime import timedelta
from decimal import Decimal

import pytest

from policies.terms import (
    DURATION_LIMITS,
    MAX_GRACE_PERIOD,
    MAX_NOTICE,
    Late,
    PolicyTerms,
)

TERMS = PolicyTerms(
    cancel_notice=timedelta(hours=48),
    reschedule_notice=timedelta(days=365),
    late_cancel=Late.FEE,
    late_cancel_fee=Decimal("50.00"),
    grace_period=timedelta(minutes=10, seconds=30),
    no_show_fee=Decimal("75"),
    max_reschedules=2,
)


def test_terms_read_back_exactly_what_was_saved():
    assert PolicyTerms.from_json(TERMS.as_json()) == TERMS


def test_every_duration_in_the_terms_has_a_bound():
    durations = {
        name for name, spec in PolicyTerms.__dataclass_fields__.items() if spec.type is timedelta
    }
    assert durations == set(DURATION_LIMITS)


@pytest.mark.parametrize(
    ("saved", "expected"),
    [
        ({"cancel_notice": 3_000_000 * 86400}, {"cancel_notice": MAX_NOTICE}),
        ({"grace_period": 999_999_999 * 86400}, {"grace_period": MAX_GRACE_PERIOD}),
        ({"reschedule_notice": 1e300}, {"reschedule_notice": MAX_NOTICE}),
        ({"reschedule_notice": float("inf")}, {"reschedule_notice": MAX_NOTICE}),
        ({"cancel_notice": -3600}, {"cancel_notice": timedelta(0)}),
        ({"cancel_notice": float("-inf")}, {"cancel_notice": timedelta(0)}),
    ],
)
def test_durations_saved_before_the_bounds_are_clamped(saved, expected):
    terms = PolicyTerms.from_json(TERMS.as_json() | saved)
    for name, value in expected.items():
        assert getattr(terms, name) == value


@pytest.mark.parametrize("junk", [None, "a day", float("nan"), [], {}])
def test_an_unreadable_saved_duration_falls_back_to_the_default(junk):
    terms = PolicyTerms.from_json(TERMS.as_json() | {"grace_period": junk})
    assert terms.grace_period == PolicyTerms().grace_period
    assert terms.cancel_notice == TERMS.cancel_notice

"""The terms saved with each booking: read back exactly, and never crash a page when odd."""

from datetime import timedelta
from decimal import Decimal

import pytest

from policies.terms import (
    MAX_GRACE_PERIOD,
    MAX_NOTICE,
    READERS,
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


def test_every_field_of_the_terms_has_its_own_reader():
    assert set(READERS) == set(PolicyTerms.__dataclass_fields__)


# One changed value of every kind of field: flag, duration, choice, amount, optional amount,
# code, count, optional count and text.
CHANGES = {
    "clients_may_cancel": False,
    "clients_may_reschedule": False,
    "cancel_notice": timedelta(days=2, seconds=1),
    "reschedule_notice": timedelta(hours=3),
    "late_cancel": Late.FEE,
    "late_cancel_fee": Decimal("12.34"),
    "late_reschedule": Late.FEE,
    "late_reschedule_fee": Decimal("0.5"),
    "currency": "EUR",
    "max_reschedules": 0,
    "grace_period": timedelta(minutes=7),
    "no_show_fee": None,
    "text": "Cancel by noon the day before.",
}


def test_the_changes_cover_every_field():
    assert set(CHANGES) == set(PolicyTerms.__dataclass_fields__)


@pytest.mark.parametrize(("name", "value"), CHANGES.items())
def test_each_field_round_trips_through_what_is_saved(name, value):
    terms = PolicyTerms(**{name: value})
    again = PolicyTerms.from_json(terms.as_json())
    assert getattr(again, name) == value and type(getattr(again, name)) is type(value)
    assert again == terms


@pytest.mark.parametrize("name", list(CHANGES))
@pytest.mark.parametrize("junk", ["lots", [], {}, -5, float("nan"), "NaN", True])
def test_junk_saved_in_any_field_reads_as_a_value_of_its_kind(name, junk):
    terms = PolicyTerms.from_json(TERMS.as_json() | {name: junk})
    value, default = getattr(terms, name), getattr(PolicyTerms(), name)
    assert value is None or isinstance(value, type(default) if default is not None else Decimal)


def test_terms_are_read_once_and_kept_for_the_same_saved_values():
    saved = TERMS.as_json()
    assert PolicyTerms.from_json(dict(saved)) is PolicyTerms.from_json(dict(saved))
    # Kept by value and by each value's type: a junk True is not the number 1.
    as_number = PolicyTerms.from_json(saved | {"max_reschedules": 1})
    as_flag = PolicyTerms.from_json(saved | {"max_reschedules": True})
    assert as_number.max_reschedules == 1 and as_flag.max_reschedules is None
    assert PolicyTerms.from_json(saved | {"text": "Other words"}).text == "Other words"
    # A value no key can hold is read afresh, the same way.
    afresh = PolicyTerms.from_json(saved | {"grace_period": []})
    assert afresh.grace_period == PolicyTerms().grace_period
    assert afresh.cancel_notice == TERMS.cancel_notice


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

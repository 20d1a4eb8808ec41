"""The sliding-window throttle under the portal's own throttles, to the microsecond."""

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.models import ThrottleSlot
from portal.throttles import Throttle, minutes_until, prune_throttles

pytestmark = pytest.mark.django_db
THREE_AN_HOUR = Throttle("test", limit=3, window=timedelta(hours=1))
TICK = timedelta(microseconds=1)


@pytest.fixture
def now():
    return timezone.now()


def test_a_key_gets_its_limit_in_the_window_and_no_more(now):
    taken = [THREE_AN_HOUR.take("a", now=now + timedelta(minutes=m)) for m in (0, 10, 20, 30)]
    assert [t is not None for t in taken] == [True, True, True, False]
    assert THREE_AN_HOUR.take("b", now=now) is not None


def test_a_use_frees_its_place_exactly_when_it_leaves_the_window(now):
    for minutes in (0, 10, 20):
        THREE_AN_HOUR.take("a", now=now + timedelta(minutes=minutes))
    assert THREE_AN_HOUR.free_at("a", now=now + timedelta(minutes=30)) == now + timedelta(hours=1)
    assert THREE_AN_HOUR.take("a", now=now + timedelta(hours=1) - TICK) is None
    assert THREE_AN_HOUR.take("a", now=now + timedelta(hours=1)) is not None
    # The window slides: the next place frees an hour after the second use, not before.
    assert THREE_AN_HOUR.take("a", now=now + timedelta(minutes=70) - TICK) is None
    assert THREE_AN_HOUR.take("a", now=now + timedelta(minutes=70)) is not None


def test_free_at_is_none_while_there_is_room(now):
    THREE_AN_HOUR.take("a", now=now)
    assert THREE_AN_HOUR.free_at("a", now=now) is None


def test_a_pruned_place_is_taken_again_like_a_stale_one(now):
    for minutes in (0, 10, 20):
        THREE_AN_HOUR.take("a", now=now - timedelta(hours=2) + timedelta(minutes=minutes))
    assert ThrottleSlot.objects.count() == 3
    prune_throttles(now=now)  # "test" is no throttle's scope: kept for a day
    ThrottleSlot.objects.filter(slot=1).delete()
    assert [THREE_AN_HOUR.take("a", now=now) is not None for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    assert sorted(ThrottleSlot.objects.values_list("slot", flat=True)) == [0, 1, 2]


def test_a_place_given_back_is_free_again(now):
    taken = [THREE_AN_HOUR.take("a", now=now) for _ in range(3)]
    THREE_AN_HOUR.give_back(taken[1])
    assert THREE_AN_HOUR.take("a", now=now) is not None
    assert THREE_AN_HOUR.take("a", now=now) is None


def test_giving_back_a_place_someone_reused_since_changes_nothing(now):
    first = THREE_AN_HOUR.take("a", now=now - timedelta(hours=2))
    assert THREE_AN_HOUR.take("a", now=now).slot == first.slot  # reused: it was stale
    THREE_AN_HOUR.give_back(first)
    assert ThrottleSlot.objects.filter(slot=first.slot, used_at=now).exists()


def test_clear_frees_every_place_of_one_key_only(now):
    for key in "ab":
        for _ in range(3):
            THREE_AN_HOUR.take(key, now=now)
    THREE_AN_HOUR.clear("a")
    assert THREE_AN_HOUR.take("a", now=now) is not None
    assert THREE_AN_HOUR.take("b", now=now) is None


def test_the_same_value_in_two_throttles_is_two_keys(now):
    other = Throttle("other", limit=1, window=timedelta(hours=1))
    other.take("a", now=now)
    assert THREE_AN_HOUR.take("a", now=now) is not None
    assert other.key("a") != THREE_AN_HOUR.key("a")


@pytest.mark.parametrize(
    ("left", "minutes"),
    [(timedelta(minutes=15), 15), (timedelta(minutes=14, seconds=1), 15), (TICK, 1), (-TICK, 1)],
)
def test_the_wait_people_are_told_is_rounded_up_to_whole_minutes(now, left, minutes):
    assert minutes_until(now + left, now=now) == minutes

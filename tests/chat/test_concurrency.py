"""
The chat rate limit under real concurrency: threads, each with its own connection and
transaction, against the configured database (PostgreSQL in CI, and SQLite on a file).
"""

import time
import uuid

import pytest
from django.db import transaction

from chat import services
from chat.models import Message
from chat.services import RATE_LIMIT, RateLimited, conversation_start, message_send
from tests.concurrency import race

pytestmark = pytest.mark.django_db(transaction=True)
SENDS = 40


@pytest.fixture
def conversation(client_user, provider):
    return conversation_start(client=client_user, provider=provider)


@pytest.fixture
def slow_insert(monkeypatch):
    """Widen the gap between counting and inserting, as a loaded server would."""
    real = Message.objects.create

    def slow(**kwargs):
        time.sleep(0.02)
        return real(**kwargs)

    monkeypatch.setattr(Message.objects, "create", slow)


def test_forty_sends_at_once_by_one_sender_store_exactly_the_limit(
    conversation, client_user, slow_insert
):
    def attempt(i):
        return message_send(
            conversation=conversation,
            sender=client_user,
            body=f"message {i}",
            client_key=uuid.uuid4(),
        ).pk

    outcomes = race(attempt, SENDS, refusals=(RateLimited,))
    kinds = [kind for kind, _ in outcomes]
    assert kinds.count("error") == 0, [o for o in outcomes if o[0] == "error"]
    assert kinds.count("ok") == RATE_LIMIT
    assert kinds.count("conflict") == SENDS - RATE_LIMIT
    assert Message.objects.filter(sender=client_user).count() == RATE_LIMIT


def test_the_same_send_retried_at_once_is_stored_once_and_not_counted_twice(
    conversation, client_user
):
    key = uuid.uuid4()

    def attempt(i):
        return message_send(
            conversation=conversation, sender=client_user, body="Once", client_key=key
        ).pk

    outcomes = race(attempt, 10, refusals=(RateLimited,))
    assert {kind for kind, _ in outcomes} == {"ok"}, outcomes
    assert len({pk for _, pk in outcomes}) == 1
    assert Message.objects.count() == 1


def test_the_race_is_real_counting_outside_the_send_lets_more_through(
    conversation, client_user, slow_insert
):
    """The harness can fail: the old count-then-insert, run the same way, stores too many."""

    def naive(i):
        recent = Message.objects.filter(sender=client_user).count()
        if recent >= services.RATE_LIMIT:
            raise RateLimited("too fast")
        with transaction.atomic():
            return Message.objects.create(
                conversation=conversation,
                sender=client_user,
                body=f"message {i}",
                client_key=uuid.uuid4(),
            ).pk

    outcomes = race(naive, SENDS, refusals=(RateLimited,))
    assert [kind for kind, _ in outcomes].count("error") == 0, outcomes
    assert Message.objects.filter(sender=client_user).count() > RATE_LIMIT

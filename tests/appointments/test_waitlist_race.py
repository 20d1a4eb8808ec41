"""
Twenty clients confirm the same offered time at once, each in their own thread, connection
and transaction, against the configured database (PostgreSQL in CI, and SQLite on a file).
"""

import pytest

from appointments import waitlist
from appointments.models import Appointment, CareTeamMember, WaitlistEntry, WaitlistOffer
from tests.appointments.test_waitlist import at_nine, book_at, cancel, join
from tests.concurrency import race
from tests.factories import UserFactory
from tests.tasks import run_worker

pytestmark = pytest.mark.django_db(transaction=True)
RACERS = 20


def test_twenty_clients_confirming_one_offer_give_one_booking_and_nineteen_clean_refusals(
    provider, session_type
):
    provider.waitlist_enabled = True
    provider.save()
    clients = UserFactory.create_batch(RACERS + 1)
    CareTeamMember.objects.bulk_create(CareTeamMember(provider=provider, client=c) for c in clients)
    for client in clients[:RACERS]:
        join(client, provider, session_type)
    cancel(book_at(clients[RACERS], provider, session_type, at_nine(provider)))
    run_worker()
    offers = list(WaitlistOffer.objects.select_related("entry__client", "entry__provider"))
    assert len(offers) == RACERS and len({offer.start for offer in offers}) == 1

    def attempt(i):
        offer = offers[i]
        return waitlist.offer_claim(offer=offer, actor=offer.entry.client).appointment.pk

    outcomes = race(attempt, RACERS)
    kinds = [kind for kind, _ in outcomes]
    assert kinds.count("error") == 0, [o for o in outcomes if o[0] == "error"]
    assert kinds.count("ok") == 1, outcomes
    assert kinds.count("conflict") == RACERS - 1
    assert Appointment.objects.filter(provider=provider, status="scheduled").count() == 1
    assert WaitlistOffer.objects.filter(status="claimed").count() == 1
    assert WaitlistOffer.objects.filter(status="lost").count() == RACERS - 1
    assert WaitlistEntry.objects.filter(status="active").count() == RACERS - 1

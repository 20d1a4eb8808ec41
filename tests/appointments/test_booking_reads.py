"""
What every booking page and the booking itself read: the type, BOOKABLE from a provider on the
client's care team, and the policy in force, the type's own before the provider's. The booking
reads them again under its lock.
"""

from datetime import timedelta
from decimal import Decimal
from itertools import product

import pytest
from django.db import transaction
from django.db.models import Model
from django.http import Http404

from appointments import selectors, services
from appointments.models import CareTeamMember, Policy
from policies.terms import PolicyTerms
from tests.factories import AppointmentTypeFactory, PolicyFactory, ProviderFactory, UserFactory

pytestmark = pytest.mark.django_db


def values(instance: Model) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.fields}


@pytest.fixture
def practice():
    """
    Two providers, the client on the care team of the first only, and types of every kind:
    bookable, retired, offline only. Policies: the first provider's own and one for a type;
    the second has only a type's; a third provider has none.
    """
    client = UserFactory(email="casey@example.com")
    ours, theirs, bare = ProviderFactory(), ProviderFactory(), ProviderFactory()
    CareTeamMember.objects.create(provider=ours, client=client)
    CareTeamMember.objects.create(provider=bare, client=UserFactory())
    kinds = [
        AppointmentTypeFactory(provider=provider, name=name, **fields)
        for provider in (ours, theirs, bare)
        for name, fields in [
            ("Session", {}),
            ("Retired", {"is_active": False}),
            ("By phone only", {"bookable_online": False}),
            ("Intake", {"duration_minutes": 90, "modality": "in_person", "address": "1 Main St"}),
        ]
    ]
    PolicyFactory(
        provider=ours, late_cancel_fee=Decimal("40.50"), grace_period=timedelta(minutes=10)
    )
    PolicyFactory(
        provider=ours,
        appointment_type=kinds[3],
        clients_may_reschedule=False,
        cancel_notice=timedelta(hours=48),
        late_cancel_fee=Decimal("90"),
    )
    PolicyFactory(provider=theirs, appointment_type=kinds[4], late_cancel="refuse")
    return client, [ours, theirs, bare], kinds


def bookable(client, provider, kind) -> bool:
    """What the practice fixture makes bookable: the first provider's Session and Intake only."""
    ours = CareTeamMember.objects.get(client=client).provider
    return (
        provider == ours
        and kind.provider == ours
        and kind.name in {"Session", "Intake"}
        and kind.is_active
        and kind.bookable_online
    )


def expected_terms(provider, kind) -> PolicyTerms:
    """The fixture's policies: a type's own first, else the provider's, else the defaults."""
    own = Policy.objects.filter(provider=provider, appointment_type=kind).first()
    general = Policy.objects.filter(provider=provider, appointment_type=None).first()
    chosen = own or general
    return chosen.terms() if chosen else PolicyTerms()


def test_only_a_bookable_type_of_a_provider_on_the_care_team_is_found(practice):
    client, providers, kinds = practice
    found = 0
    for provider, kind in product(providers, kinds):
        if not bookable(client, provider, kind):
            with pytest.raises(Http404):
                selectors.get_bookable_type_for_client(client, provider.pk, kind.pk)
            continue
        got = selectors.get_bookable_type_for_client(client, provider.pk, kind.pk)
        assert values(got) == values(kind) and values(got.provider) == values(provider)
        found += 1
    assert found == 2


def test_the_terms_in_force_are_the_types_own_policy_else_the_providers(practice):
    _, providers, kinds = practice
    seen = set()
    for provider, kind in product(providers, kinds):
        terms = selectors.terms_in_force(provider, kind)
        assert terms == expected_terms(provider, kind)
        seen.add(terms)
    # The type's own, the provider's, another type's and the defaults all came up.
    assert len(seen) == 4


@pytest.mark.django_db(transaction=True)
def test_the_booking_lock_reads_the_same_rules_under_the_lock(practice):
    client, providers, kinds = practice
    for provider, kind in product(providers, kinds):
        with transaction.atomic():
            locked = services.lock_to_book(client=client, provider=provider, appointment_type=kind)
        assert values(locked.provider) == values(provider)
        assert (
            locked.on_care_team
            == CareTeamMember.objects.filter(provider=provider, client=client).exists()
        )
        assert (locked.on_care_team and locked.type_bookable) == bookable(client, provider, kind)
        assert locked.type_bookable == (
            kind.provider_id == provider.pk and kind.is_active and kind.bookable_online
        )
        assert locked.terms == expected_terms(provider, kind)

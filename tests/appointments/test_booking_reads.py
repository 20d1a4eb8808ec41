"""
Every booking page and the booking itself read the type, the provider and the policy through
statements written by hand. Each must find exactly what the ORM's definition finds: the type
BOOKABLE on the client's care team, and the type's own policy before the provider's.
"""

from datetime import timedelta
from decimal import Decimal
from itertools import product

import pytest
from django.db import transaction
from django.db.models import F, Model, Q
from django.http import Http404

from appointments import selectors, services
from appointments.models import AppointmentType, CareTeamMember
from policies.models import Policy
from policies.selectors import terms_for
from policies.terms import PolicyTerms
from tests.factories import AppointmentTypeFactory, PolicyFactory, ProviderFactory, UserFactory

pytestmark = pytest.mark.django_db


def values(instance: Model) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.fields}


def orm_bookable_type(client, provider_id, type_id) -> AppointmentType | None:
    types = AppointmentType.objects.filter(
        selectors.BOOKABLE, provider__careteammember__client=client
    )
    return types.select_related("provider").filter(pk=type_id, provider=provider_id).first()


def orm_terms(provider, kind) -> PolicyTerms:
    chosen = (
        Policy.objects.filter(
            Q(appointment_type=kind) | Q(appointment_type__isnull=True), provider=provider
        )
        .order_by(F("appointment_type").asc(nulls_last=True))
        .first()
    )
    return chosen.terms() if chosen else PolicyTerms()


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


def test_the_bookable_type_is_the_one_the_orm_finds(practice):
    client, providers, kinds = practice
    found = 0
    for provider, kind in product(providers, kinds):
        expected = orm_bookable_type(client, provider.pk, kind.pk)
        if expected is None:
            with pytest.raises(Http404):
                selectors.get_bookable_type_for_client(client, provider.pk, kind.pk)
            continue
        got = selectors.get_bookable_type_for_client(client, provider.pk, kind.pk)
        assert values(got) == values(expected)
        assert values(got.provider) == values(expected.provider)
        found += 1
    # Only the first provider's Session and Intake are the client's to book.
    assert found == 2


def test_the_terms_are_those_of_the_policy_the_orm_chooses(practice):
    _, providers, kinds = practice
    seen = set()
    for provider, kind in product(providers, kinds):
        terms = terms_for(provider, kind)
        assert terms == orm_terms(provider, kind)
        seen.add(terms)
    # The type's own, the provider's, another type's and the defaults all came up.
    assert len(seen) == 4


@pytest.mark.django_db(transaction=True)
def test_the_booking_lock_reads_what_the_orm_says(practice):
    client, providers, kinds = practice
    for provider, kind in product(providers, kinds):
        with transaction.atomic():
            locked = services.lock_to_book(client=client, provider=provider, appointment_type=kind)
        assert values(locked.provider) == values(provider)
        assert (
            locked.on_care_team
            == CareTeamMember.objects.filter(provider=provider, client=client).exists()
        )
        on_team_and_bookable = orm_bookable_type(client, provider.pk, kind.pk) is not None
        assert (locked.on_care_team and locked.type_bookable) == on_team_and_bookable
        assert locked.type_bookable == (
            kind.provider_id == provider.pk and kind.is_active and kind.bookable_online
        )
        assert locked.terms == orm_terms(provider, kind)

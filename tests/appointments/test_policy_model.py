"""What a policy form refuses: a fee chosen without an amount, another provider's type."""

import pytest
from django.core.exceptions import ValidationError

from appointments.models import Policy
from policies.terms import Late
from tests.factories import AppointmentTypeFactory, ProviderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider():
    return ProviderFactory()


@pytest.mark.parametrize(
    ("fields", "error_field"),
    [
        ({"late_cancel": Late.FEE, "late_cancel_fee": 0}, "late_cancel_fee"),
        ({"late_reschedule": Late.FEE, "late_reschedule_fee": 0}, "late_reschedule_fee"),
    ],
)
def test_a_fee_chosen_needs_an_amount(provider, fields, error_field):
    with pytest.raises(ValidationError) as refused:
        Policy(provider=provider, **fields).clean()
    assert list(refused.value.message_dict) == [error_field]


def test_a_policy_for_a_type_must_be_for_one_of_the_providers_types(provider):
    other_type = AppointmentTypeFactory()
    with pytest.raises(ValidationError) as refused:
        Policy(provider=provider, appointment_type=other_type).clean()
    assert "appointment_type" in refused.value.message_dict
    Policy(provider=provider, appointment_type=AppointmentTypeFactory(provider=provider)).clean()


def test_a_refusing_policy_needs_no_amounts(provider):
    Policy(provider=provider, late_cancel=Late.REFUSE, late_reschedule=Late.REFUSE).clean()

from django.db.models import F, Q

from policies.models import Policy
from policies.terms import PolicyTerms


def terms_for(provider, appointment_type) -> PolicyTerms:
    """The terms in force for a new booking: the type's own policy, else the provider's."""
    chosen = (
        Policy.objects.filter(
            Q(appointment_type=appointment_type) | Q(appointment_type__isnull=True),
            provider=provider,
        )
        # The type's own policy first; the provider-wide one (no type) after it.
        .order_by(F("appointment_type").asc(nulls_last=True))
        .first()
    )
    return chosen.terms() if chosen else PolicyTerms()

from django.db import connection

from policies.models import Policy
from policies.terms import PolicyTerms
from portal.rows import Columns

# A policy's columns under the alias `policy`, for the statements that read one.
POLICY = Columns(Policy, "policy")


def chosen_policy(provider: str, appointment_type: str) -> str:
    """
    SQL for the id of the policy in force for a new booking, given SQL for the provider's id
    and the type's: the type's own policy first, else the provider-wide one (no type).
    """
    return f"""
        SELECT chosen.id FROM {Policy._meta.db_table} chosen
        WHERE chosen.provider_id = {provider}
            AND (chosen.appointment_type_id = {appointment_type}
                OR chosen.appointment_type_id IS NULL)
        ORDER BY chosen.appointment_type_id IS NULL
        LIMIT 1
    """


_TERMS_FOR = f"""
    SELECT {POLICY.sql} FROM {Policy._meta.db_table} policy
    WHERE policy.id = ({chosen_policy("%s", "%s")})
"""


def terms_from(values) -> PolicyTerms:
    """
    The terms in POLICY's columns of a row; no row, or one whose policy columns are empty (a
    left join that found none), gives the defaults.
    """
    if values is None or values[0] is None:
        return PolicyTerms()
    return POLICY.build(values).terms()


def terms_for(provider, appointment_type) -> PolicyTerms:
    """The terms in force for a new booking: the type's own policy, else the provider's."""
    with connection.cursor() as cursor:
        cursor.execute(_TERMS_FOR, [provider.pk, appointment_type.pk])
        return terms_from(cursor.fetchone())

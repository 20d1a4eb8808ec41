"""Hand-written rows come back as the instances the ORM would give."""

from datetime import timedelta

import pytest
from django.db import connection

from appointments.models import AppointmentType, Provider
from portal.rows import Columns
from tests.factories import AppointmentTypeFactory, ProviderFactory

pytestmark = pytest.mark.django_db

KIND, PROVIDER = Columns(AppointmentType, "t"), Columns(Provider, "p")
STATEMENT = f"""
    SELECT {KIND.sql}, {PROVIDER.sql} FROM {AppointmentType._meta.db_table} t
    JOIN {Provider._meta.db_table} p ON p.id = t.provider_id ORDER BY t.id
"""


def values(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.fields}


def test_rows_build_what_the_orm_reads_and_share_one_instance_per_key():
    first, second = ProviderFactory(), ProviderFactory(buffer_before=timedelta(minutes=10))
    for provider in (first, first, second):
        AppointmentTypeFactory(provider=provider)
    with connection.cursor() as cursor:
        cursor.execute(STATEMENT)
        rows = cursor.fetchall()
    built: dict = {}
    read = []
    for row in rows:
        columns = iter(row)
        kind = KIND.build_next(columns)
        kind.provider = PROVIDER.build_shared(columns, built)
        read.append(kind)
    expected = list(AppointmentType.objects.select_related("provider").order_by("pk"))
    assert [values(kind) for kind in read] == [values(kind) for kind in expected]
    assert [values(kind.provider) for kind in read] == [values(kind.provider) for kind in expected]
    # The first provider's two types share its one instance; the second has its own.
    assert read[0].provider is read[1].provider is not read[2].provider
    assert set(built) == {first.pk, second.pk}


def test_a_row_of_the_wrong_width_is_refused():
    with pytest.raises(ValueError, match="columns"):
        PROVIDER.build([1, 2, 3])

"""What the admin forms refuse before a row is saved: each model's own clean()."""

from datetime import date, time

import pytest
from django.core.exceptions import ValidationError

from appointments.models import AppointmentType, DateOverride, Modality, WeeklyHours
from tests.factories import ProviderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider():
    return ProviderFactory()


@pytest.mark.parametrize(
    ("modality", "fields", "error_field"),
    [
        (Modality.IN_PERSON, {"address": "   "}, "address"),
        (Modality.VIDEO, {"video_link": ""}, "video_link"),
    ],
)
def test_a_type_needs_the_place_its_modality_names(provider, modality, fields, error_field):
    kind = AppointmentType(provider=provider, name="Session", modality=modality, **fields)
    with pytest.raises(ValidationError) as refused:
        kind.clean()
    assert error_field in refused.value.message_dict


def test_a_phone_type_needs_neither_address_nor_link(provider):
    AppointmentType(provider=provider, name="Call", modality=Modality.PHONE).clean()


@pytest.mark.parametrize(("start", "end"), [(time(12), time(9)), (time(9), time(9))])
def test_weekly_hours_end_after_they_start(provider, start, end):
    with pytest.raises(ValidationError, match="after the start"):
        WeeklyHours(provider=provider, weekday=0, start=start, end=end).clean()
    WeeklyHours(provider=provider, weekday=0, start=time(9), end=time(9, 30)).clean()


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (time(9), None, "both a start and an end"),
        (None, time(9), "both a start and an end"),
        (time(13), time(12), "after the start"),
    ],
)
def test_a_date_override_is_a_day_off_or_a_stretch_of_hours(provider, start, end, message):
    with pytest.raises(ValidationError, match=message):
        DateOverride(provider=provider, date=date(2026, 12, 24), start=start, end=end).clean()
    DateOverride(provider=provider, date=date(2026, 12, 24)).clean()
    DateOverride(provider=provider, date=date(2026, 12, 24), start=time(9), end=time(12)).clean()

import pytest
from django.core.exceptions import ValidationError

from portal.timezones import (
    canonical_time_zone,
    equivalent_names,
    time_zone_names,
    validate_time_zone_name,
)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("Asia/Calcutta", "Asia/Kolkata"),  # what Chromium reports for India
        ("Europe/Kiev", "Europe/Kyiv"),
        ("US/Eastern", "America/New_York"),
        ("Etc/UTC", "UTC"),
        ("UTC", "UTC"),
        (" Australia/Lord_Howe ", "Australia/Lord_Howe"),
    ],
)
def test_any_name_of_a_zone_is_stored_under_its_current_name(given, stored):
    assert canonical_time_zone(given) == stored


@pytest.mark.parametrize(
    "bogus", ["", "Mars/Olympus_Mons", "localtime", "Etc/GMT+5", "../etc/passwd"]
)
def test_things_that_are_not_zones_people_live_in_are_refused(bogus):
    assert canonical_time_zone(bogus) is None


def test_the_choice_list_offers_each_zone_once_by_its_current_name():
    names = time_zone_names()
    assert "Asia/Kolkata" in names and "Asia/Calcutta" not in names
    assert "UTC" in names and "Etc/UTC" not in names
    assert len(names) == len(set(names)) > 300


def test_a_zone_knows_its_old_names():
    assert equivalent_names("Asia/Kolkata")[0] == "Asia/Kolkata"
    assert "Asia/Calcutta" in equivalent_names("Asia/Kolkata")
    assert equivalent_names("Europe/Berlin")[0] == "Europe/Berlin"


def test_the_model_validator_refuses_old_and_unknown_names():
    validate_time_zone_name("Asia/Kolkata")
    with pytest.raises(ValidationError):
        validate_time_zone_name("Nowhere/Special")

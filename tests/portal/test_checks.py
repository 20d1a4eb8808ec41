"""
The portal's own system checks, as `check --deploy --fail-level WARNING` runs them. (That the
settings' own default is the one warned about: tests/portal/test_security.py runs the command
with production settings.)
"""

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

# The model checks that run with them may ask the database what it supports.
pytestmark = pytest.mark.django_db

CALENDAR_DOMAIN_LEFT_AT_DEFAULT = "portal.W001"


def deploy_warnings() -> list[str]:
    return [message.id for message in run_checks(include_deployment_checks=True)]


def test_deploying_with_the_default_calendar_domain_is_warned_about(settings):
    settings.DEBUG = False
    settings.PORTAL_CALENDAR_DOMAIN = "client-portal.invalid"
    assert CALENDAR_DOMAIN_LEFT_AT_DEFAULT in deploy_warnings()


def test_the_warning_fails_the_deploy_step_of_the_readme(settings):
    settings.DEBUG = False
    settings.PORTAL_CALENDAR_DOMAIN = "client-portal.invalid"
    with pytest.raises(SystemCheckError, match="PORTAL_CALENDAR_DOMAIN"):
        call_command("check", "--deploy", "--fail-level", "WARNING")


def test_a_calendar_domain_of_its_own_is_not_warned_about(settings):
    settings.DEBUG = False
    settings.PORTAL_CALENDAR_DOMAIN = "portal.example.org"
    assert CALENDAR_DOMAIN_LEFT_AT_DEFAULT not in deploy_warnings()


def test_local_development_is_not_warned_about(settings):
    settings.DEBUG = True
    settings.PORTAL_CALENDAR_DOMAIN = "client-portal.invalid"
    assert CALENDAR_DOMAIN_LEFT_AT_DEFAULT not in deploy_warnings()


def test_a_plain_check_does_not_warn_about_deploy_settings(settings):
    settings.DEBUG = False
    settings.PORTAL_CALENDAR_DOMAIN = "client-portal.invalid"
    ids = [message.id for message in run_checks(include_deployment_checks=False)]
    assert CALENDAR_DOMAIN_LEFT_AT_DEFAULT not in ids

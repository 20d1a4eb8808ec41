import os

import pytest
from django.test import Client
from hypothesis import HealthCheck, settings

import tests.mailbox  # noqa: F401  (connects the request guard before the first request)
from tests.factories import UserFactory

# HYPOTHESIS_PROFILE=thorough runs the property tests much longer than the suite does.
settings.register_profile(
    "default", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("thorough", parent=settings.get_profile("default"), max_examples=4000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def client_user(db):
    """A client of the practice: the person the portal is for."""
    return UserFactory(email="jordan@example.com", name="Jordan Lee", time_zone="America/New_York")


@pytest.fixture
def provider_user(db):
    return UserFactory(email="dr.okafor@example.com", name="Dr. Maya Okafor", is_staff=True)


@pytest.fixture
def stranger(db):
    """Another client, who must never see the first one's data."""
    return UserFactory(email="stranger@example.com", name="Sam Stranger")


@pytest.fixture
def signed_in(client_user) -> Client:
    browser = Client()
    browser.force_login(client_user)
    return browser


@pytest.fixture(autouse=True, scope="session")
def access_log_flushable():
    """
    The access log refuses TRUNCATE and DELETE, so the flush that empties the database after
    each transactional test runs with its triggers off; nothing outside the tests does this.
    """
    from django.db.backends.base.operations import BaseDatabaseOperations

    from tests.audit import triggers_off

    flush = BaseDatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        if not any("audit_entry" in sql for sql in sql_list):
            return flush(self, sql_list)
        with triggers_off(self.connection):
            return flush(self, sql_list)

    BaseDatabaseOperations.execute_sql_flush = execute_sql_flush
    yield
    BaseDatabaseOperations.execute_sql_flush = flush


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The real hasher is slow on purpose; tests hash hundreds of passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def no_mail_inside_requests(settings):
    """Every test fails if any request hands an email to the mail backend itself."""
    settings.MAILERS = {"default": {"BACKEND": "tests.mailbox.RequestGuardedBackend"}}


@pytest.fixture
def provider(db, client_user):
    """A provider in Chicago, open 09:00-17:00 every day, with the client on the care team."""
    from appointments.models import CareTeamMember
    from tests.factories import ProviderFactory, give_hours

    provider = ProviderFactory(display_name="Dr. Maya Okafor", time_zone="America/Chicago")
    give_hours(provider)
    CareTeamMember.objects.create(provider=provider, client=client_user)
    return provider


@pytest.fixture
def on(provider):
    """The provider with the waitlist switched on (a practice turns it on; it starts off)."""
    provider.waitlist_enabled = True
    provider.save()
    return provider


@pytest.fixture
def session_type(provider):
    from tests.factories import AppointmentTypeFactory

    return AppointmentTypeFactory(provider=provider, name="Therapy session", duration_minutes=50)


def sign_in_staff(browser: Client, user) -> Client:
    """`browser` signed in to the admin as `user`, second factor confirmed as after TOTP."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    device = device or TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    browser.force_login(user)
    session = browser.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return browser


@pytest.fixture
def staff_browser(client):
    """Sign a staff user in to the admin, second factor confirmed as after the TOTP step."""

    def sign_in(user) -> Client:
        return sign_in_staff(client, user)

    return sign_in


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on a local port, and the portal's mailer pointed at it."""
    from tests.smtp import SmtpSink, mailer_settings

    sink = SmtpSink().up()
    settings.MAILERS = mailer_settings(sink.port)
    yield sink
    sink.down()

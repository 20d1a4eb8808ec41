"""
Every page of the workspace a provider or their office staff use, at a desktop and a tablet
width: each is screenshotted, has no console error (a CSP refusal is one), and axe finds no
WCAG 2.1 A/AA violation on it.
"""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from appointments.models import Appointment, CareTeamMember, Fee, Provider
from chat.models import Conversation
from policies.models import Policy
from tests.e2e.conftest import admin_sign_in


@pytest.fixture(params=["desktop", "tablet"])
def viewport(request) -> str:
    return request.param


def busy_demo_week() -> Appointment:
    """The demo practice with a week worth looking at: several clients booked this week."""
    from datetime import timedelta

    from django.utils import timezone

    from portal.models import User
    from tests.factories import UserFactory, book

    provider = Provider.objects.get(display_name="Dr. Maya Okafor")
    provider.min_notice = timedelta(0)
    provider.save()
    kind = provider.appointment_types.get(name="Therapy session")
    names = ["Priya Shah", "Tom Becker", "Ana Souza", "Lee Morgan", "Chris Njoroge"]
    for index, name in enumerate(names):
        client = UserFactory(name=name, email=f"client{index}@example.com")
        CareTeamMember.objects.create(provider=provider, client=client)
        book(client, provider, kind, pick=index * 7)
    appointment = Appointment.objects.filter(
        provider=provider, status="scheduled", start__gt=timezone.now()
    ).first()
    Fee.objects.create(appointment=appointment, kind="late_reschedule", amount=75, currency="USD")
    jordan = User.objects.get(email="client@example.com")
    return Appointment.objects.filter(client=jordan, provider=provider, status="scheduled").first()


def provider_pages(appointment: Appointment) -> list[tuple[str, str]]:
    provider = appointment.provider
    conversation = Conversation.objects.get(provider=provider)
    policy = Policy.objects.filter(provider=provider).first()
    fee = Fee.objects.filter(appointment__provider=provider).first()
    a = f"/admin/appointments/appointment/{appointment.pk}"
    return [
        ("week", "/admin/"),
        ("next-week", "/admin/?week=2030-01-07"),
        ("provider", f"/admin/appointments/provider/{provider.pk}/change/"),
        ("appointments", "/admin/appointments/appointment/"),
        ("appointment", f"{a}/change/"),
        ("move", f"{a}/reschedule/"),
        ("cancel", f"{a}/cancel/"),
        ("complete", f"{a}/complete/"),
        ("no-show", f"{a}/no-show/"),
        ("history", f"{a}/history/"),
        ("fees", "/admin/appointments/fee/"),
        ("fee", f"/admin/appointments/fee/{fee.pk}/change/"),
        ("clients", "/admin/appointments/careteammember/"),
        ("add-client", "/admin/appointments/careteammember/add/"),
        ("invitations", "/admin/appointments/careteaminvitation/"),
        ("policies", "/admin/policies/policy/"),
        ("policy", f"/admin/policies/policy/{policy.pk}/change/"),
        ("inbox", "/admin/chat/conversation/"),
        ("thread", f"/admin/chat/conversation/{conversation.pk}/change/"),
        ("password", "/admin/password_change/"),
    ]


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("provider@example.com", "demo-provider-2026"),
        ("office@example.com", "demo-office-2026"),
    ],
    ids=["provider", "office"],
)
def test_every_workspace_page_passes_axe(visit, live_server, email, password):
    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    appointment = busy_demo_week()
    page = visit.page
    page.goto(live_server.url + "/admin/login/")
    visit.check("sign-in")
    admin_sign_in(page, live_server.url, email, password)
    failures = []
    for name, path in provider_pages(appointment):
        response = visit.goto(path)
        assert response.status == 200, path
        try:
            visit.check(name)
        except AssertionError as error:
            failures.append(str(error))
    assert not failures, "\n".join(failures)

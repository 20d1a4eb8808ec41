"""
The provider's week at a desktop and at a 768 px tablet: the working hours drawn and the rest
folded behind a link, every client's name readable, a day of 20 bookings included.
"""

from datetime import date, time, timedelta

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from appointments.models import Appointment, AppointmentType, Provider
from appointments.schedule import monday_of
from appointments.slots import local_instant
from tests.e2e.conftest import Visit, admin_sign_in
from tests.e2e.test_admin_pages import busy_demo_week, next_week
from tests.factories import AppointmentFactory, UserFactory

SIZES = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "tablet": {
        "viewport": {"width": 768, "height": 1024},
        "device_scale_factor": 2,
        "has_touch": True,
    },
}
NAMES = [
    "Priya Shah", "Tom Becker", "Alexandra Montgomery-Fitzgerald", "Lee Morgan",
    "Chris Njoroge", "Ana Souza", "Maximiliano Hernández-Castellanos", "Jo Wu",
    "Siobhán Ní Bhriain", "Oluwaseun Adebayo-Williams", "Kim Park", "Bartholomew Kowalczyk",
    "Ama Mensah", "Rafael dos Santos Oliveira", "Ines Ruiz", "Dmitri Volkov",
    "Hannah Lindqvist", "Ngozi Okonkwo", "Yusuf Demir", "Catherine Abernathy-Smythe",
]  # fmt: skip


@pytest.fixture(params=list(SIZES))
def week_visit(browser, live_server, request, transactional_db, nu_checker):
    context = browser.new_context(**SIZES[request.param], timezone_id="America/Chicago")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield Visit(page, live_server.url, request.param, request.node.name, nu_checker)
    context.close()


def a_busy_day(provider: Provider) -> str:
    """20 half-hour bookings back to back, 8 AM to 6 PM, on a Wednesday two weeks ahead."""
    kind = AppointmentType.objects.get(provider=provider, name="First consultation")
    monday = monday_of(_today(provider)) + timedelta(days=14)
    wednesday = monday + timedelta(days=2)
    for index, name in enumerate(NAMES):
        start = local_instant(wednesday, time(8), provider.zone) + timedelta(minutes=30 * index)
        AppointmentFactory(
            appointment_type=kind, client=UserFactory(name=name), start=start, status="scheduled"
        )
    return f"{monday:%Y-%m-%d}"


def _today(provider: Provider):
    from django.utils import timezone

    return timezone.now().astimezone(provider.zone).date()


def clipped_names(page) -> list[str]:
    """Client names cut off across (an ellipsis) or below (hidden by their block)."""
    return page.locator(".booking-client").evaluate_all(
        """names => names.filter(name => {
            const box = name.getBoundingClientRect();
            const block = name.closest('a').getBoundingClientRect();
            return name.scrollWidth > name.clientWidth || box.bottom > block.bottom + 0.5;
        }).map(name => name.textContent)"""
    )


def week_height(page) -> float:
    return page.locator(".week").evaluate("week => week.getBoundingClientRect().height")


def full_day_height(page) -> float:
    """The grid's height if it drew all 24 hours, as it once did: 24 of the page's hour rows."""
    hour = page.locator(".week-view").evaluate(
        "view => parseFloat(getComputedStyle(view).getPropertyValue('--hour'))"
    )
    assert hour >= 48
    return 24 * hour


def test_the_week_fits_its_working_hours_and_every_name_reads(week_visit):
    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    busy_demo_week()
    provider = Provider.objects.get(display_name="Dr. Maya Okafor")
    busy = a_busy_day(provider)
    page = week_visit.page
    admin_sign_in(page, week_visit.base_url, "provider@example.com", "demo-provider-2026")
    expect(page.get_by_role("heading", name="Dr. Maya Okafor’s week")).to_be_visible()
    week_visit.check("this-week")
    assert clipped_names(page) == []

    monday = date.fromisoformat(next_week(provider))
    booked = Appointment.objects.filter(
        provider=provider,
        status="scheduled",
        start__gte=local_instant(monday, time(0), provider.zone),
        start__lt=local_instant(monday + timedelta(days=7), time(0), provider.zone),
    ).count()
    assert booked > 5  # the busy demo week: which times it could book depends on the hour
    week_visit.goto(f"/admin/?week={monday:%Y-%m-%d}")
    expect(page.locator(".booking")).to_have_count(booked)
    week_visit.check("busy-week")
    assert clipped_names(page) == []
    assert week_height(page) < full_day_height(page) / 2
    assert (
        page.evaluate("document.documentElement.scrollWidth")
        <= SIZES[week_visit.viewport]["viewport"]["width"]
    )

    week_visit.goto(f"/admin/?week={busy}")
    expect(page.locator(".booking")).to_have_count(20)
    week_visit.check("busy-day")
    assert clipped_names(page) == []
    for name in NAMES:
        expect(page.get_by_text(name, exact=True)).to_be_visible()
    assert (
        page.evaluate("document.documentElement.scrollWidth")
        <= SIZES[week_visit.viewport]["viewport"]["width"]
    )

    if week_visit.viewport == "tablet":
        # A list of each day's bookings: nothing is folded, so nothing is offered to unfold.
        expect(page.locator(".week-fold")).to_have_count(2)
        expect(page.locator(".week-fold:visible")).to_have_count(0)
        return
    # The folded early hours open from the keyboard, and fold again.
    unfold = page.get_by_role("link", name="Show the early hours, 12 AM to 8 AM")
    expect(unfold).to_be_visible()
    unfold.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Fold to the working hours")).to_be_visible()
    week_visit.check("all-hours")
    assert clipped_names(page) == []
    page.get_by_role("link", name="Fold to the working hours").click()
    expect(unfold).to_be_visible()

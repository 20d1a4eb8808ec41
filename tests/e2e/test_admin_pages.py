"""
Every page of the workspace a provider or their office staff use, at a desktop and a tablet
width: each is screenshotted, has no console error (a CSP refusal is one), and axe finds no
WCAG 2.1 A/AA violation on it.
"""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from appointments.models import (
    Appointment,
    CareTeamInvitation,
    CareTeamMember,
    Fee,
    Policy,
    Provider,
    WaitlistEntry,
)
from chat.models import Conversation
from portal.models import User
from tests.e2e.conftest import admin_sign_in, totp_code


@pytest.fixture(params=["desktop", "tablet"])
def viewport(request) -> str:
    return request.param


def busy_demo_week() -> Appointment:
    """
    The demo practice with a week worth looking at: next week, clients booked through the
    booking service at times of their own (a free hour left here and there), and a fee.
    Returns the demo client's own upcoming appointment.
    """
    from datetime import time, timedelta

    from django.utils import timezone

    from appointments import selectors
    from appointments.schedule import monday_of
    from appointments.services import appointment_book
    from appointments.slots import local_instant
    from tests.factories import UserFactory

    provider = Provider.objects.get(display_name="Dr. Maya Okafor")
    kinds = list(provider.appointment_types.order_by("name"))
    now = timezone.now()
    monday = monday_of(now.astimezone(provider.zone).date()) + timedelta(days=7)
    plan = [
        (0, "09:00", "Priya Shah"), (0, "10:00", "Tom Becker"), (0, "14:30", "Ana Souza"),
        (1, "09:30", "Lee Morgan"), (1, "13:00", "Chris Njoroge"), (1, "16:00", "Priya Shah"),
        (2, "11:00", "Tom Becker"), (2, "15:00", "Ana Souza"),
        (3, "09:00", "Chris Njoroge"), (3, "10:00", "Lee Morgan"), (3, "11:00", "Priya Shah"),
        (4, "09:00", "Ana Souza"), (4, "12:00", "Tom Becker"),
    ]  # fmt: skip
    clients = {}
    for index, (weekday, at, name) in enumerate(plan):
        if name not in clients:
            clients[name] = UserFactory(name=name, email=f"client{len(clients)}@example.com")
            CareTeamMember.objects.create(provider=provider, client=clients[name])
        kind = kinds[index % len(kinds)]
        start = local_instant(
            monday + timedelta(days=weekday), time.fromisoformat(at), provider.zone
        )
        slots = selectors.open_slots(
            provider=provider, appointment_type=kind, client=clients[name], now=now,
            window_start=start, window_end=start + timedelta(minutes=1),
        )  # fmt: skip
        if slots != [start]:
            continue  # the demo client's own appointment may be there already
        appointment_book(
            client=clients[name], provider=provider, appointment_type=kind, start=start,
            booked_by=clients[name], now=now,
        )  # fmt: skip
    jordan = User.objects.get(email="client@example.com")
    mine = Appointment.objects.filter(client=jordan, provider=provider, status="scheduled").first()
    Fee.objects.create(appointment=mine, kind="late_reschedule", amount=75, currency="USD")
    return mine


def next_week(provider: Provider) -> str:
    from datetime import timedelta

    from django.utils import timezone

    from appointments.schedule import monday_of

    today = timezone.now().astimezone(provider.zone).date()
    return f"{monday_of(today) + timedelta(days=7):%Y-%m-%d}"


def waiting_and_invited(appointment: Appointment) -> tuple[WaitlistEntry, CareTeamInvitation]:
    """A waitlist entry of the demo client and an invitation nobody answered yet."""
    entry = WaitlistEntry.objects.create(
        client=appointment.client,
        provider=appointment.provider,
        appointment_type=appointment.appointment_type,
    )
    invitation = CareTeamInvitation.objects.create(
        provider=appointment.provider,
        email="new.client@example.com",
        invited_by=appointment.provider.user,
    )
    return entry, invitation


def provider_pages(appointment: Appointment) -> list[tuple[str, str]]:
    from urllib.parse import quote

    from django.utils import timezone

    from appointments import selectors

    provider = appointment.provider
    conversation = Conversation.objects.get(provider=provider)
    policy = Policy.objects.filter(provider=provider).first()
    fee = Fee.objects.filter(appointment__provider=provider).first()
    entry, invitation = waiting_and_invited(appointment)
    member = CareTeamMember.objects.filter(provider=provider).first()
    a = f"/admin/appointments/appointment/{appointment.pk}"
    new_time = selectors.open_slots(
        provider=provider,
        appointment_type=appointment.appointment_type,
        client=appointment.client,
        now=timezone.now(),
        exclude_appointment=appointment,
    )[-1]
    return [
        ("week", "/admin/"),
        ("busy-week", f"/admin/?week={next_week(provider)}"),
        ("bad-week", "/admin/?week=2026-02-30"),
        ("provider", f"/admin/appointments/provider/{provider.pk}/change/"),
        ("appointments", "/admin/appointments/appointment/"),
        ("appointment", f"{a}/change/"),
        ("move", f"{a}/reschedule/"),
        ("move-review", f"{a}/reschedule/?start={quote(new_time.isoformat())}"),
        ("cancel", f"{a}/cancel/"),
        ("complete", f"{a}/complete/"),
        ("no-show", f"{a}/no-show/"),
        ("history", f"{a}/history/"),
        ("fees", "/admin/appointments/fee/"),
        ("fee", f"/admin/appointments/fee/{fee.pk}/change/"),
        ("clients", "/admin/appointments/careteammember/"),
        ("add-client", "/admin/appointments/careteammember/add/"),
        ("client", f"/admin/appointments/careteammember/{member.pk}/change/"),
        ("invitations", "/admin/appointments/careteaminvitation/"),
        ("invitation", f"/admin/appointments/careteaminvitation/{invitation.pk}/change/"),
        ("waitlist", "/admin/appointments/waitlistentry/"),
        ("waitlist-entry", f"/admin/appointments/waitlistentry/{entry.pk}/change/"),
        ("past", "/admin/appointments/appointment/?when=past"),
        ("policy-add", "/admin/appointments/policy/add/"),
        ("policies", "/admin/appointments/policy/"),
        ("policy", f"/admin/appointments/policy/{policy.pk}/change/"),
        ("inbox", "/admin/chat/conversation/"),
        ("thread", f"/admin/chat/conversation/{conversation.pk}/change/"),
        ("password", "/admin/password_change/"),
        ("sessions", "/admin/sessions/"),
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
    from django_otp.plugins.otp_totp.models import TOTPDevice

    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    TOTPDevice.objects.create(user=User.objects.get(email=email), name="phone", confirmed=True)
    appointment = busy_demo_week()
    page = visit.page
    page.goto(live_server.url + "/admin/")
    visit.check("sign-in")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(password)
    page.locator("input[type=submit]").click()
    expect(page.get_by_label("Code")).to_be_visible()
    visit.check("second-step")
    page.get_by_label("Code").fill(totp_code(TOTPDevice.objects.get(user__email=email)))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Dr. Maya Okafor’s week")).to_be_visible()
    failures = []
    for name, path in provider_pages(appointment):
        response = visit.goto(path)
        assert response.status == 200, path
        try:
            visit.check(name)
        except AssertionError as error:
            failures.append(str(error))
    assert not failures, "\n".join(failures)


def test_the_week_is_walked_and_opened_with_the_keyboard(visit, live_server):
    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    busy_demo_week()
    page = visit.page
    admin_sign_in(page, live_server.url, "office@example.com", "demo-office-2026")
    visit.goto(f"/admin/?week={next_week(Provider.objects.get(display_name='Dr. Maya Okafor'))}")
    first = page.locator(".booking a").first
    for _ in range(40):  # Tab through the header and the week links to the first appointment
        page.keyboard.press("Tab")
        if first.evaluate("link => link === document.activeElement"):
            break
    expect(first).to_be_focused()
    expect(first).to_contain_text("9:00–9:30 AM")
    visit.screenshot("focused")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/admin/appointments/appointment/\d+/change/$"))
    expect(page.get_by_text("When:", exact=True)).to_be_visible()


def tab_to(page, locator, presses: int = 60) -> None:
    for _ in range(presses):
        page.keyboard.press("Tab")
        if locator.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {locator}")


def test_an_appointment_is_moved_with_the_clients_picker_by_keyboard(visit, live_server):
    """
    The practice's "Move to another time" is the client's day-and-time picker: days, then
    times named in full for a screen reader, then a page that says what changes, with one
    button. Each step is a plain link or form, so the keyboard goes the same way.
    """
    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    appointment = busy_demo_week()
    page = visit.page
    admin_sign_in(page, live_server.url, "office@example.com", "demo-office-2026")
    visit.goto(f"/admin/appointments/appointment/{appointment.pk}/change/")
    tab_to(page, page.get_by_role("link", name="Move to another time"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Pick a day")).to_be_visible()
    visit.check("picker")
    second_day = page.locator("a.day").nth(1)
    tab_to(page, second_day)
    page.keyboard.press("Enter")
    expect(page.locator("a.day").nth(1)).to_have_attribute("aria-current", "date")
    time = page.locator("a.time").first
    label = time.get_attribute("aria-label")
    assert re.fullmatch(r"\w+day \d{1,2} \w+, \d{1,2}:\d\d [AP]M", label), label
    tab_to(page, time)
    visit.screenshot("time-focused")
    page.keyboard.press("Enter")
    button = page.get_by_role("button", name=re.compile(r"^Move to "))
    expect(button).to_be_visible()
    visit.check("review")
    tab_to(page, button)
    page.keyboard.press("Enter")
    expect(page.get_by_text("Moved. An email with the new time")).to_be_visible()
    appointment.refresh_from_db()
    day, clock = label.split(", ")
    local = appointment.start.astimezone(appointment.provider.zone)
    assert f"{local:%-I:%M %p}" == clock and day.endswith(f"{local:%-d %B}")


def test_new_hours_rows_and_the_date_picker_pass_axe(visit, live_server):
    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    page = visit.page
    admin_sign_in(page, live_server.url, "provider@example.com", "demo-provider-2026")
    provider = Provider.objects.get(display_name="Dr. Maya Okafor")
    visit.goto(f"/admin/appointments/provider/{provider.pk}/change/")
    page.get_by_role("button", name="Add another Date override").click()
    expect(page.get_by_role("textbox", name="Date, new row")).to_be_visible()
    page.locator("tr.dynamic-overrides button[id^=calendarlink]").first.click()
    expect(page.locator("dialog.calendarbox[open]")).to_be_visible()
    visit.check("date-picker-open")
    page.keyboard.press("Escape")
    page.get_by_role("textbox", name="Date, new row").fill("2030-01-02")
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.get_by_text("was changed successfully")).to_be_visible()
    visit.check("day-off-saved")
    assert provider.overrides.filter(date="2030-01-02", start=None).exists()


def test_the_operators_task_and_worker_pages_pass_axe(visit, live_server):
    """What a superuser reads when background work goes wrong: each task's fate, the workers."""

    from django.utils import timezone

    from portal.models import WorkerLane
    from portal.worker import LEASE, Lane, give_back_lost
    from tests import worker_tasks
    from tests.tasks import run_worker

    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    run_worker()  # the demo's emails, done
    worker_tasks.loses_the_database.enqueue()
    worker_tasks.has_a_bug.enqueue()
    run_worker()
    lane = Lane(["default"])
    lane.register(timezone.now())
    worker_tasks.records.enqueue("lost")
    lane.claim()
    WorkerLane.objects.filter(pk=lane.id).update(seen_at=timezone.now() - LEASE * 2)
    give_back_lost()
    Lane(["email"]).register(timezone.now())  # a live one
    page = visit.page
    admin_sign_in(page, live_server.url, "admin@example.com", "demo-admin-2026")
    tasks = "/admin/django_tasks_database/dbtaskresult/"
    for name, path in [
        ("tasks", tasks),
        ("tasks-retried", tasks + "?happened=retried"),
        ("workers", "/admin/portal/workerlane/"),
    ]:
        assert visit.goto(path).status == 200, path
        visit.check(name)
    expect(
        page.get_by_text("Waiting for a worker (given again 1× after its worker stopped)")
    ).to_have_count(0)
    visit.goto(tasks)
    expect(page.get_by_text("Failed for good: ValueError: a bug")).to_be_visible()
    expect(
        page.get_by_text(re.compile("^Retrying at .*server closed the connection"))
    ).to_be_visible()

"""The waitlist in the practice workspace: switches, the practice's own entries, offers."""

import pytest
from django.urls import reverse

from appointments import waitlist
from appointments.models import Appointment, CareTeamMember, WaitlistOffer
from portal.practice import join_practice_staff
from tests.appointments.test_waitlist import at_nine, book_at, cancel, join, someone_on_the_team
from tests.factories import AppointmentTypeFactory, ProviderFactory, UserFactory, give_hours
from tests.tasks import run_worker

pytestmark = pytest.mark.django_db


def practice_with_waitlist(name):
    provider = ProviderFactory(display_name=name, waitlist_enabled=True)
    join_practice_staff(provider.user)
    give_hours(provider)
    client = UserFactory(name=f"Client of {name}")
    CareTeamMember.objects.create(provider=provider, client=client)
    kind = AppointmentTypeFactory(provider=provider)
    entry = join(client, provider, kind)
    cancel(book_at(someone_on_the_team(provider), provider, kind, at_nine(provider)))
    run_worker()
    offer = WaitlistOffer.objects.get(entry=entry)
    booked = waitlist.offer_claim(offer=offer, actor=client).appointment
    return {"provider": provider, "entry": entry, "appointment": booked, "kind": kind}


@pytest.fixture
def ours(db):
    return practice_with_waitlist("Dr. Ours")


@pytest.fixture
def theirs(db):
    return practice_with_waitlist("Dr. Theirs")


def test_a_provider_sees_their_own_waitlist_and_not_another_practices(staff_browser, ours, theirs):
    browser = staff_browser(ours["provider"].user)
    listing = browser.get(reverse("admin:appointments_waitlistentry_changelist"))
    assert listing.status_code == 200
    assert "Client of Dr. Ours" in listing.text and "Client of Dr. Theirs" not in listing.text
    own = browser.get(reverse("admin:appointments_waitlistentry_change", args=[ours["entry"].pk]))
    assert own.status_code == 200 and "Booked from an offer" in own.text
    other = browser.get(
        reverse("admin:appointments_waitlistentry_change", args=[theirs["entry"].pk])
    )
    assert other.status_code == 302 and other.url == reverse("admin:index")


def test_a_booking_from_an_offer_says_so_on_the_appointment(staff_browser, ours):
    browser = staff_browser(ours["provider"].user)
    page = browser.get(
        reverse("admin:appointments_appointment_change", args=[ours["appointment"].pk])
    ).text
    assert "From the waitlist" in page and "Yes: offered" in page
    plain = Appointment.objects.filter(provider=ours["provider"], status="cancelled").get()
    page = browser.get(reverse("admin:appointments_appointment_change", args=[plain.pk])).text
    assert "Yes: offered" not in page


def test_the_practice_switches_the_waitlist_per_provider_and_shows_the_type_switch(
    staff_browser, ours
):
    browser = staff_browser(ours["provider"].user)
    page = browser.get(reverse("admin:appointments_provider_change", args=[ours["provider"].pk]))
    assert 'name="waitlist_enabled"' in page.text
    assert 'name="waitlist_mode"' in page.text and 'name="waitlist_hold_minutes"' in page.text
    assert 'name="appointment_types-0-waitlist_enabled"' in page.text


def test_nobody_in_the_practice_can_add_change_or_delete_an_entry(staff_browser, ours):
    browser = staff_browser(ours["provider"].user)
    assert browser.get(reverse("admin:appointments_waitlistentry_add")).status_code == 403
    delete = reverse("admin:appointments_waitlistentry_delete", args=[ours["entry"].pk])
    assert browser.post(delete, {"post": "yes"}).status_code == 403
    ours["entry"].refresh_from_db()

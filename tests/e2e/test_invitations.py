import re

from django.core.management import call_command
from playwright.sync_api import expect

from appointments import services
from appointments.models import Provider
from tests.e2e.conftest import sign_in
from tests.tasks import sent_mail


def invitation_path(email: str) -> str:
    (message,) = [m for m in sent_mail() if m.to == [email] and "invited you" in m.subject]
    return re.search(r"https?://[^/\s]+(/appointments/invitations/\S+/)", message.body).group(1)


def test_a_new_person_accepts_by_making_an_account(visit, transactional_db):
    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    provider = Provider.objects.get(user__email="provider@example.com")
    services.care_team_invite(
        provider=provider, email="nia@example.com", name="Nia Brooks", actor=provider.user
    )
    page = visit.page
    visit.goto(invitation_path("nia@example.com"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("invited you")
    visit.check("invitation")
    page.get_by_label("Your name").fill("Nia Brooks")
    page.get_by_label("New password", exact=True).fill("a-long-new-pass-42")
    page.get_by_label("New password confirmation").fill("a-long-new-pass-42")
    page.get_by_role("button", name="Create account and accept").click()
    expect(page.get_by_role("status")).to_contain_text("care team")
    expect(page.get_by_role("link", name="Book an appointment")).to_be_visible()
    visit.check("joined")


def test_an_existing_client_accepts_from_the_card(visit, transactional_db):
    call_command("seed_demo", "--i-know-this-is-not-production", verbosity=0)
    provider = Provider.objects.get(user__email="provider2@example.com")
    from appointments.models import CareTeamMember

    CareTeamMember.objects.filter(provider=provider).delete()
    services.care_team_invite(provider=provider, email="client@example.com", actor=provider.user)
    page = visit.page
    visit.goto(invitation_path("client@example.com"))
    sign_in(visit, "client@example.com", "demo-client-2026")
    card = page.locator(".invitation-card")
    expect(card).to_contain_text("invited you to their care team")
    visit.check("invitation-card")
    card.get_by_role("button", name="Accept").click()
    expect(page.get_by_role("status")).to_contain_text("care team")
    expect(page.locator(".invitation-card")).to_have_count(0)

"""
A provider's invitation joins nobody to a care team, and names nobody to the provider, until
the person behind the address accepts it.
"""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments import selectors, services
from appointments.models import CareTeamInvitation, CareTeamMember
from portal.models import User
from portal.practice import join_practice_staff
from tests.factories import AppointmentTypeFactory, ProviderFactory, UserFactory, give_hours
from tests.tasks import sent_mail

pytestmark = pytest.mark.django_db
LIST = reverse("appointments:list")


@pytest.fixture
def practice():
    provider = ProviderFactory(display_name="Dr. Ada Osei")
    join_practice_staff(provider.user)
    give_hours(provider)
    AppointmentTypeFactory(provider=provider)
    return provider


def invite(provider, email, **kwargs):
    return services.care_team_invite(provider=provider, email=email, actor=provider.user, **kwargs)


def link_in(email_to: str) -> str:
    (message,) = [m for m in sent_mail() if m.to == [email_to]]
    return re.search(r"https?://[^/\s]+(/appointments/invitations/\S+/)", message.body).group(1)


# --- Someone new --------------------------------------------------------------------------------


def test_a_new_address_makes_its_account_from_the_link_and_joins(client, practice):
    invite(practice, "nia@example.com", name="Nia Brooks")
    link = link_in("nia@example.com")
    page = client.get(link)
    assert page.status_code == 200 and "Dr. Ada Osei invited you" in page.text
    assert 'value="Nia Brooks"' in page.text
    response = client.post(
        link,
        {
            "name": "Nia B.",
            "new_password1": "a-long-new-pass-42",
            "new_password2": "a-long-new-pass-42",
        },
        follow=True,
    )
    assert "You're now on Dr. Ada Osei's care team" in unescape(response.text)
    user = User.objects.get(email="nia@example.com")
    assert user.name == "Nia B." and user.check_password("a-long-new-pass-42")
    assert CareTeamMember.objects.filter(provider=practice, client=user).exists()
    assert response.wsgi_request.user == user  # signed in by the link that proved the address
    assert Client().get(link).status_code == 410  # answered: the link is spent


def test_a_weak_password_gets_a_message_and_makes_nothing(client, practice):
    invite(practice, "nia@example.com")
    response = client.post(
        link_in("nia@example.com"), {"name": "Nia", "new_password1": "123", "new_password2": "123"}
    )
    assert response.status_code == 400 and "too short" in response.text
    assert not User.objects.filter(email="nia@example.com").exists()


def test_a_forged_or_old_link_says_it_no_longer_works(client, practice, settings):
    invite(practice, "nia@example.com")
    link = link_in("nia@example.com")
    assert client.get(link[:-3] + "xx/").status_code == 410
    CareTeamInvitation.objects.update(created_at=timezone.now() - timedelta(days=4))
    response = client.get(link)
    assert response.status_code == 410 and "no longer works" in response.text


# --- Someone with an account --------------------------------------------------------------------


def test_an_existing_client_is_asked_in_the_portal_and_linked_only_on_accept(
    signed_in, client_user, practice
):
    invite(practice, client_user.email)
    assert practice not in selectors.care_team_providers(client_user)
    page = signed_in.get(signed_in.get(link_in(client_user.email)).url)
    assert "Dr. Ada Osei, LMFT invited you to their care team." in page.text
    invitation = CareTeamInvitation.objects.get()
    answer = reverse("appointments:invitation-answer", args=[invitation.pk])
    response = signed_in.post(answer, {"answer": "accept"}, follow=True)
    assert "You're now on Dr. Ada Osei's care team" in unescape(response.text)
    assert practice in selectors.care_team_providers(client_user)
    assert signed_in.post(answer, {"answer": "accept"}).status_code == 404  # answered


def test_declining_links_nothing(signed_in, client_user, practice):
    invite(practice, client_user.email)
    invitation = CareTeamInvitation.objects.get()
    signed_in.post(
        reverse("appointments:invitation-answer", args=[invitation.pk]), {"answer": "decline"}
    )
    invitation.refresh_from_db()
    assert invitation.status == "declined"
    assert practice not in selectors.care_team_providers(client_user)


def test_a_signed_out_visitor_is_sent_to_sign_in_first(client, client_user, practice):
    invite(practice, client_user.email)
    link = link_in(client_user.email)
    response = client.get(link)
    assert response.status_code == 302 and response.url.startswith(reverse("sign-in"))
    assert "next=" in response.url


def test_someone_elses_invitation_is_a_404_by_link_and_by_id(signed_in, stranger, practice):
    invite(practice, stranger.email)
    invitation = CareTeamInvitation.objects.get()
    assert signed_in.get(link_in(stranger.email)).status_code == 404
    answer = reverse("appointments:invitation-answer", args=[invitation.pk])
    assert signed_in.post(answer, {"answer": "accept"}).status_code == 404
    assert not CareTeamMember.objects.filter(provider=practice).exists()


def test_a_bad_answer_gets_a_message_and_changes_nothing(signed_in, client_user, practice):
    invite(practice, client_user.email)
    invitation = CareTeamInvitation.objects.get()
    response = signed_in.post(
        reverse("appointments:invitation-answer", args=[invitation.pk]),
        {"answer": "sure"},
        follow=True,
    )
    assert "Choose Accept or Decline." in response.text
    invitation.refresh_from_db()
    assert invitation.status == "pending"


def test_the_answer_refuses_get(signed_in, client_user, practice):
    invite(practice, client_user.email)
    invitation = CareTeamInvitation.objects.get()
    url = reverse("appointments:invitation-answer", args=[invitation.pk])
    assert signed_in.get(url).status_code == 405


def test_an_expired_invitation_leaves_the_portal(signed_in, client_user, practice):
    invite(practice, client_user.email)
    CareTeamInvitation.objects.update(created_at=timezone.now() - timedelta(days=4))
    assert "invited you to their care team" not in signed_in.get(LIST).text


# --- Until then ---------------------------------------------------------------------------------


def test_until_accepted_the_provider_cannot_book_for_them(client_user, practice):
    invite(practice, client_user.email)
    kind = practice.appointment_types.get()
    start = timezone.now() + timedelta(days=3)
    with pytest.raises(services.NotBookable):
        services.appointment_book(
            client=client_user,
            provider=practice,
            appointment_type=kind,
            start=start,
            booked_by=practice.user,
        )


def test_adding_again_reuses_the_invitation_and_mails_at_most_hourly(practice):
    now = timezone.now()
    first = invite(practice, "nia@example.com", now=now).invitation
    again = invite(practice, "nia@example.com", now=now + timedelta(minutes=10)).invitation
    assert first == again and len(sent_mail()) == 1
    invite(practice, "nia@example.com", now=now + timedelta(hours=2))
    assert len(sent_mail()) == 2


def test_a_staff_account_can_never_accept(practice):
    other = ProviderFactory()
    join_practice_staff(other.user)
    invite(practice, other.user.email)
    invitation = CareTeamInvitation.objects.get()
    with pytest.raises(services.ChangeError, match="Staff accounts"):
        services.care_team_invitation_accept(invitation=invitation, user=other.user)
    assert sent_mail() == []


def test_only_the_providers_practice_may_invite(practice, stranger):
    with pytest.raises(PermissionDenied):
        services.care_team_invite(provider=practice, email="x@example.com", actor=stranger)


def test_an_invitation_cannot_be_accepted_by_another_address(practice, stranger, client_user):
    invite(practice, client_user.email)
    with pytest.raises(PermissionDenied):
        services.care_team_invitation_accept(
            invitation=CareTeamInvitation.objects.get(), user=stranger
        )


# --- Practice scoping of pending invitations ----------------------------------------------------


@pytest.fixture
def two_practices(practice, client_user):
    other = ProviderFactory(display_name="Dr. Other")
    join_practice_staff(other.user)
    invite(practice, "mine@example.com")
    invite(other, "theirs@example.com")
    return practice, other


def test_a_practice_lists_only_its_own_invitations(staff_browser, two_practices):
    mine, _ = two_practices
    page = staff_browser(mine.user).get(reverse("admin:appointments_careteaminvitation_changelist"))
    assert "mine@example.com" in page.text and "theirs@example.com" not in page.text


def test_another_practices_invitation_is_not_found(staff_browser, two_practices):
    mine, other = two_practices
    theirs = CareTeamInvitation.objects.get(provider=other)
    browser = staff_browser(mine.user)
    for name in ["change", "delete"]:
        url = reverse(f"admin:appointments_careteaminvitation_{name}", args=[theirs.pk])
        response = browser.get(url)
        assert response.status_code == 302 and response.url == reverse("admin:index")
    browser.post(
        reverse("admin:appointments_careteaminvitation_delete", args=[theirs.pk]), {"post": "yes"}
    )
    assert CareTeamInvitation.objects.filter(pk=theirs.pk).exists()


def test_office_staff_see_their_providers_invitations(staff_browser, two_practices):
    from appointments.models import OfficeStaff

    mine, _ = two_practices
    office = UserFactory(email="desk@mine.example", is_staff=True)
    OfficeStaff.objects.create(provider=mine, user=office)
    join_practice_staff(office)
    page = staff_browser(office).get(reverse("admin:appointments_careteaminvitation_changelist"))
    assert "mine@example.com" in page.text and "theirs@example.com" not in page.text


def test_a_practice_can_withdraw_a_pending_invitation(staff_browser, two_practices):
    mine, _ = two_practices
    invitation = CareTeamInvitation.objects.get(provider=mine)
    staff_browser(mine.user).post(
        reverse("admin:appointments_careteaminvitation_delete", args=[invitation.pk]),
        {"post": "yes"},
    )
    assert not CareTeamInvitation.objects.filter(pk=invitation.pk).exists()


def test_the_invitation_list_shows_no_name_before_acceptance(staff_browser, practice, stranger):
    invite(practice, stranger.email)
    page = staff_browser(practice.user).get(
        reverse("admin:appointments_careteaminvitation_changelist")
    )
    assert stranger.email in page.text and "Invited, not yet accepted" in page.text
    assert stranger.name not in page.text

"""
Care-team invitations: a signed, expiring link to one invitation. It works until the invitation
is answered (accepted or declined), so it is single use; the invitation itself expires after
INVITATION_MAX_AGE.
"""

from django.conf import settings
from django.core import signing
from django.urls import reverse

from appointments.models import CareTeamInvitation
from portal.mail import queue_email

SALT = "appointments.care-team-invitation"


def invitation_token(invitation: CareTeamInvitation) -> str:
    return signing.dumps(invitation.pk, salt=SALT)


def invitation_for_token(token: str) -> CareTeamInvitation | None:
    """The invitation behind a link, or None if the link is forged or too old."""
    try:
        pk = signing.loads(token, salt=SALT, max_age=settings.INVITATION_MAX_AGE)
        return CareTeamInvitation.objects.select_related("provider").get(pk=int(pk))
    except (signing.BadSignature, CareTeamInvitation.DoesNotExist, TypeError, ValueError):
        return None


def queue_invitation_email(invitation: CareTeamInvitation, *, has_account: bool) -> None:
    """Who invited them and a link; nothing about anyone's care, and no name of theirs."""
    context = {
        "provider": invitation.provider.display_name,
        "has_account": has_account,
        "uses_chat": invitation.provider.uses_chat,
        "link": settings.PORTAL_BASE_URL
        + reverse("appointments:invitation", args=[invitation_token(invitation)]),
        "days": settings.INVITATION_MAX_AGE.days,
        "portal_name": settings.PORTAL_NAME,
    }
    # No client for the access log, even when the address has an account: the log names the
    # practice beside the client, and no practice may learn who is behind an address until
    # they accept.
    queue_email("care-team-invitation", context, to=invitation.email)

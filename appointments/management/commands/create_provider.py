from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction

from appointments.models import Provider
from policies.models import Policy
from portal.invitations import queue_invitation
from portal.models import User, normalize_email_address
from portal.practice import join_practice_staff
from portal.timezones import canonical_time_zone

DEFAULT_POLICY_TEXT = (
    "You can cancel or reschedule online up to 24 hours before your session. After that, "
    "please message us."
)


class Command(BaseCommand):
    help = (
        "Create a provider: the account (emailed a link to set a password), the profile in "
        "the given time zone, a default cancellation policy, and admin access for the practice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", required=True, help='For example "Dr. Maya Okafor".')
        parser.add_argument("--timezone", required=True, help="An IANA zone, like America/Chicago.")
        parser.add_argument("--title", default="", help="Credentials, like LMFT.")
        parser.add_argument("--dry-run", action="store_true", help="Check, create nothing.")

    def handle(self, *args, email, name, timezone, title, dry_run, **options):
        email = normalize_email_address(email)
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{email!r} is not a valid email address.") from None
        zone = canonical_time_zone(timezone)
        if zone is None:
            raise CommandError(f"{timezone!r} is not a time zone; use one like America/Chicago.")
        name = name.strip()
        if not name or len(name) > 150:
            raise CommandError("--name must be 1 to 150 characters.")
        if Provider.objects.filter(user__email=email).exists():
            raise CommandError(f"{email} is already a provider.")
        if dry_run:
            self.stdout.write(f"Would create provider {name} <{email}> in {zone}.")
            return
        with transaction.atomic():
            user = User.objects.filter(email=email).first()
            invited = user is None
            if invited:
                user = User.objects.create_user(email, None, name=name, time_zone=zone)
            provider = Provider.objects.create(
                user=user, display_name=name, title=title.strip()[:150], time_zone=zone
            )
            Policy.objects.create(provider=provider, text=DEFAULT_POLICY_TEXT)
            join_practice_staff(user)
            if invited:
                queue_invitation(user, invited_by=name, audience="provider")
        self.stdout.write(
            f"Created provider {provider.pk}: {name} <{email}> in {zone}, with a default policy. "
            + ("A link to set a password is on its way." if invited else "Existing account kept.")
        )

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from appointments import services
from appointments.models import Provider
from portal.models import normalize_email_address
from portal.timezones import canonical_time_zone


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
        try:
            created = services.provider_create(
                email=email, name=name, time_zone=zone, title=title, actor=None
            )
        except services.ChangeError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Created provider {created.provider.pk}: {name} <{email}> in {zone}, with a default "
            "policy. "
            + (
                "A link to set a password is on its way."
                if created.invited
                else "Existing account kept."
            )
        )

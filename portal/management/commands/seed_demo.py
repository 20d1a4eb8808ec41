from django.core.management.base import BaseCommand
from django.db import transaction

from portal.models import User

# Known, printed passwords: this command is for demos and local development only.
DEMO_ACCOUNTS = [
    {
        "role": "client",
        "email": "client@example.com",
        "password": "demo-client-2026",
        "name": "Jordan Lee",
        "time_zone": "America/New_York",
    },
    {
        "role": "provider",
        "email": "provider@example.com",
        "password": "demo-provider-2026",
        "name": "Dr. Maya Okafor",
        "time_zone": "America/Chicago",
        "is_staff": True,
    },
    {
        "role": "admin",
        "email": "admin@example.com",
        "password": "demo-admin-2026",
        "name": "Portal Admin",
        "time_zone": "UTC",
        "is_staff": True,
        "is_superuser": True,
    },
]


class Command(BaseCommand):
    help = (
        "Create the demo client, provider and admin accounts with known passwords. "
        "Safe to run again: existing accounts are left exactly as they are."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would be created, create nothing."
        )

    def handle(self, *args, dry_run: bool = False, **options):
        created = 0
        with transaction.atomic():
            for account in DEMO_ACCOUNTS:
                exists = User.objects.filter(email=account["email"]).exists()
                if not exists and not dry_run:
                    fields = {k: v for k, v in account.items() if k not in ("role", "password")}
                    User.objects.create_user(password=account["password"], **fields)
                created += not exists
        verb = "would create" if dry_run else "created"
        self.stdout.write(
            f"Demo accounts: {created} {verb}, {len(DEMO_ACCOUNTS) - created} already there."
        )
        self.stdout.write("Demo sign-ins (password unchanged if the account already existed):")
        for account in DEMO_ACCOUNTS:
            self.stdout.write(
                f"  {account['role']:<9} {account['email']:<24} {account['password']}"
            )

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from portal.mail import prunable_emails, prune_email_content


class Command(BaseCommand):
    help = (
        "Blank the content of sent and failed emails older than DAYS days (their links open "
        "accounts). Who they went to, their kind and how delivery went are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30, help="Older than this (default 30).")
        parser.add_argument("--dry-run", action="store_true", help="Count, change nothing.")

    def handle(self, *args, days: int, dry_run: bool, **options):
        if not 1 <= days <= 3650:
            raise CommandError("--days must be between 1 and 3650.")
        older_than = timezone.now() - timedelta(days=days)
        if dry_run:
            count = prunable_emails(older_than).count()
            self.stdout.write(f"{count} emails would be pruned (older than {days} days).")
            return
        count = prune_email_content(older_than=older_than)
        self.stdout.write(f"{count} emails pruned (older than {days} days).")

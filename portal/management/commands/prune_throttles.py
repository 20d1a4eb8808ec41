from django.core.management.base import BaseCommand

from portal.throttles import prune_throttles


class Command(BaseCommand):
    help = (
        "Delete throttle slots that no longer count (last used before their throttle's window: "
        "an hour for password resets, 15 minutes for the change-password form). Safe to run "
        "at any time, and while requests are being throttled."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count, change nothing.")

    def handle(self, *args, dry_run: bool, **options):
        count = prune_throttles(dry_run=dry_run)
        if dry_run:
            self.stdout.write(f"{count} throttle slots would be deleted.")
        else:
            self.stdout.write(f"{count} throttle slots deleted.")

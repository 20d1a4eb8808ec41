from django.core.management.base import BaseCommand

from portal.data_copy import prune_data_copies


class Command(BaseCommand):
    help = (
        "Blank the ZIP of every copy of a client's data whose 24-hour link expired unused "
        "(a downloaded one is blanked as it is downloaded). The row stays. Safe at any time."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count, change nothing.")

    def handle(self, *args, dry_run: bool, **options):
        count = prune_data_copies(dry_run=dry_run)
        if dry_run:
            self.stdout.write(f"{count} expired copies of clients' data would be blanked.")
        else:
            self.stdout.write(f"{count} expired copies of clients' data blanked.")

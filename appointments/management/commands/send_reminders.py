from django.core.management.base import BaseCommand, CommandError

from appointments.reminders import queue_reminders


class Command(BaseCommand):
    help = (
        "Queue a reminder email to clients about their appointments starting within the next "
        "HOURS hours; the worker sends them. Each appointment gets each kind of reminder once, "
        "even if two copies run at once."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--hours-ahead", type=int, default=24, help="How far ahead to look (default 24)."
        )
        parser.add_argument("--dry-run", action="store_true", help="Count, queue nothing.")

    def handle(self, *args, hours_ahead: int, dry_run: bool, **options):
        if not 1 <= hours_ahead <= 24 * 14:
            raise CommandError("--hours-ahead must be between 1 and 336 (two weeks).")
        queued = queue_reminders(hours_ahead=hours_ahead, dry_run=dry_run)
        verb = "would be queued" if dry_run else "queued"
        self.stdout.write(
            f"{queued} reminder{'s' if queued != 1 else ''} {verb} ({hours_ahead}h ahead)."
        )

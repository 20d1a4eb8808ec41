from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from portal.audit.prune import PruneRefused, prunable, prune


class Command(BaseCommand):
    help = (
        "Delete access-log entries older than AUDIT_RETENTION_DAYS (or --days), after signing "
        "a checkpoint where the log now starts, so audit_verify still checks what is kept. "
        "Refuses, deleting nothing, when the log does not verify. Safe to run again after "
        "it stopped halfway."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Keep this many days (default: AUDIT_RETENTION_DAYS).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Count, change nothing.")

    def handle(self, *args, days: int | None, dry_run: bool, **options):
        days = settings.AUDIT_RETENTION_DAYS if days is None else days
        if days < 1:
            raise CommandError("--days must be 1 or more.")
        older_than = timezone.now() - timedelta(days=days)
        if dry_run:
            count = prunable(older_than)
            self.stdout.write(f"{count} entries would be pruned (older than {days} days).")
            return
        try:
            done = prune(older_than=older_than)
        except PruneRefused as refused:
            for problem in refused.problems:
                self.stderr.write(problem)
            raise CommandError(str(refused)) from None
        self.stdout.write(
            f"{done.deleted} entries pruned (older than {days} days); "
            f"the log now starts after entry {done.floor}."
        )

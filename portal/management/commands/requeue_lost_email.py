from django.core.management.base import BaseCommand
from django.utils import timezone

from portal.mail import (
    LOST_AFTER,
    LOST_EMAIL_WORK,
    cut_off_emails,
    lost_emails,
    requeue_lost_emails,
)


class Command(BaseCommand):
    help = (
        "Give a new task to queued emails whose delivery is more than "
        f"{int(LOST_AFTER.total_seconds() // 60)} minutes overdue (a worker stopped while "
        "holding their task), and to changes whose emails were not written as long after; "
        "count emails cut off while sending, which are left for a superuser to judge in the "
        "admin. Safe to run repeatedly and concurrently."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count, queue nothing.")

    def handle(self, *args, dry_run: bool, **options):
        now = timezone.now()
        if dry_run:
            count = lost_emails(now).count()
            self.stdout.write(f"{count} lost email{'s' if count != 1 else ''} would be queued.")
        else:
            count = requeue_lost_emails(now=now)
            self.stdout.write(f"{count} lost email{'s' if count != 1 else ''} queued again.")
        for requeue in LOST_EMAIL_WORK:
            noun, count = requeue(now, dry_run)
            verb = "would be queued" if dry_run else "queued again"
            self.stdout.write(
                f"{count} {noun}{'s' if count != 1 else ''} with unwritten emails {verb}."
            )
        cut_off = cut_off_emails(now).count()
        if cut_off:
            self.stderr.write(
                f"{cut_off} email{'s were' if cut_off != 1 else ' was'} cut off while sending "
                "and may not have arrived: see Emails in the admin (status Sending)."
            )

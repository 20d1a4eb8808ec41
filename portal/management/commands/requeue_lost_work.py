from django.core.management.base import BaseCommand
from django.utils import timezone

from portal.mail import (
    LOST_AFTER,
    LOST_EMAIL_WORK,
    cut_off_emails,
    lost_emails,
    requeue_lost_emails,
)
from portal.worker import LEASE, give_back_lost


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


class Command(BaseCommand):
    help = (
        "Give again every task left running by a worker that stopped answering "
        f"{int(LEASE.total_seconds())} s ago or more (any kind: the workers do it too, this is "
        "for when none is running); give a new task to queued emails whose delivery is more "
        f"than {int(LOST_AFTER.total_seconds() // 60)} minutes overdue, and to changes whose "
        "emails were not written as long after; count emails cut off while sending, which are "
        "left for a superuser to judge in the admin. Safe to run repeatedly and concurrently."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count, change nothing.")

    def handle(self, *args, dry_run: bool, **options):
        now = timezone.now()
        tasks = give_back_lost(now, dry_run=dry_run)
        verb = "would be" if dry_run else "was" if tasks == 1 else "were"
        self.stdout.write(
            f"{plural(tasks, 'task')} left running by a stopped worker {verb} given again."
        )
        if dry_run:
            count = lost_emails(now).count()
            self.stdout.write(f"{plural(count, 'lost email')} would be queued.")
        else:
            count = requeue_lost_emails(now=now)
            self.stdout.write(f"{plural(count, 'lost email')} queued again.")
        for requeue in LOST_EMAIL_WORK:
            noun, count = requeue(now, dry_run)
            queued = "would be queued" if dry_run else "queued again"
            self.stdout.write(f"{plural(count, noun)} with unwritten emails {queued}.")
        cut_off = cut_off_emails(now).count()
        if cut_off:
            self.stderr.write(
                f"{cut_off} email{'s were' if cut_off != 1 else ' was'} cut off while sending "
                "and may not have arrived: see Emails in the admin (status Sending)."
            )

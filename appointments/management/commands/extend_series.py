from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.utils import timezone

from appointments.series import series_extend, series_to_extend
from appointments.services import BookingError, ChangeError


class Command(BaseCommand):
    help = (
        "Book every open-ended series up to its provider's booking horizon again. A date that is "
        "taken is left out and the client and provider are told; running it twice books nothing "
        "more. Run it daily from cron."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Count the series due, book nothing."
        )

    def handle(self, *args, dry_run: bool, **options):
        now = timezone.now()
        due = series_to_extend(now)
        if dry_run:
            count = sum(1 for _ in due)
            self.stdout.write(f"{count} series would be extended.")
            return
        extended = booked = 0
        failed: list[int] = []
        for series in due:
            # One transaction per series: a schedule too busy to lock (ScheduleBusy) or a
            # database error on one leaves the others booked, and the next run picks it up.
            try:
                sessions = series_extend(series, now)
            except (BookingError, ChangeError, DatabaseError) as error:
                failed.append(series.pk)
                self.stderr.write(f"Series {series.pk} was not extended: {error}")
                continue
            extended += 1
            booked += len(sessions)
        self.stdout.write(
            f"{extended} series extended, {booked} session{'s' if booked != 1 else ''} booked."
        )
        if failed:
            raise CommandError(f"{len(failed)} series could not be extended; run it again.")

from django.core.management.base import BaseCommand
from django.utils import timezone

from appointments import services
from appointments.models import Appointment


class Command(BaseCommand):
    help = (
        "Mark scheduled appointments that have ended as completed, each with a history entry. "
        "Safe to run repeatedly and concurrently: each appointment changes once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count, change nothing.")

    def handle(self, *args, dry_run: bool, **options):
        now = timezone.now()
        ended = Appointment.objects.active().filter(end__lte=now).order_by("end")
        if dry_run:
            self.stdout.write(f"{ended.count()} appointments would be marked completed.")
            return
        done = skipped = 0
        for appointment in ended.iterator(chunk_size=500):
            try:
                services.appointment_complete(
                    appointment=appointment,
                    actor=None,
                    now=now,
                    details={"by": "complete_past_appointments"},
                )
                done += 1
            except services.ChangeError:
                skipped += 1  # changed meanwhile, by someone or another copy of this command
        self.stdout.write(f"{done} appointments marked completed; {skipped} had changed meanwhile.")

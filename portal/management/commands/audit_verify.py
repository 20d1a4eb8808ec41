import logging

from django.core.management.base import BaseCommand, CommandError

from portal.audit.verify import verify, write_checkpoint

logger = logging.getLogger("portal.audit")


class Command(BaseCommand):
    help = (
        "Check the access log: every entry present, unchanged and chained to the one before, "
        "from the latest signed checkpoint (or the prune floor with --full). Prints every "
        "problem with the entry's seq and exits non-zero if there is any. With --checkpoint, "
        "a clean run writes a signed checkpoint at the last entry."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--full",
            action="store_true",
            help="Check from the prune floor, not the last checkpoint.",
        )
        parser.add_argument(
            "--checkpoint",
            action="store_true",
            help="After a clean run, sign a checkpoint at the last entry.",
        )

    def handle(self, *args, full: bool, checkpoint: bool, **options):
        report = verify(full=full)
        self.stdout.write(
            f"{report.checked} entries checked after seq {report.start_seq}; "
            f"the last is {report.last_seq}."
        )
        if not report.clean:
            for problem in report.problems:
                logger.error("access log: %s", problem)
                self.stderr.write(str(problem))
            raise CommandError(f"{len(report.problems)} problems found in the access log.")
        if checkpoint and report.last_seq:
            made = write_checkpoint(report.last_seq, report.last_hash)
            # Logged too, so a copy of the checkpoint lives outside the database.
            logger.info(
                "access log checkpoint: seq %s hash %s key %s signature %s",
                made.seq,
                bytes(made.hash).hex(),
                made.key_id,
                made.signature,
            )
            self.stdout.write(f"Checkpoint signed at {made.seq}.")
        self.stdout.write("The access log is intact.")

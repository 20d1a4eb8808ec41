import sys

from django.core.management.base import BaseCommand, CommandError

from portal.worker import DEFAULT_LANES, Worker


def parse_lanes(value: str) -> list[list[str]]:
    lanes = [[queue for queue in lane.split("+") if queue] for lane in value.split(",")]
    if not lanes or not all(lanes):
        raise CommandError("--lanes: lanes are separated by commas, queues in a lane by '+'.")
    return lanes


class Command(BaseCommand):
    help = (
        "Run the background worker: one thread per lane (by default the database's own work, "
        "and handing emails to the mail server), a heartbeat, and tasks lost with a dead "
        "worker given again. It waits out a database that is away instead of exiting. "
        "SIGTERM or Ctrl-C: finish the tasks in hand, then stop; twice: stop at once."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--lanes",
            default=",".join("+".join(lane) for lane in DEFAULT_LANES),
            help="Lanes separated by commas, each the queues it serves joined by '+' "
            "(default: %(default)s; 'default+email' runs everything in one lane).",
        )
        parser.add_argument(
            "--batch",
            action="store_true",
            help="Run every task that is due, then exit.",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="Seconds a lane waits when nothing is due (default: %(default)s).",
        )
        parser.add_argument(
            "--reload",
            action="store_true",
            help="Ignored: the worker never reloads code (kept so that older units still work).",
        )
        parser.add_argument("--no-reload", dest="reload", action="store_false", help="Ignored.")

    def handle(self, *args, lanes: str, batch: bool, interval: float, **options):
        if interval <= 0 or interval > 60:
            raise CommandError("--interval is between 0 and 60 seconds.")
        worker = Worker(parse_lanes(lanes), interval=interval)
        if batch:
            ran = worker.run_due()
            self.stdout.write(f"{ran} task{'s' if ran != 1 else ''} run.")
            return
        worker.configure_signals()
        sys.exit(worker.run())

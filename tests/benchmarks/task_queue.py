"""
Is fresh work starved while the mail server stalls? Hundreds of emails are retrying, and a batch
of others waiting, against an SMTP server that keeps every attempt waiting; meanwhile clients
cancel appointments on a
provider with a waitlist. Timed: from each cancellation to its two emails written, and to the
waitlist offer it makes, with the real worker (`manage.py db_worker` in its own process) run
with its two lanes, and then with one lane for both queues (as the worker used to run).

    make benchmark-queue                                  # SQLite in a temporary file
    DATABASE_URL=postgres://... make benchmark-queue      # a database of its own: it is filled
    .venv/bin/python tests/benchmarks/task_queue.py --retrying 300 --stall 5 --rounds 5
"""

import argparse
import statistics
import time
from datetime import timedelta

import scratch  # noqa: F401  (Django set up on a scratch database: first)
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from appointments import services, waitlist
from appointments.models import (
    AppointmentType,
    CareTeamMember,
    Provider,
    WaitlistOffer,
    WeeklyHours,
)
from portal.mail import queue_email
from portal.models import Email, User
from portal.worker import RETRY_PRIORITY
from tests.smtp import SmtpSink
from tests.workers import WorkerProcess


def setup(rounds: int):
    call_command("migrate", verbosity=0)
    suffix = str(int(time.time() * 1000))
    provider = Provider.objects.create(
        user=User.objects.create_user(f"bench-provider-{suffix}@example.com", "x"),
        display_name="Bench",
        time_zone="America/Chicago",
        min_notice=timedelta(0),
        waitlist_enabled=True,
    )
    WeeklyHours.objects.bulk_create(
        WeeklyHours(provider=provider, weekday=d, start="07:00", end="21:00") for d in range(7)
    )
    kind = AppointmentType.objects.create(
        provider=provider, name="Session", duration_minutes=30, modality="phone"
    )
    waiting = User.objects.create_user(f"bench-waiting-{suffix}@example.com", "x")
    CareTeamMember.objects.create(provider=provider, client=waiting)
    waitlist.entry_save(
        client=waiting,
        provider=provider,
        appointment_type=kind,
        weekdays=[],
        parts=[],
        not_after=None,
        actor=waiting,
    )
    # One appointment per round, each at its own hour, to cancel during the run.
    booked = []
    first = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    for n in range(rounds * 2):
        client = User.objects.create_user(f"bench-{suffix}-{n}@example.com", "x")
        CareTeamMember.objects.create(provider=provider, client=client)
        booked.append(
            services.appointment_book(
                client=client,
                provider=provider,
                appointment_type=kind,
                start=first + timedelta(hours=n),
                booked_by=client,
            )
        )
    return booked


def backlog(retrying: int, fresh: int) -> None:
    """
    The same queue before each setting: nothing else pending, `retrying` emails due again
    after failed attempts (as the worker leaves them: behind fresh work), and `fresh` emails
    not yet tried (a batch of reminders, say).
    """
    DBTaskResult.objects.exclude(status__in=["SUCCESSFUL", "FAILED"]).delete()
    Email.objects.exclude(status="sent").update(status="sent")
    context = {"recipient": None, "link": "https://portal.example/chat/1/", "portal_name": "P"}
    for n in range(retrying):
        queue_email("new-message", context, to=f"retrying{n}@example.com")
    DBTaskResult.objects.filter(task_path="portal.mail.deliver_email").update(
        priority=RETRY_PRIORITY, run_after=timezone.now() - timedelta(seconds=1)
    )
    for n in range(fresh):
        queue_email("new-message", context, to=f"fresh{n}@example.com")


def one_round(appointment) -> tuple[float, float]:
    """Seconds from the cancellation to its two emails written, and to its offer made."""
    written = Email.objects.filter(kind="appointment-cancelled")
    before = written.count()
    started = time.monotonic()
    services.appointment_cancel(appointment=appointment, actor=appointment.client)
    emailed = offered = float("inf")
    while time.monotonic() - started < 120:
        now = time.monotonic() - started
        if emailed == float("inf") and written.count() >= before + 2:
            emailed = now
        if offered == float("inf") and WaitlistOffer.objects.filter(start=appointment.start):
            offered = now
        if max(emailed, offered) < float("inf"):
            break
        time.sleep(0.02)
    return emailed, offered


def run(lanes: str, appointments, sink: SmtpSink, args) -> dict:
    backlog(args.retrying, args.fresh)
    stall, rounds = args.stall, args.rounds
    worker = WorkerProcess(
        lanes=lanes, EMAIL_URL=f"smtp://127.0.0.1:{sink.port}", EMAIL_TIMEOUT=int(stall * 2)
    ).start()
    emailed, offered = [], []
    try:
        for n in range(rounds):
            # Start each round a random part into an attempt that is waiting on the server.
            time.sleep((n * 0.37) % stall)
            took = one_round(appointments[n])
            emailed.append(took[0])
            offered.append(took[1])
    finally:
        worker.close()
    return {"emailed": emailed, "offered": offered}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--retrying", type=int, default=300, help="emails retrying (300)")
    parser.add_argument("--fresh", type=int, default=20, help="emails not yet tried (20)")
    parser.add_argument("--stall", type=float, default=5, help="seconds each attempt waits (5)")
    parser.add_argument("--rounds", type=int, default=5, help="cancellations per setting (5)")
    args = parser.parse_args()
    appointments = setup(args.rounds)
    sink = SmtpSink().up()
    sink.mode, sink.stall = "stall-at-rcpt", args.stall
    results = {}
    try:
        for name, lanes, chunk in [
            ("two lanes (default, email)", "default,email", appointments[: args.rounds]),
            ("one lane for both", "default+email", appointments[args.rounds :]),
        ]:
            results[name] = run(lanes, chunk, sink, args)
    finally:
        sink.down()
    print(
        f"{args.retrying} emails retrying and {args.fresh} not yet tried; the mail server keeps "
        f"each attempt waiting {args.stall:g} s; {args.rounds} cancellations per setting"
    )
    for name, result in results.items():
        for what in ("emailed", "offered"):
            samples = sorted(result[what])
            label = "its emails written" if what == "emailed" else "its offer made"
            print(
                f"{name:>26}: cancellation to {label:>18}: "
                f"median {statistics.median(samples):6.2f} s, worst {samples[-1]:6.2f} s"
            )


if __name__ == "__main__":
    main()

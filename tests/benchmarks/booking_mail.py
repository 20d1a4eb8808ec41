"""
Does a slow mail server slow a booking? The booking POST, timed against a real SMTP server that
answers at once and against one that stalls 2 seconds before taking each email.

    make benchmark-mail                  # SQLite in a temporary file
    DATABASE_URL=postgres://... make benchmark-mail

Each run books ROUNDS times through the real view (the test client, in process) and prints
the median and 95th percentile; then, for scale, how long handing one email to each server
takes, which is what the worker spends and the request no longer does.
"""

import statistics
import time
from datetime import timedelta

import scratch  # noqa: F401  (Django set up on a scratch database: first)
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from appointments import selectors
from appointments.emails import email_key, write_appointment_emails
from appointments.models import (
    AppointmentEvent,
    AppointmentType,
    CareTeamMember,
    Provider,
    WeeklyHours,
)
from portal.mail import deliver
from portal.models import Email, User
from tests.smtp import SmtpSink, mailer_settings

ROUNDS = 40
STALL_SECONDS = 2.0


def setup():
    call_command("migrate", verbosity=0)
    suffix = str(int(time.time() * 1000))
    client = User.objects.create_user(f"bench-client-{suffix}@example.com", "x")
    provider = Provider.objects.create(
        user=User.objects.create_user(f"bench-provider-{suffix}@example.com", "x"),
        display_name="Bench",
        time_zone="America/Chicago",
        min_notice=timedelta(0),
    )
    CareTeamMember.objects.create(provider=provider, client=client)
    WeeklyHours.objects.bulk_create(
        WeeklyHours(provider=provider, weekday=d, start="07:00", end="21:00") for d in range(7)
    )
    kind = AppointmentType.objects.create(
        provider=provider, name="Session", duration_minutes=30, modality="phone"
    )
    return client, provider, kind


def book_many(browser, provider, kind, starts) -> list[float]:
    url = reverse("appointments:book-review", args=[provider.pk, kind.pk])
    terms = selectors.terms_in_force(provider, kind).token  # as the review page's form has it
    samples = []
    for start in starts:
        began = time.perf_counter()
        response = browser.post(url, {"start": start.isoformat(), "expected_terms": terms})
        samples.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 302, response.status_code
    return sorted(samples)


def summary(samples: list[float]) -> str:
    p95 = samples[max(0, int(len(samples) * 0.95) - 1)]
    return f"median {statistics.median(samples):7.2f} ms   p95 {p95:7.2f} ms"


def main() -> None:
    client, provider, kind = setup()
    browser = Client(HTTP_HOST="127.0.0.1")
    browser.force_login(client)
    free = selectors.open_slots(
        provider=provider, appointment_type=kind, client=client, now=timezone.now()
    )
    starts = free[: ROUNDS * 2 + 1]
    normal, stalled = SmtpSink().up(), SmtpSink().up()
    stalled.mode, stalled.stall = "stall-at-data", STALL_SECONDS
    results = {}
    try:
        book_many(browser, provider, kind, starts[:1])  # warm up
        for name, sink, chunk in [
            ("normal", normal, starts[1 : ROUNDS + 1]),
            ("2 s stall", stalled, starts[ROUNDS + 1 :]),
        ]:
            with override_settings(MAILERS=mailer_settings(sink.port, timeout=10)):
                results[name] = book_many(browser, provider, kind, chunk)
                # The last booking's emails, as the worker writes them, then one delivered.
                change = AppointmentEvent.objects.filter(appointment__client=client).latest("pk")
                write_appointment_emails.call(change.pk)
                email = Email.objects.get(key=email_key(change, "client"))
                began = time.perf_counter()
                deliver(email.pk)
                results[name + " delivery"] = [(time.perf_counter() - began) * 1000]
    finally:
        normal.down()
        stalled.down()
    print(f"database: {connection.vendor}; {ROUNDS} booking POSTs per mail server")
    for name in ["normal", "2 s stall"]:
        print(f"booking POST, {name:>9} SMTP server: {summary(results[name])}")
    for name in ["normal", "2 s stall"]:
        took = results[name + " delivery"][0]
        print(f"one email handed to the {name:>9} server by the worker: {took:7.0f} ms")
    difference = statistics.median(results["2 s stall"]) - statistics.median(results["normal"])
    print(f"difference in median booking POST: {difference:+.2f} ms")


if __name__ == "__main__":
    main()

"""
What each statement written by hand buys: its time against its definition's (the read the ORM
gives from the rules' one definitions, portal.mirrors), on the page benchmark's data set, for
the client the pages are measured as. The median of ROUNDS calls each, in turns.

    .venv/bin/python tests/benchmarks/mirrors.py              # PostgreSQL, 1M appointments
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench_small \
        .venv/bin/python tests/benchmarks/mirrors.py --appointments 20000
"""

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.benchmarks import bigdata  # noqa: E402  (Django set up on the bench database)

# isort: split
from django.db import reset_queries  # noqa: E402
from django.utils import timezone  # noqa: E402

from appointments.models import Provider  # noqa: E402
from chat.models import Conversation  # noqa: E402
from portal.mirrors import all_mirrors  # noqa: E402
from portal.models import User  # noqa: E402

ROUNDS = 400


def calls() -> dict[str, tuple[tuple, dict]]:
    """How the bench client's pages call each statement."""
    client = User.objects.get(email=bigdata.CLIENT_EMAIL)
    now = timezone.now()
    provider = Provider.objects.filter(careteammember__client=client).order_by("pk").first()
    conversation = Conversation.objects.filter(client=client).order_by("pk").first()
    day = now.astimezone(provider.zone).date()
    return {
        "appointments.sql.overview_facts": ((client, now), {}),
        "appointments.sql.overview_lists": (
            (client, now),
            {"upcoming": 5, "past": 3, "cancelled": 3},
        ),
        "appointments.sql.schedule_facts": (
            (),
            {
                "provider": provider,
                "client": client,
                "first_day": day - timedelta(days=1),
                "last_day": day + timedelta(days=15),
                "busy_from": now,
                "busy_to": now + timedelta(days=14),
                "exclude_pk": None,
            },
        ),
        "chat.sql.poll_state": ((client, conversation.pk, 2**40), {}),
    }


def median_ms(read, args, kwargs) -> float:
    samples = []
    for _ in range(ROUNDS):
        began = time.perf_counter()
        read(*args, **kwargs)
        samples.append((time.perf_counter() - began) * 1000)
        reset_queries()
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--appointments", type=int, default=1_000_000)
    args = parser.parse_args()
    bigdata.ensure(args.appointments)
    mirrors = all_mirrors()
    wanted = calls()
    if set(wanted) != set(mirrors):
        raise SystemExit(f"Say how to call: {sorted(set(mirrors) - set(wanted))}")
    print(f"median of {ROUNDS} calls, the bench client, {args.appointments:,} appointments")
    print(f"{'statement':<36} {'by hand':>9} {'ORM':>9} {'saved':>9}")
    for name, mirror in sorted(mirrors.items()):
        call_args, call_kwargs = wanted[name]
        statement = median_ms(mirror.statement, call_args, call_kwargs)
        definition = median_ms(mirror.definition, call_args, call_kwargs)
        print(
            f"{name:<36} {statement:>7.2f}ms {definition:>7.2f}ms {definition - statement:>7.2f}ms"
        )


if __name__ == "__main__":
    main()

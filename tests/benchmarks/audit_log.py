"""
The access log at ten million entries: does a page that logs, the admin's log list and the
export cost what they do on an empty log?

    make benchmark-audit                                  # 10,000,000 entries, 15 rounds
    make benchmark-audit ARGS="--entries 1000000 --rounds 5"   # a quick look

Three PostgreSQL databases, made by this script and by nobody else: the big log
(AUDIT_BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/portal_bench_audit,
re-used while it holds `--entries`), and beside it `..._empty` (no entries) and `..._small`
(`--small`, 10,000: enough for every list to draw a full page, so the lists are compared
drawing the same rows), both made afresh each run. All three have the same 2,000 clients and
50 staff; a log is spread evenly over six years up to now, each entry a staff member viewing
a client (at ten million: 5,000 entries a client, 4,600 a day).

The fill is one INSERT ... SELECT with the triggers off, so it takes minutes rather than the
hours ten million chained inserts would: its entries are not chained (zero hashes, no MACs).
They are put honestly below a prune floor with its signed checkpoint, as if a prune had
raised the floor and not yet deleted them: `audit_verify` then checks every entry written
after them, which are real, and the table and its indexes hold ten million rows, which is
what the measurements are about.

Measured in one process per database, in turns, `--rounds` times each:

- floor: a superuser opening their own account in the admin (a page that logs nothing);
- the same page for a client's account, which the admin logs as one entry (one INSERT at the
  end of the request, chained by the trigger, locking the log's head);
- the admin's access log: unfiltered, by client, by staff member, by one day;
- audit_export for one client over the six years (5,000 rows at ten million).

Printed: median milliseconds and the ratio to the floor's median in the same run (the ratios
mean more than the times on a shared, noisy machine), and the queries of each.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/portal_bench_audit"
CLIENTS, STAFF = 2000, 50
YEARS = 6
PASSWORD = "bench-password-2026"
MARKER = "bench_audit_fill"  # a table of one row: how many entries this database was filled with


def client_email(n: int) -> str:
    return f"bench-client-{n}@example.com"


def staff_email(n: int) -> str:
    return f"bench-staff-{n}@example.com"


def with_suffix(url: str, suffix: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path + suffix))


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DEBUG", "true")
    # A superuser opening pages in process; the second step is not what is measured.
    os.environ["ADMIN_REQUIRE_2FA"] = "false"
    # The fill's statements (ten million rows, then each index) run for minutes.
    os.environ["DATABASE_COMMAND_STATEMENT_TIMEOUT"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.project.settings")
    import django

    from portal.project import process

    process.mark_command()  # the fill runs longer than a web request's statement may
    django.setup()


# --- Building ------------------------------------------------------------------------------


def recreate(url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    if not name.startswith("portal_bench_audit"):
        raise SystemExit(f"Refusing to drop {name!r}: this script only remakes its own databases.")
    maintenance = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def built(url: str) -> int | None:
    """How many entries the database was filled with, or None when it is not ours."""
    import psycopg

    try:
        with psycopg.connect(url) as conn:
            row = conn.execute(f"SELECT entries FROM {MARKER}").fetchone()
            return row[0] if row else None
    except psycopg.Error:
        return None


def build(entries: int) -> None:
    """Run inside the database's own process (setup_django done): users, then the fill."""
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connection

    from portal.models import User

    call_command("migrate", verbosity=0)
    password = make_password(PASSWORD)
    User.objects.create_superuser("bench-root@example.com", PASSWORD, name="Bench Root")
    User.objects.bulk_create(
        [
            User(email=staff_email(n), name=f"Staff {n}", is_staff=True, password=password)
            for n in range(STAFF)
        ]
        + [
            User(email=client_email(n), name=f"Client {n}", password=password)
            for n in range(CLIENTS)
        ],
        batch_size=1000,
    )
    staff = list(
        User.objects.filter(email__startswith="bench-staff-")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    clients = list(
        User.objects.filter(email__startswith="bench-client-")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if entries:
        fill(entries, staff, clients)
    # Last: a database whose build died has no marker and is built again.
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {MARKER} (entries bigint NOT NULL)")
        cursor.execute(f"INSERT INTO {MARKER} VALUES (%s)", [entries])


def fill(entries: int, staff: list[int], clients: list[int]) -> None:
    from django.db import connection
    from django.utils import timezone

    from portal.audit.chain import GENESIS
    from portal.audit.models import AuditCheckpoint, AuditHead
    from portal.audit.verify import write_checkpoint

    started = time.perf_counter()
    now = timezone.now()
    indexes = ["audit_entry_client_at", "audit_entry_actor_at", "audit_entry_at"]
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")  # no triggers: see the docstring
        definitions = []
        for name in indexes:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])
            definitions.append(cursor.fetchone()[0])
            cursor.execute(f"DROP INDEX {name}")
        # Entry g: staff g mod 50 views client (g * 7919) mod 2000, evenly over the six years;
        # a million a statement, to see it go.
        for first in range(1, entries + 1, 1_000_000):
            last = min(first + 999_999, entries)
            insert_filler(cursor, first, last, entries, now, staff, clients)
            print(f"  {last:,} entries in {time.perf_counter() - started:.0f} s", flush=True)
        for definition in definitions:
            cursor.execute(definition)
        print(f"  indexes in {time.perf_counter() - started:.0f} s", flush=True)
        # The head at the last filler entry, its floor there too: the fill counts as pruned.
        cursor.execute(
            "INSERT INTO audit_head (id, seq, hash, prune_floor) VALUES (1, %s, %s, %s)",
            [entries, GENESIS, entries],
        )
        cursor.execute("SET session_replication_role = DEFAULT")
    write_checkpoint(entries, GENESIS, kind=AuditCheckpoint.Kind.PRUNE)
    assert AuditHead.objects.get().prune_floor == entries
    connection.cursor().execute("VACUUM ANALYZE audit_entry")
    print(f"  vacuumed in {time.perf_counter() - started:.0f} s", flush=True)


def insert_filler(cursor, first, last, entries, now, staff, clients) -> None:
    from portal.audit.chain import GENESIS

    span = YEARS * 365 * 86400
    cursor.execute(
        """
            INSERT INTO audit_entry
                (seq, at, actor_id, actor_role, practice_id, client_id, action, address, body,
                 mac, prev_hash, hash)
            SELECT g, at, actor, 'provider', 1 + g %% 50, client, 'viewed', '203.0.113.7',
                   format('{"a":"viewed","at":"%%s","by":%%s,"c":%%s,"d":"","ip":"203.0.113.7",'
                          '"k":"fill","o":"admin","p":%%s,"r":["appointments.appointment:%%s"],'
                          '"role":"provider","s":"","v":1}',
                          to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                          actor, client, 1 + g %% 50, g),
                   %s, %s, %s
            FROM (
                SELECT g,
                       %s::timestamptz - make_interval(secs => %s)
                           + make_interval(secs => g * %s) AS at,
                       (%s::bigint[])[1 + g %% %s] AS actor,
                       (%s::bigint[])[1 + (g * 7919) %% %s] AS client
                FROM generate_series(%s::bigint, %s::bigint) AS g
            ) AS filler
            """,
        [
            bytes(32),
            GENESIS,
            GENESIS,
            now,
            span,
            span / entries,
            staff,
            len(staff),
            clients,
            len(clients),
            first,
            last,
        ],
    )


# --- Measuring -----------------------------------------------------------------------------


class Measure:
    def __init__(self, name: str):
        self.name = name
        self.samples: list[float] = []
        self.queries: int | None = None


def measure(rounds: int) -> dict:
    """Run inside the database's own process: every measurement, in turns, `rounds` times."""
    from io import StringIO

    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from portal.audit.models import AuditEntry
    from portal.models import User

    root = User.objects.get(email="bench-root@example.com")
    client = User.objects.get(email=client_email(7))
    staff = User.objects.get(email=staff_email(3))
    count = AuditEntry.objects.count()
    middle = AuditEntry.objects.filter(seq=count // 2).values_list("at", flat=True).first()
    day = (middle or root.date_joined).date().isoformat()
    browser = Client(HTTP_HOST="localhost")
    browser.force_login(root)
    # The same admin page twice: the superuser's own account, which logs nothing (no one
    # else's record), and a client's, which the admin logs as one entry.
    floor_page = reverse("admin:portal_user_change", args=[root.pk])
    page = reverse("admin:portal_user_change", args=[client.pk])
    log = reverse("admin:portal_auditentry_changelist")

    def get(url, query=None):
        def run():
            response = browser.get(url, query or {})
            assert response.status_code == 200, (url, response.status_code)

        return run

    def export():
        call_command(
            "audit_export",
            "--client",
            client.email,
            "--start",
            "2000-01-01",
            "--end",
            "2099-12-31",
            stdout=StringIO(),
            stderr=StringIO(),
        )

    operations = {
        "floor: one's own account in the admin": get(floor_page),
        "a client's account, logged as one entry": get(page),
        "access log, unfiltered": get(log),
        "access log, by client": get(log, {"client_email": client.email}),
        "access log, by staff member": get(log, {"actor_email": staff.email}),
        "access log, by one day": get(log, {"on_or_after": day, "on_or_before": day}),
        "audit_export, one client (all six years)": export,
    }
    measures = {name: Measure(name) for name in operations}
    for run in operations.values():
        run()  # warm: templates, plans, the session
    for _ in range(rounds):
        for name, run in operations.items():
            with CaptureQueriesContext(connection) as captured:
                began = time.perf_counter()
                run()
                measures[name].samples.append((time.perf_counter() - began) * 1000)
            measures[name].queries = len(captured)
    exported = AuditEntry.objects.filter(client=client).count()
    floor = statistics.median(measures[next(iter(measures))].samples)
    return {
        "entries": count,
        "client_entries": exported,
        "rows": {
            name: {
                "queries": m.queries,
                "median": statistics.median(m.samples),
                "ratio": statistics.median(m.samples) / floor,
            }
            for name, m in measures.items()
        },
    }


def verify_log() -> str:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("audit_verify", stdout=out, stderr=StringIO())
    return out.getvalue().strip().splitlines()[0]


def child(args) -> None:
    setup_django(args.database)
    if args.build is not None:
        build(args.build)
        return
    result = measure(args.rounds)
    result["verify"] = verify_log()
    print("RESULT " + json.dumps(result))


def run_child(url: str, *extra: str) -> dict | None:
    command = [sys.executable, __file__, "--child", "--database", url, *extra]
    done = subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
        print(line, flush=True)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--entries", type=int, default=10_000_000)
    parser.add_argument("--small", type=int, default=10_000, help="the small log's entries")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--rebuild", action="store_true", help="fill the big log again")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--build", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    url = os.environ.get("AUDIT_BENCH_DATABASE_URL", DEFAULT_URL)
    if args.rebuild or built(url) != args.entries:
        print(f"Filling {urlsplit(url).path.lstrip('/')} with {args.entries:,} entries", flush=True)
        recreate(url)
        run_child(url, "--build", str(args.entries))
    # The empty and small logs are made afresh each run: earlier runs' pages logged into them.
    runs = [(with_suffix(url, "_empty"), 0), (with_suffix(url, "_small"), args.small)]
    for each, entries in runs:
        recreate(each)
        run_child(each, "--build", str(entries))
    results = [run_child(each, "--rounds", str(args.rounds)) for each in [*dict(runs), url]]
    assert all(results)
    print(
        f"\nPostgreSQL, {args.rounds} rounds in turns in each database; the exported client has "
        + ", ".join(f"{r['client_entries']:,}" for r in results)
        + " entries.\naudit_verify: "
        + " / ".join(r["verify"] for r in results)
    )
    width = 12 * len(results)
    print(f"{'':<44}{'queries':>{width}}{'median ms':>{width}}{'vs floor':>{width}}")
    print(f"{'entries in the log':<44}" + "".join(f"{r['entries']:>12,}" for r in results) * 3)
    for name in results[0]["rows"]:
        rows = [r["rows"][name] for r in results]
        print(
            f"{name:<44}"
            + "".join(f"{row['queries']:>12}" for row in rows)
            + "".join(f"{row['median']:>12.1f}" for row in rows)
            + "".join(f"{row['ratio']:>12.2f}" for row in rows)
        )


if __name__ == "__main__":
    main()

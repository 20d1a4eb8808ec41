"""
Commands that print or export client data are logged as the operator who ran them, naming the
command line and the operating-system account; a long export writes its entries a chunk at a
time, one INSERT per chunk, so neither memory nor statements grow with the rows.
"""

import getpass
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from appointments.management.commands import export_appointments
from appointments.models import Fee, WaitlistEntry, WaitlistOffer, WaitlistOpening
from portal.audit import scope
from portal.audit.models import AuditEntry, Role
from tests.factories import AppointmentFactory, UserFactory

pytestmark = pytest.mark.django_db

DECEMBER = ["--start", "2026-12-01", "--end", "2026-12-31"]
FIRST = datetime(2026, 12, 3, 16, tzinfo=UTC)


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def body(entry: AuditEntry) -> dict:
    return json.loads(entry.body)


def audit_inserts(queries: CaptureQueriesContext) -> int:
    return sum('INSERT INTO "audit_entry"' in q["sql"] for q in queries.captured_queries)


@pytest.fixture
def clients(session_type):
    """Four clients with two December appointments each, in start order c0 c1 c2 c3 c0 c1 ..."""
    people = [UserFactory() for _ in range(4)]
    appointments = [
        AppointmentFactory(
            appointment_type=session_type, client=person, start=FIRST + timedelta(hours=hour)
        )
        for hour, person in enumerate(people * 2)
    ]
    return people, appointments


# --- export_appointments --------------------------------------------------------------------


def test_an_export_logs_each_client_it_wrote_with_their_appointments(clients, session_type):
    people, appointments = clients

    run("export_appointments", *DECEMBER, "--provider", str(session_type.provider.pk))

    entries = list(AuditEntry.objects.order_by("seq"))
    assert len(entries) == 4
    for person, entry in zip(people, entries, strict=True):
        said = body(entry)
        assert (entry.action, entry.client_id) == ("exported", person.pk)
        assert entry.practice_id == session_type.provider.pk
        assert said["r"] == sorted(
            f"appointments.appointment:{a.pk}" for a in appointments if a.client_id == person.pk
        )
        assert (entry.actor_id, entry.actor_role, entry.address) == (None, Role.OPERATOR, "")
        assert said["o"] == (
            "command:manage.py export_appointments --start 2026-12-01 --end 2026-12-31 "
            f"--provider {session_type.provider.pk}"
        )
        assert said["d"] == f"operating-system user {getpass.getuser()}"


def test_an_export_writes_one_entry_per_client_in_each_chunk(clients, monkeypatch):
    people, _ = clients
    monkeypatch.setattr(export_appointments, "CHUNK", 3)

    with CaptureQueriesContext(connection) as queries:
        run("export_appointments", *DECEMBER)

    # 8 rows in chunks of 3: c0 c1 c2 | c3 c0 c1 | c2 c3, one INSERT each.
    assert audit_inserts(queries) == 3
    order = [entry.client_id for entry in AuditEntry.objects.order_by("seq")]
    ids = [person.pk for person in people]
    assert order == [ids[0], ids[1], ids[2], ids[3], ids[0], ids[1], ids[2], ids[3]]


def test_an_export_costs_one_insert_per_chunk_however_many_rows_each_holds(
    session_type, monkeypatch
):
    monkeypatch.setattr(export_appointments, "CHUNK", 50)

    made = 0

    def export(rows: int) -> tuple[int, int]:
        nonlocal made
        for _ in range(rows):
            AppointmentFactory(appointment_type=session_type, start=FIRST + timedelta(hours=made))
            made += 1
        with CaptureQueriesContext(connection) as queries:
            run("export_appointments", *DECEMBER)
        return audit_inserts(queries), len(queries.captured_queries)

    few = export(5)
    many = export(45)  # 50 rows in all, each of its own client: still one chunk
    assert few[0] == many[0] == 1
    assert few[1] == many[1]


class FailsAfter(io.StringIO):
    """An output that breaks after `lines` lines, as a closed pipe or a full disk would."""

    def __init__(self, lines: int) -> None:
        super().__init__()
        self.left = lines

    def write(self, text: str) -> int:
        if self.left == 0:
            raise OSError("No space left on device")
        self.left -= 1
        return super().write(text)


def test_an_export_that_breaks_midway_logs_the_chunks_it_had_started(clients, monkeypatch):
    people, _ = clients
    monkeypatch.setattr(export_appointments, "CHUNK", 3)

    # The header and four rows: the second chunk breaks on its second row.
    with pytest.raises(OSError, match="No space"):
        call_command("export_appointments", *DECEMBER, stdout=FailsAfter(5))

    ids = [person.pk for person in people]
    logged = [entry.client_id for entry in AuditEntry.objects.order_by("seq")]
    assert logged == [ids[0], ids[1], ids[2], ids[3], ids[0], ids[1]]


def test_an_export_that_cannot_write_its_file_logs_nothing(clients):
    with pytest.raises(CommandError):
        run("export_appointments", *DECEMBER, "--output", "/nonexistent/dir/x.csv")

    assert not AuditEntry.objects.exists()


def test_an_export_of_no_rows_logs_nothing():
    with CaptureQueriesContext(connection) as queries:
        run("export_appointments", *DECEMBER)

    assert audit_inserts(queries) == 0


# --- Reports of totals ----------------------------------------------------------------------


def test_the_fees_report_names_no_client_and_logs_nothing(session_type, client_user, stranger):
    for hour, person in enumerate((client_user, stranger)):
        appointment = AppointmentFactory(
            appointment_type=session_type, client=person, start=FIRST + timedelta(hours=hour)
        )
        Fee.objects.create(
            appointment=appointment,
            kind="late_cancel",
            amount=Decimal("50"),
            currency="USD",
            created_at=FIRST,
        )

    with CaptureQueriesContext(connection) as queries:
        out, _ = run("fees_report", *DECEMBER)

    assert "    2   100.00 USD" in out
    assert client_user.name not in out and client_user.email not in out
    assert audit_inserts(queries) == 0


def test_the_waitlist_report_names_no_client_and_logs_nothing(on, session_type, client_user):
    opening = WaitlistOpening.objects.create(
        provider=on,
        start=FIRST,
        end=FIRST + timedelta(hours=1),
        cause=WaitlistOpening.Cause.CANCELLED,
        opened_at=FIRST,
    )
    entry = WaitlistEntry.objects.create(
        provider=on, client=client_user, appointment_type=session_type
    )
    WaitlistOffer.objects.create(
        entry=entry, opening=opening, start=FIRST, token="t", created_at=FIRST
    )

    with CaptureQueriesContext(connection) as queries:
        out, _ = run("waitlist_report", *DECEMBER)

    assert on.display_name[:28] in out
    assert client_user.name not in out and client_user.email not in out
    assert audit_inserts(queries) == 0


# --- The command line and the operator ------------------------------------------------------


def test_the_command_line_names_the_program_not_its_path_and_hides_secret_values():
    argv = ["/srv/portal/manage.py", "cmd", "--token", "s3cret", "--key=abc", "--name", "a b"]

    line = scope.command_line(argv, secret_options={"--token", "--key"})

    assert line == "manage.py cmd --token '***' '--key=***' --name 'a b'"
    assert "s3cret" not in line and "abc" not in line


def test_an_operator_whose_account_has_no_name_is_named_by_number(monkeypatch, clients):
    def nameless():
        raise OSError("No username set in the environment")

    monkeypatch.setattr(getpass, "getuser", nameless)

    run("export_appointments", *DECEMBER)

    details = {body(entry)["d"] for entry in AuditEntry.objects.all()}
    assert len(details) == 1
    assert details.pop().startswith("operating-system user uid ")

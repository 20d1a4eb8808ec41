"""
`audit_export` writes one client's access-log entries, or one staff member's, as CSV, a chunk
at a time, and logs that it did.
"""

import csv
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.audit import export
from portal.audit.models import AuditEntry
from portal.audit.recorder import Entry, record_entries
from portal.audit.verify import verify

pytestmark = pytest.mark.django_db
DAY = datetime(2026, 3, 10, 15, 30, tzinfo=UTC)


def seen(actor, client, *, at=DAY, action="viewed", records=("appointments.appointment:4",)):
    return Entry(
        action=action,
        actor_id=actor.pk,
        actor_role="provider",
        client_id=client.pk if client else None,
        practice_id=3,
        address="203.0.113.9",
        records=records,
        detail="notes",
        origin="admin",
        at=at,
    )


def run(*args) -> tuple[list[list[str]], str]:
    out, err = StringIO(), StringIO()
    call_command("audit_export", *args, stdout=out, stderr=err)
    return list(csv.reader(StringIO(out.getvalue()))), err.getvalue()


def test_a_client_export_has_their_entries_in_the_window_oldest_first(
    client_user, stranger, provider_user
):
    record_entries(
        [
            seen(provider_user, client_user, at=datetime(2026, 3, 11, 9, tzinfo=UTC)),
            seen(provider_user, client_user),
            seen(provider_user, stranger),
            seen(provider_user, client_user, at=datetime(2026, 3, 12, 0, tzinfo=UTC)),
        ]
    )
    rows, err = run(
        "--client", "JORDAN@example.com", "--start", "2026-03-10", "--end", "2026-03-11"
    )
    assert rows[0] == export.HEADER
    assert [row[1] for row in rows[1:]] == [
        "2026-03-10T15:30:00+00:00",
        "2026-03-11T09:00:00+00:00",
    ]
    assert rows[1] == [
        "2",
        "2026-03-10T15:30:00+00:00",
        "dr.okafor@example.com",
        "provider",
        "3",
        "jordan@example.com",
        "viewed",
        "appointments.appointment:4",
        "notes",
        "admin",
        "203.0.113.9",
    ]
    assert "2 entries exported" in err


def test_a_staff_export_has_what_they_did_to_anyone(client_user, stranger, provider_user):
    record_entries([seen(provider_user, client_user), seen(provider_user, stranger)])
    record_entries([seen(client_user, client_user)])
    rows, _ = run("--actor", provider_user.email, "--start", "2026-03-01", "--end", "2026-03-31")
    assert [row[5] for row in rows[1:]] == ["jordan@example.com", "stranger@example.com"]


def test_the_export_is_itself_logged_once_per_client(client_user, stranger, provider_user):
    record_entries([seen(provider_user, client_user), seen(provider_user, stranger)] * 2)
    run("--actor", provider_user.email, "--start", "2026-03-01", "--end", "2026-03-31")
    logged = AuditEntry.objects.filter(action="exported").order_by("client_id")
    assert [(e.client_id, e.actor_id, e.actor_role) for e in logged] == [
        (client_user.pk, None, "operator"),
        (stranger.pk, None, "operator"),
    ]
    assert '"o":"command:manage.py audit_export --actor dr.okafor@example.com' in logged[0].body
    assert verify().clean


def test_looking_up_a_client_with_no_entries_is_still_logged(client_user):
    rows, _ = run("--client", client_user.email, "--start", "2026-03-01", "--end", "2026-03-31")
    assert rows == [export.HEADER]
    assert AuditEntry.objects.filter(action="exported", client=client_user).count() == 1


def test_it_streams_in_chunks_smaller_than_the_result(client_user, provider_user, monkeypatch):
    monkeypatch.setattr(export, "CHUNK", 3)
    # Seven entries, some sharing a time, so a chunk can end inside a run of equal times.
    times = [DAY, DAY, DAY, DAY.replace(hour=16), DAY.replace(hour=16), DAY, DAY.replace(hour=17)]
    record_entries([seen(provider_user, client_user, at=at) for at in times])
    with CaptureQueriesContext(connection) as queries:
        rows, _ = run("--client", client_user.email, "--start", "2026-03-10", "--end", "2026-03-10")
    assert [int(row[0]) for row in rows[1:]] == [1, 2, 3, 6, 4, 5, 7]
    reads = [q for q in queries if q["sql"].startswith("SELECT") and "audit_entry" in q["sql"]]
    assert len(reads) == 3  # 3 + 3 + 1 rows: never the whole result in one read


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2026-03-01", "--end", "2026-03-02"], "either --client or --actor"),
        (
            ["--client", "jordan@example.com", "--actor", "dr.okafor@example.com"]
            + ["--start", "2026-03-01", "--end", "2026-03-02"],
            "either --client or --actor",
        ),
        (
            ["--client", "nobody@example.com", "--start", "2026-03-01", "--end", "2026-03-02"],
            "No account",
        ),
        (
            ["--client", "jordan@example.com", "--start", "2026-03-05", "--end", "2026-03-01"],
            "after --start",
        ),
        (
            ["--client", "jordan@example.com", "--start", "yesterday", "--end", "2026-03-01"],
            "must be a date",
        ),
        (
            [
                "--client",
                "jordan@example.com",
                "--start",
                "2026-03-01T09:00",
                "--end",
                "2026-03-02",
            ],
            "UTC offset",
        ),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(
    args, message, client_user, provider_user, tmp_path
):
    record_entries([seen(provider_user, client_user)])
    target = tmp_path / "out.csv"
    with pytest.raises(CommandError, match=message):
        call_command("audit_export", *args, "--output", str(target), stdout=StringIO())
    assert not target.exists()
    assert not AuditEntry.objects.filter(action="exported").exists()


def test_output_to_a_file(client_user, provider_user, tmp_path):
    record_entries([seen(provider_user, client_user)])
    target = tmp_path / "out.csv"
    out = StringIO()
    call_command(
        "audit_export",
        "--client",
        client_user.email,
        "--start",
        "2026-03-10",
        "--end",
        "2026-03-10",
        "--output",
        str(target),
        stdout=out,
    )
    assert "1 entries written" in out.getvalue()
    assert len(list(csv.reader(target.open()))) == 2

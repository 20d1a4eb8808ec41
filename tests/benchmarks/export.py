"""
Peak memory of export_appointments as the number of rows grows: it should stay flat.

    .venv/bin/python tests/benchmarks/export.py 20000 200000 1000000

For each size a fresh temporary SQLite database is filled in one process, and the export
runs in another, so the peak it prints is the export's own.
"""

import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.project.settings")
    import django

    django.setup()


def fill(rows: int) -> None:
    setup_django()
    from datetime import UTC, datetime, timedelta

    from django.core.management import call_command

    from appointments.models import Appointment, AppointmentType, Provider
    from portal.models import User

    call_command("migrate", verbosity=0)
    user = User.objects.create_user("bench@example.com", None)
    provider = Provider.objects.create(user=user, display_name="Bench", time_zone="Europe/Berlin")
    kind = AppointmentType.objects.create(
        provider=provider, name="Session", duration_minutes=30, modality="phone"
    )
    start = datetime(2026, 1, 1, tzinfo=UTC)
    step = timedelta(minutes=30)
    for first in range(0, rows, 5000):
        Appointment.objects.bulk_create(
            Appointment(
                provider=provider,
                client=user,
                appointment_type=kind,
                start=start + step * i,
                end=start + step * (i + 1),
                booked_by=user,
                status="completed",
            )
            for i in range(first, min(first + 5000, rows))
        )


def export(rows: int) -> None:
    setup_django()
    from django.core.management import call_command

    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open(os.devnull, "w") as sink:
        call_command(
            "export_appointments",
            "--start",
            "2025-01-01",
            "--end",
            "2200-01-01",
            "--output",
            os.devnull,
            stdout=sink,
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"{rows:>9} rows: peak RSS {peak / 1024:6.1f} MiB "
        f"({(peak - loaded) / 1024:5.1f} MiB above Django loaded)"
    )


def main(sizes: list[int]) -> None:
    for rows in sizes:
        with tempfile.TemporaryDirectory() as folder:
            env = {**os.environ, "DEBUG": "true", "DATABASE_URL": f"sqlite:///{folder}/x.sqlite3"}
            for step in ("--fill", "--export"):
                subprocess.run([sys.executable, __file__, step, str(rows)], env=env, check=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--fill"]:
        fill(int(sys.argv[2]))
    elif sys.argv[1:2] == ["--export"]:
        export(int(sys.argv[2]))
    else:
        main([int(n) for n in sys.argv[1:]] or [20000, 200000])

import contextlib
import csv
from collections import defaultdict
from itertools import batched
from zoneinfo import ZoneInfo

from django.core.management.base import CommandError

from appointments.management.commands import _arguments
from appointments.models import Appointment
from appointments.recurrence import Rule
from portal.audit import scope
from portal.audit.models import Action
from portal.management.arguments import window
from portal.management.base import ClientDataCommand

# Rows fetched, written and logged together: the access log gets one INSERT per chunk, with
# an entry per client in it, so memory and statements stay flat however long the export.
CHUNK = 2000

HEADER = [
    "id",
    "status",
    "start_utc",
    "end_utc",
    "start_provider_time",
    "end_provider_time",
    "provider_time_zone",
    "provider",
    "client_name",
    "client_email",
    "appointment_type",
    "booked_at_utc",
    "series_id",
    "series_rule",
]


class _Verbatim:
    """The command's stdout for the csv module: no line ending added to what it writes."""

    def __init__(self, out):
        self.out = out

    def write(self, text: str) -> None:
        self.out.write(text, ending="")


class Command(ClientDataCommand):
    help = (
        "Write appointments starting in [--start, --end) as CSV: times in UTC (ISO 8601) and "
        "in the provider's own zone. Streams row by row, so any number of rows fits. Each "
        "client whose appointments it writes is told so in their access log."
    )

    def add_arguments(self, parser):
        parser.add_argument("--start", required=True, help="YYYY-MM-DD (UTC) or ISO 8601.")
        parser.add_argument("--end", required=True, help="YYYY-MM-DD (inclusive) or ISO 8601.")
        parser.add_argument("--provider", help="Only this provider (id or email).")
        parser.add_argument("--output", help="Write to this file instead of standard output.")

    def handle(self, *args, start, end, provider, output, **options):
        begin, finish = window(start, end)
        only = _arguments.provider(provider)
        rows = Appointment.objects.filter(start__gte=begin, start__lt=finish).order_by(
            "start", "pk"
        )
        if only is not None:
            rows = rows.filter(provider=only)
        values = rows.values_list(
            "pk",
            "status",
            "start",
            "end",
            "provider__time_zone",
            "provider__display_name",
            "client__name",
            "client__email",
            "appointment_type__name",
            "created_at",
            # A session's series, read in the same statement: its rule in words is the
            # repeat and the weekday of its first date.
            "series_id",
            "series__repeat",
            "series__first_date",
            "client_id",
            "provider_id",
        )
        try:
            destination = (
                open(output, "w", newline="", encoding="utf-8")  # noqa: SIM115  (closed by the with below)
                if output
                else contextlib.nullcontext(_Verbatim(self.stdout))
            )
        except OSError as error:
            raise CommandError(f"Can't write {output}: {error.strerror}.") from None
        count = 0
        with destination as target:
            writer = csv.writer(target)
            writer.writerow(HEADER)
            zones: dict[str, ZoneInfo] = {}
            rules: dict[int, str] = {}
            # iterator() keeps memory flat: rows are fetched, written and logged in chunks.
            for chunk in batched(values.iterator(CHUNK), CHUNK):
                self.note_exported(chunk)
                for row in chunk:
                    pk, status, s, e, tz, who, name, email, kind, booked = row[:10]
                    series, repeat, first = row[10:13]
                    zone = zones.setdefault(tz, ZoneInfo(tz))
                    if series is not None and series not in rules:
                        rules[series] = Rule(repeat, first).describe()
                    writer.writerow(
                        [
                            pk,
                            status,
                            s.isoformat(),
                            e.isoformat(),
                            s.astimezone(zone).isoformat(),
                            e.astimezone(zone).isoformat(),
                            tz,
                            who,
                            name,
                            email,
                            kind,
                            booked.isoformat(),
                            series or "",
                            rules.get(series, ""),
                        ]
                    )
                    count += 1
                self.flush()
        if output:
            self.stdout.write(f"{count} appointments written to {output}.")
        else:
            self.stderr.write(f"{count} appointments exported.")

    def note_exported(self, chunk: tuple) -> None:
        """
        One entry per client and practice in the chunk, naming the appointments of theirs it
        holds: a client's log then says which of their appointments left in which export.
        """
        appointments: dict[tuple[int, int], list[str]] = defaultdict(list)
        for row in chunk:
            client, practice = row[13:]
            appointments[client, practice].append(
                scope.record_name("appointments.appointment", row[0])
            )
        self.note(
            *(
                scope.entry(Action.EXPORTED, client_id=client, practice_id=practice, records=names)
                for (client, practice), names in appointments.items()
            )
        )

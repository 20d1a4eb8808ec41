from django.db.models import Count, Sum

from appointments.models import Fee
from portal.management.arguments import window
from portal.management.base import ClientDataCommand


class Command(ClientDataCommand):
    # Totals by provider, naming no client: nothing of anyone's record is shown, so nothing is
    # noted in the access log. It runs as the operator's unit all the same, so that a column
    # naming a client, if one is ever added, is logged with the rest.
    help = (
        "Late-cancellation, late-reschedule and no-show fees recorded in [--start, --end), "
        "by provider, kind and status, with counts and totals per currency."
    )

    def add_arguments(self, parser):
        parser.add_argument("--start", required=True, help="YYYY-MM-DD (UTC) or ISO 8601.")
        parser.add_argument("--end", required=True, help="YYYY-MM-DD (inclusive) or ISO 8601.")

    def handle(self, *args, start, end, **options):
        begin, finish = window(start, end)
        groups = (
            Fee.objects.filter(created_at__gte=begin, created_at__lt=finish)
            .values("appointment__provider__display_name", "kind", "status", "currency")
            .annotate(count=Count("id"), total=Sum("amount"))
            .order_by("appointment__provider__display_name", "kind", "status", "currency")
        )
        kinds = dict(Fee.Kind.choices)
        self.stdout.write(f"Fees recorded {begin:%Y-%m-%d %H:%M} to {finish:%Y-%m-%d %H:%M} UTC")
        line = f"{'provider':<28} {'kind':<18} {'status':<8} {'count':>5} {'total':>12}"
        self.stdout.write(line)
        self.stdout.write("-" * len(line))
        totals: dict[tuple[str, str], object] = {}
        for row in groups:
            self.stdout.write(
                f"{row['appointment__provider__display_name'][:28]:<28} "
                f"{kinds[row['kind']]:<18} {row['status']:<8} {row['count']:>5} "
                f"{row['total']:>8.2f} {row['currency']}"
            )
            key = (row["status"], row["currency"])
            totals[key] = totals.get(key, 0) + row["total"]
        if not totals:
            self.stdout.write("No fees in this period.")
        for (status, currency), total in sorted(totals.items()):
            self.stdout.write(f"Total {status}: {total:.2f} {currency}")

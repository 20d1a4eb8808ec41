from collections import defaultdict
from statistics import median

from django.db.models import Count

from appointments.models import WaitlistOffer, WaitlistOpening
from portal.management.arguments import window
from portal.management.base import ClientDataCommand


class Command(ClientDataCommand):
    # Totals by provider, naming no client: nothing of anyone's record is shown, so nothing is
    # noted in the access log. It runs as the operator's unit all the same, so that a column
    # naming a client, if one is ever added, is logged with the rest.
    help = (
        "The waitlist in [--start, --end), by provider: times freed (cancels, moves, new "
        "hours), offers made, times filled from the waitlist, and the median minutes from a "
        "time opening to a client taking it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--start", required=True, help="YYYY-MM-DD (UTC) or ISO 8601.")
        parser.add_argument("--end", required=True, help="YYYY-MM-DD (inclusive) or ISO 8601.")

    def handle(self, *args, start, end, **options):
        begin, finish = window(start, end)
        name = "provider__display_name"
        # A hold passed on is the same freed time offered again, not a new one.
        freed = dict(
            WaitlistOpening.objects.filter(opened_at__gte=begin, opened_at__lt=finish)
            .exclude(cause=WaitlistOpening.Cause.HOLD_ENDED)
            .values_list(name)
            .annotate(count=Count("id"))
            .order_by()
        )
        offered = dict(
            WaitlistOffer.objects.filter(created_at__gte=begin, created_at__lt=finish)
            .values_list(f"entry__{name}")
            .annotate(count=Count("id"))
            .order_by()
        )
        # Streamed: two columns per filled offer, however many there were.
        waits: dict[str, list[float]] = defaultdict(list)
        filled = WaitlistOffer.objects.filter(
            status=WaitlistOffer.Status.CLAIMED, closed_at__gte=begin, closed_at__lt=finish
        ).values_list(f"entry__{name}", "opening__opened_at", "closed_at")
        for provider, opened_at, closed_at in filled.iterator():
            waits[provider].append((closed_at - opened_at).total_seconds() / 60)
        self.stdout.write(f"Waitlist {begin:%Y-%m-%d %H:%M} to {finish:%Y-%m-%d %H:%M} UTC")
        line = f"{'provider':<28} {'freed':>6} {'offered':>8} {'filled':>7} {'median min':>11}"
        self.stdout.write(line)
        self.stdout.write("-" * len(line))
        providers = sorted(set(freed) | set(offered) | set(waits))
        for provider in providers:
            minutes = f"{median(waits[provider]):.1f}" if waits[provider] else "-"
            self.stdout.write(
                f"{provider[:28]:<28} {freed.get(provider, 0):>6} {offered.get(provider, 0):>8} "
                f"{len(waits[provider]):>7} {minutes:>11}"
            )
        if not providers:
            self.stdout.write("No waitlist activity in this period.")
            return
        every = [wait for provider in providers for wait in waits[provider]]
        self.stdout.write(
            f"Total: {sum(freed.values())} freed, {sum(offered.values())} offered, "
            f"{len(every)} filled" + (f", median {median(every):.1f} min" if every else "")
        )

"""Run the same work in several threads released at one instant, each with its own connection."""

import threading
from contextlib import contextmanager

from django.db import connection, transaction

from appointments import services
from appointments.models import Provider


def race(
    attempt, n: int, *, refusals: tuple[type[Exception], ...] = (services.SlotUnavailable,)
) -> list[tuple[str, object]]:
    """
    attempt(i) in n threads; each outcome is ("ok", result), ("conflict", None) for a clean
    refusal (SlotUnavailable unless told otherwise), or ("error", repr) for anything else,
    which tests treat as a failure.
    """
    barrier = threading.Barrier(n)
    outcomes: list[tuple[str, object]] = [("missing", None)] * n

    def run(i):
        try:
            barrier.wait(timeout=30)
            outcomes[i] = ("ok", attempt(i))
        except refusals:
            outcomes[i] = ("conflict", None)
        except Exception as error:  # noqa: BLE001  (any other outcome fails the test)
            outcomes[i] = ("error", repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


@contextmanager
def providers_schedule_held(provider):
    """Another change holds the provider's row locked until the block ends."""
    holding, release = threading.Event(), threading.Event()

    def hold_the_schedule():
        try:
            with transaction.atomic():
                Provider.objects.select_for_update().get(pk=provider.pk)
                holding.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_schedule)
    holder.start()
    try:
        assert holding.wait(timeout=10)
        yield
    finally:
        release.set()
        holder.join(timeout=30)

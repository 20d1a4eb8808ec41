from django.conf import settings
from django.core import checks

from appointments.services import LOCK_TIMEOUT_MS


def schedule_lock_wait_ends_first(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """
    A change that waits for a busy schedule gives up after LOCK_TIMEOUT_MS and tells the person
    to try again in a moment. A web request's statement timeout at or under that cancels the
    wait first, and the same moment reads as "we can't reach your records" (a 503) instead.
    """
    timeout = settings.DATABASE_STATEMENT_TIMEOUT
    if timeout == 0 or timeout * 1000 > LOCK_TIMEOUT_MS:
        return []
    return [
        checks.Warning(
            f"DATABASE_STATEMENT_TIMEOUT ({timeout} s) ends before a change stops waiting for a "
            f"busy schedule ({LOCK_TIMEOUT_MS} ms): a busy schedule will answer 503.",
            hint=f"Set DATABASE_STATEMENT_TIMEOUT to {LOCK_TIMEOUT_MS // 1000 + 1} or more.",
            id="appointments.W001",
        )
    ]

"""
The portal's own system checks. Deployment checks run with `check --deploy`, which the
README's deploy step runs with `--fail-level WARNING`: a warning here stops a deploy.
"""

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, register
from django.core.checks import Warning as CheckWarning

# settings.py's default: a name reserved never to resolve (RFC 2606), the same everywhere.
DEFAULT_CALENDAR_DOMAIN = "client-portal.invalid"


@register(deploy=True)
def calendar_domain_is_set(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    """Calendar UIDs and Message-IDs end in it: a production installation names its own."""
    if settings.DEBUG or settings.PORTAL_CALENDAR_DOMAIN != DEFAULT_CALENDAR_DOMAIN:
        return []
    return [
        CheckWarning(
            f"PORTAL_CALENDAR_DOMAIN is left at its default, {DEFAULT_CALENDAR_DOMAIN}.",
            hint=(
                "Set it to a domain the practice owns (the portal's own, say): it ends every "
                "calendar UID and email Message-ID the portal sends."
            ),
            id="portal.W001",
        )
    ]

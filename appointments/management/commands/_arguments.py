"""The appointment commands' own argument readers (time windows: portal.management.arguments)."""

from django.core.management.base import CommandError

from appointments.models import Provider
from portal.inputs import parse_id


def provider(value: str | None) -> Provider | None:
    if not value:
        return None
    pk = parse_id(value)
    found = (
        Provider.objects.filter(pk=pk)
        if pk is not None
        else Provider.objects.filter(user__email__iexact=value)
    ).first()
    if found is None:
        raise CommandError(f"No provider with id or email {value!r}.")
    return found

"""The links into chat that other apps' pages offer, through `portal.links`."""

from django.urls import reverse


def message_provider_url(*, provider_id: int, appointment_id: int | None = None) -> str:
    """A new message to this provider, drafted about the appointment when there is one."""
    url = reverse("chat:new-with", args=[provider_id])
    return f"{url}?appointment={appointment_id}" if appointment_id else url

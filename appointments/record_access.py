"""
What the client's "Access to your record" page (in the kernel, which imports no app) needs to
know of the practices an access-log entry names, and how it calls this app's records.
Provided to `portal.audit.client_page` in AppointmentsConfig.ready.
"""

from collections.abc import Collection

from appointments.models import Provider
from portal.audit import client_page

RECORD_NOUNS = {
    "appointments.appointment": ("your appointment", "your appointments"),
    "appointments.appointmentevent": ("your appointment history", "your appointment history"),
    "appointments.appointmentseries": (
        "your repeating appointments",
        "your repeating appointments",
    ),
    "appointments.fee": ("a fee on your account", "your fees"),
    "appointments.waitlistentry": ("your waitlist request", "your waitlist requests"),
    "appointments.careteammember": ("your place on a care team", "your places on care teams"),
}


def practices_for_clients(ids: Collection[int]) -> dict[int, client_page.Practice]:
    """The practices `ids` names, in one query however many; a deleted one is left out."""
    rows = Provider.objects.filter(pk__in=ids).values_list(
        "pk", "display_name", "show_staff_names_to_clients"
    )
    return {pk: client_page.Practice(name, shows) for pk, name, shows in rows}


def provide() -> None:
    client_page.provide_practices(practices_for_clients)
    for label, (one, several) in RECORD_NOUNS.items():
        client_page.name_records(label, one, several)

"""
Every existing appointment keeps the calendar UID its files carry today,
`appointment-<pk>@<PORTAL_CALENDAR_DOMAIN>` (the domain as configured when this runs), so
that calendars still match its later changes to the entry they hold. The string is made by
the database, not a round trip per row, in batches of BATCH ids, each committed on its own
(the migration is not atomic): a change to an appointment waits for one batch at most, a
fraction of a second, instead of for the whole table (20-30 s at a million appointments,
longer than the services' lock timeout). Run again after a stop, it carries on: only rows
still without a UID are filled. Its own migration: on PostgreSQL a table can't be altered in
the transaction that updated its rows, and only an ALTER stops reads.

History entries get no backfill: their emails keep the keys derived from their id
(appointments/emails.py), which no single stored value could reproduce.
"""

from django.conf import settings
from django.db import migrations, models
from django.db.models import Max, Min
from django.db.models.functions import Cast, Concat

BATCH = 20_000


def fill_calendar_uids(apps, schema_editor):
    Appointment = apps.get_model("appointments", "Appointment")
    missing = Appointment.objects.filter(calendar_uid__isnull=True)
    bounds = missing.aggregate(first=Min("pk"), last=Max("pk"))
    if bounds["first"] is None:
        return
    uid = Concat(
        models.Value("appointment-"),
        Cast("pk", models.CharField()),
        models.Value(f"@{settings.PORTAL_CALENDAR_DOMAIN}"),
        output_field=models.CharField(),
    )
    for start in range(bounds["first"], bounds["last"] + 1, BATCH):
        missing.filter(pk__gte=start, pk__lt=start + BATCH).update(calendar_uid=uid)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("appointments", "0015_calendar_uid_email_seed"),
    ]

    operations = [
        migrations.RunPython(fill_calendar_uids, migrations.RunPython.noop),
    ]

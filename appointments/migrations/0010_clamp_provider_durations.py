"""
Providers saved before durations had bounds are brought inside them. Its own migration: on
PostgreSQL the table can't be altered in the transaction that updated its rows.
"""

import datetime

from django.db import migrations

MAX_MIN_NOTICE = datetime.timedelta(days=365)
MAX_BUFFER = datetime.timedelta(days=1)


def clamp_durations(apps, schema_editor):
    Provider = apps.get_model("appointments", "Provider")
    Provider.objects.filter(min_notice__gt=MAX_MIN_NOTICE).update(min_notice=MAX_MIN_NOTICE)
    Provider.objects.filter(buffer_before__gt=MAX_BUFFER).update(buffer_before=MAX_BUFFER)
    Provider.objects.filter(buffer_after__gt=MAX_BUFFER).update(buffer_after=MAX_BUFFER)


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0009_practice_staff_invitations"),
    ]

    operations = [
        migrations.RunPython(clamp_durations, migrations.RunPython.noop),
    ]

"""
Policies saved before durations had bounds are brought inside them. Its own migration: on
PostgreSQL the table can't be altered in the transaction that updated its rows.
"""

import datetime

from django.db import migrations

MAX_NOTICE = datetime.timedelta(days=365)
MAX_GRACE_PERIOD = datetime.timedelta(days=30)


def clamp_durations(apps, schema_editor):
    Policy = apps.get_model("policies", "Policy")
    Policy.objects.filter(cancel_notice__gt=MAX_NOTICE).update(cancel_notice=MAX_NOTICE)
    Policy.objects.filter(reschedule_notice__gt=MAX_NOTICE).update(reschedule_notice=MAX_NOTICE)
    Policy.objects.filter(grace_period__gt=MAX_GRACE_PERIOD).update(grace_period=MAX_GRACE_PERIOD)


class Migration(migrations.Migration):
    dependencies = [
        ("policies", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(clamp_durations, migrations.RunPython.noop),
    ]

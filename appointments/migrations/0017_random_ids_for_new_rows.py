"""
New appointments and history entries get random values from Python (no SQL), and both are
unique. The unique indexes are partial so that PostgreSQL builds them with CREATE UNIQUE
INDEX, which lets reads go on while it works through a big table.
"""

import uuid

from django.db import migrations, models

import appointments.models


class Migration(migrations.Migration):

    dependencies = [
        ("appointments", "0016_calendar_uid_of_existing_appointments"),
    ]

    operations = [
        migrations.AlterField(
            model_name="appointment",
            name="calendar_uid",
            field=models.CharField(
                default=appointments.models.new_calendar_uid,
                editable=False,
                max_length=300,
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="appointmentevent",
            name="email_seed",
            field=models.UUIDField(default=uuid.uuid4, editable=False, null=True),
        ),
        migrations.AddConstraint(
            model_name="appointment",
            constraint=models.UniqueConstraint(
                condition=models.Q(("calendar_uid__isnull", False)),
                fields=("calendar_uid",),
                name="appointment_calendar_uid",
            ),
        ),
        migrations.AddConstraint(
            model_name="appointmentevent",
            constraint=models.UniqueConstraint(
                condition=models.Q(("email_seed__isnull", False)),
                fields=("email_seed",),
                name="event_email_seed",
            ),
        ),
    ]

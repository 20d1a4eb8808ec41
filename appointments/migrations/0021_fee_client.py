"""
Each fee names its appointment's client, filled here from the appointment in one statement.
The next migration makes it required and indexes it.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_client(apps, schema_editor):
    Fee = apps.get_model("appointments", "Fee")
    Appointment = apps.get_model("appointments", "Appointment")
    client = Appointment.objects.filter(pk=OuterRef("appointment_id")).values("client_id")
    Fee.objects.filter(client__isnull=True).update(client=Subquery(client[:1]))


class Migration(migrations.Migration):

    dependencies = [
        ("appointments", "0020_policy_table"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="fee",
            name="client",
            field=models.ForeignKey(
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(fill_client, migrations.RunPython.noop),
    ]

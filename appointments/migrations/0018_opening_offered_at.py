"""
An opening records when its offers were made, so that a second run of its task offers nothing
more. Openings that already have offers were offered: they are marked as of when they opened.
One without offers stays unmarked; if its task ever runs again it looks again, as it would have.
"""

from django.db import migrations, models
from django.db.models import Exists, F, OuterRef


def mark_offered(apps, schema_editor):
    WaitlistOpening = apps.get_model("appointments", "WaitlistOpening")
    WaitlistOffer = apps.get_model("appointments", "WaitlistOffer")
    WaitlistOpening.objects.filter(
        Exists(WaitlistOffer.objects.filter(opening=OuterRef("pk")))
    ).update(offered_at=F("opened_at"))


class Migration(migrations.Migration):

    dependencies = [
        ("appointments", "0017_random_ids_for_new_rows"),
    ]

    operations = [
        migrations.AddField(
            model_name="waitlistopening",
            name="offered_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(mark_offered, migrations.RunPython.noop),
    ]

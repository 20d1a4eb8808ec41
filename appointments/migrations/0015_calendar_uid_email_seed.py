"""
Room for the random ids: each appointment's calendar UID, and the random part of the keys of
each history entry's emails. Nullable and with no default here: a column added with a
default gets that one value in every existing row (Django works a callable default out once),
and a NULL column is added without rewriting the table. 0016 fills the UIDs, 0017 gives new
rows random values and makes both unique.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("appointments", "0014_emails_from_history"),
    ]

    operations = [
        migrations.AddField(
            model_name="appointment",
            name="calendar_uid",
            field=models.CharField(editable=False, max_length=300, null=True),
        ),
        migrations.AddField(
            model_name="appointmentevent",
            name="email_seed",
            field=models.UUIDField(editable=False, null=True),
        ),
    ]

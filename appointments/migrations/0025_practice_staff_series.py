from django.db import migrations

from portal.practice import ensure_practice_group


def grant(apps, schema_editor):
    ensure_practice_group(apps)


class Migration(migrations.Migration):
    """The practice staff see, book and change their recurring series."""

    dependencies = [("appointments", "0024_recurring_series")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]

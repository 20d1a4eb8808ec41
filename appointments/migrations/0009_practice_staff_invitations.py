from django.db import migrations

from portal.practice import ensure_practice_group


def grant(apps, schema_editor):
    ensure_practice_group(apps)


class Migration(migrations.Migration):
    """The practice staff see and withdraw their care-team invitations."""

    dependencies = [("appointments", "0008_care_team_invitation")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]

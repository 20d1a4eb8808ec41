"""The policies' rows are appointments' now (appointments 0019): only Django's picture changes."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("policies", "0003_policy_duration_bounds"),
        ("appointments", "0019_policy_moves_here"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel("Policy")]),
    ]

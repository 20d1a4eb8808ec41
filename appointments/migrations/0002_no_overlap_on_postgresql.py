"""
The database's own guarantee against double booking, on PostgreSQL: no two scheduled
appointments of one provider, or of one client, overlap in time. The booking service
already prevents overlaps under its row locks; these constraints are the backstop for any
path that skips it. SQLite has no exclusion constraints; there the IMMEDIATE transactions
serialise every writer instead.

CREATE EXTENSION needs a role allowed to create it (a superuser, or the database owner on
PostgreSQL 13+ for trusted extensions such as btree_gist).
"""

from django.db import migrations

CONSTRAINTS = {
    "appointment_provider_no_overlap": "provider_id",
    "appointment_client_no_overlap": "client_id",
}


def add_constraints(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    for name, column in CONSTRAINTS.items():
        # Half-open ranges: one appointment may end exactly when the next begins.
        schema_editor.execute(
            f"ALTER TABLE appointments_appointment ADD CONSTRAINT {name} "
            f"EXCLUDE USING gist ({column} WITH =, tstzrange(start, \"end\", '[)') WITH &&) "
            "WHERE (status = 'scheduled')"
        )


def drop_constraints(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in CONSTRAINTS:
        schema_editor.execute(
            f"ALTER TABLE appointments_appointment DROP CONSTRAINT IF EXISTS {name}"
        )


class Migration(migrations.Migration):
    dependencies = [("appointments", "0001_initial")]

    operations = [migrations.RunPython(add_constraints, drop_constraints, elidable=False)]

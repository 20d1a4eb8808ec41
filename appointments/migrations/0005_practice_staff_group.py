"""
The "Practice staff" group: what providers and their office staff may do in the admin. Which
rows they see is limited in code to their own practice; this grants the kinds of change.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Practice staff"
PERMISSIONS = {
    "appointments": [
        "view_provider",
        "change_provider",
        *(f"{verb}_{model}" for verb in ("add", "change", "delete", "view")
          for model in ("appointmenttype", "weeklyhours", "dateoverride")),
        "view_careteammember",
        "add_careteammember",
        "delete_careteammember",
        "view_appointment",
        "change_appointment",
        "view_appointmentevent",
        "view_fee",
        "change_fee",
    ],
    "policies": ["add_policy", "change_policy", "view_policy", "delete_policy"],
    "chat": ["view_conversation"],
}


def create_group(apps, schema_editor):
    # Permissions are normally made after migrating; this group needs them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    for app_label, codenames in PERMISSIONS.items():
        found = Permission.objects.filter(
            content_type__app_label=app_label, codename__in=codenames
        )
        missing = set(codenames) - set(found.values_list("codename", flat=True))
        if missing:
            raise RuntimeError(f"Permissions not found: {sorted(missing)}")
        group.permissions.add(*found)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0004_officestaff"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("chat", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("policies", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]

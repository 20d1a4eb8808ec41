from django.db import migrations

from portal.practice import PRACTICE_STAFF_GROUP, ensure_practice_group


def create_group(apps, schema_editor):
    ensure_practice_group(apps)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=PRACTICE_STAFF_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("appointments", "0004_officestaff"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("chat", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("policies", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]

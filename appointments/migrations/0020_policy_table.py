"""
The policies' table takes appointments' name, and their content type (with the permissions
that hang on it, the Practice staff group's among them) moves to appointments with it. On a
database made before the content type existed (a new one), post_migrate makes it afterwards.
"""

from django.db import migrations

from portal.practice import ensure_practice_group


def move_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    old = ContentType.objects.filter(app_label="policies", model="policy").first()
    new = ContentType.objects.filter(app_label="appointments", model="policy").first()
    if old is not None and new is None:
        old.app_label = "appointments"  # its permissions, and who holds them, come along
        old.save(update_fields=["app_label"])
    elif old is not None:
        # Both exist already: whoever held one of the old permissions holds its twin instead.
        for permission in Permission.objects.filter(content_type=old):
            twin, _ = Permission.objects.get_or_create(
                content_type=new, codename=permission.codename, defaults={"name": permission.name}
            )
            for group in permission.group_set.all():
                group.permissions.add(twin)
            for user in permission.user_set.all():
                user.user_permissions.add(twin)
        old.delete()
    ensure_practice_group(apps)


class Migration(migrations.Migration):

    dependencies = [
        ("appointments", "0019_policy_moves_here"),
        ("policies", "0004_policy_moves_to_appointments"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelTable(name="policy", table=None),
        migrations.RunPython(move_content_type, migrations.RunPython.noop),
    ]

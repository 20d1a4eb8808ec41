"""
The "Practice staff" group: what providers and their office staff may do in the admin. Which
rows they see is limited in code to their own practice; the group grants the kinds of change.
Each app declares the permissions it grants on its AppConfig (`practice_staff_permissions`).
Migration appointments 0005 creates the group; `ensure_practice_group` is the same step,
callable again wherever a database may have lost it (a flushed test database, a restore).
"""

from django.apps import apps as global_apps

PRACTICE_STAFF_GROUP = "Practice staff"


def declared_permissions() -> dict[str, list[str]]:
    """
    What each app grants the group: an app declares `practice_staff_permissions` on its
    AppConfig (read from the running project, even inside a migration).
    """
    return {
        config.label: list(config.practice_staff_permissions)
        for config in global_apps.get_app_configs()
        if hasattr(config, "practice_staff_permissions")
    }


def ensure_practice_group(apps=global_apps):
    """The group with exactly its permissions; `apps` is the migration's during migrations."""
    from django.contrib.auth.management import create_permissions

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=PRACTICE_STAFF_GROUP)
    wanted_by_app = _existing(apps)
    codenames = {code for codes in wanted_by_app.values() for code in codes}
    if group.permissions.filter(codename__in=codenames).count() == len(codenames):
        return group
    # Permissions are normally made after migrating; the group needs them now.
    for app_config in apps.get_app_configs():
        if app_config.label in wanted_by_app:
            # Migration stubs have no models_module; create_permissions skips apps without one.
            had_models = getattr(app_config, "models_module", None)
            app_config.models_module = had_models or True
            create_permissions(app_config, apps=apps, verbosity=0)
            app_config.models_module = had_models
    for app_label, wanted in wanted_by_app.items():
        found = Permission.objects.filter(content_type__app_label=app_label, codename__in=wanted)
        missing = set(wanted) - set(found.values_list("codename", flat=True))
        if missing:
            raise RuntimeError(f"Permissions not found: {sorted(missing)}")
        group.permissions.add(*found)
    return group


def _existing(apps) -> dict[str, list[str]]:
    """
    The permissions of models that exist in `apps`: a migration that runs before a model was
    added grants what it can, and a later migration calls this again for the rest.
    """
    existing = {}
    for app_label, codes in declared_permissions().items():
        models = {model._meta.model_name for model in apps.get_app_config(app_label).get_models()}
        existing[app_label] = [code for code in codes if code.split("_", 1)[1] in models]
    return existing


def join_practice_staff(user) -> None:
    """Let a provider or office staff member into the admin with the practice's permissions."""
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    user.groups.add(ensure_practice_group())

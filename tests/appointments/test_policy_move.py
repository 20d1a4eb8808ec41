"""
The practice's policies became rows of appointments (migrations appointments 0019-0020 and
policies 0004). A database made before keeps every policy, its table takes appointments' name,
and the permissions on policies (the Practice staff group's among them) move with it.
"""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from portal.practice import PRACTICE_STAFF_GROUP

BEFORE = [("appointments", "0018_opening_offered_at"), ("policies", "0003_policy_duration_bounds")]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("made_already", [False, True], ids=["as upgraded", "type made already"])
def test_a_database_made_before_the_move_keeps_its_policies_and_permissions(made_already):
    """
    As upgraded, the content type of appointments' policies does not exist yet; the old one
    moves. If something made it already, the old one's holders get its permissions instead.
    """
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        change, group = a_database_before_the_move(executor, made_already)
    finally:  # whatever happens, the next test finds the database as it was
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    from django.contrib.auth.models import Group, Permission

    from appointments.models import Policy

    assert Policy._meta.db_table == "appointments_policy"
    assert Policy.objects.get().text == "Before the move"
    tables = connection.introspection.table_names()
    assert "appointments_policy" in tables and "policies_policy" not in tables
    (moved,) = Permission.objects.filter(codename="change_policy")
    assert moved.content_type.app_label == "appointments"
    assert (moved.pk == change.pk) is not made_already  # moved, or its twin
    assert Group.objects.get(pk=group.pk).permissions.filter(pk=moved.pk).exists()


def a_database_before_the_move(executor, made_already: bool):
    """A policy, its content type and permission, and the group holding it, as they were."""
    old = executor.loader.project_state(BEFORE).apps
    types = old.get_model("contenttypes", "ContentType").objects
    Permission = old.get_model("auth", "Permission")
    if not made_already:  # as upgraded: post_migrate has not made it yet
        Permission.objects.filter(
            content_type__app_label="appointments", content_type__model="policy"
        ).delete()
        types.filter(app_label="appointments", model="policy").delete()
    User = old.get_model("portal", "User")
    provider = old.get_model("appointments", "Provider").objects.create(
        user=User.objects.create(email="dr.before@example.com"), display_name="Dr. Before"
    )
    old.get_model("policies", "Policy").objects.create(provider=provider, text="Before the move")
    # As post_migrate left them on that database: the content type, its permission, the group.
    content_type, _ = types.get_or_create(app_label="policies", model="policy")
    change, _ = Permission.objects.get_or_create(
        content_type=content_type, codename="change_policy", defaults={"name": "Can change"}
    )
    group, _ = old.get_model("auth", "Group").objects.get_or_create(name=PRACTICE_STAFF_GROUP)
    group.permissions.add(change)
    return change, group

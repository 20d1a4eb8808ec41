from django.contrib.auth.models import Group

PRACTICE_STAFF_GROUP = "Practice staff"  # made by appointments migration 0005


def join_practice_staff(user) -> None:
    """Let a provider or office staff member into the admin with the practice's permissions."""
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    user.groups.add(Group.objects.get(name=PRACTICE_STAFF_GROUP))

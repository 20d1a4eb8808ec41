from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "policies"
    verbose_name = "Cancellation and rescheduling policies"
    practice_staff_permissions = ["add_policy", "change_policy", "view_policy", "delete_policy"]

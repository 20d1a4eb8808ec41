from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    """
    What a cancellation and rescheduling policy says, and what it decides: pure terms and a pure
    decision, with no rows of their own. (The policies of a practice are rows of `appointments`,
    beside its providers and types; migrations 0001-0003 here made their table, which
    appointments took over in 0019.)
    """

    name = "policies"
    verbose_name = "Cancellation and rescheduling policies"

from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "appointments"
    # What providers and their office staff may do here (the "Practice staff" group); which
    # rows they see is limited to their practice by appointments.practice.
    practice_staff_permissions = [
        "view_provider",
        "change_provider",
        *(
            f"{verb}_{model}"
            for verb in ("add", "change", "delete", "view")
            for model in ("appointmenttype", "weeklyhours", "dateoverride")
        ),
        "view_careteammember",
        "add_careteammember",
        "delete_careteammember",
        "view_careteaminvitation",
        "delete_careteaminvitation",
        "view_appointment",
        "change_appointment",
        "view_appointmentevent",
        "view_fee",
        "change_fee",
    ]

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
            for model in ("appointmenttype", "weeklyhours", "dateoverride", "policy")
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
        "view_waitlistentry",
        "view_waitlistoffer",
        # Series are booked and changed through their own pages; never deleted.
        "view_appointmentseries",
        "add_appointmentseries",
        "change_appointmentseries",
    ]

    def ready(self) -> None:
        from django.core import checks
        from django.db.models.signals import post_delete, post_save

        from appointments import data_copy, record_access
        from appointments.checks import schedule_lock_wait_ends_first
        from appointments.emails import requeue_unwritten
        from appointments.models import DateOverride, WeeklyHours
        from appointments.practice import practice_role
        from appointments.series_emails import requeue_unwritten_series
        from appointments.tasks import hours_changed
        from portal import data_copy as portal_data_copy
        from portal.audit.requests import register_role_resolver
        from portal.mail import LOST_EMAIL_WORK

        post_save.connect(hours_changed, sender=WeeklyHours, dispatch_uid="waitlist-hours")
        post_save.connect(hours_changed, sender=DateOverride, dispatch_uid="waitlist-override")
        # A day off taken back opens the date.
        post_delete.connect(hours_changed, sender=DateOverride, dispatch_uid="waitlist-day-off")
        for requeue in (requeue_unwritten, requeue_unwritten_series):
            if requeue not in LOST_EMAIL_WORK:
                LOST_EMAIL_WORK.append(requeue)
        checks.register(schedule_lock_wait_ends_first)
        # The access log names each staff member's role in the practice whose record it was.
        register_role_resolver(practice_role)
        record_access.provide()
        portal_data_copy.provide_files("appointments", data_copy.files)
        portal_data_copy.provide_care_team(data_copy.care_team_of)

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from portal.middleware import mark_session_started


@receiver(user_logged_in, dispatch_uid="portal_mark_session_started")
def start_session_clock(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        mark_session_started(request)

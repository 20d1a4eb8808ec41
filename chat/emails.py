from django.conf import settings

from portal.mail import queue_email


def queue_new_message_email(*, recipient, link: str) -> None:
    """Says only that a message is waiting, with a link: the text stays in the portal."""
    context = {"recipient": recipient, "link": link, "portal_name": settings.PORTAL_NAME}
    queue_email("new-message", context, to=recipient.email)

from django.conf import settings

from portal.mail import send_templated


def send_new_message_email(*, recipient, link: str) -> None:
    """Says only that a message is waiting, with a link: the text stays in the portal."""
    context = {"recipient": recipient, "link": link, "portal_name": settings.PORTAL_NAME}
    send_templated("new-message", context, to=[recipient.email])

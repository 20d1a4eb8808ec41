from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def send_new_message_email(*, recipient, link: str) -> None:
    """Says only that a message is waiting, with a link: the text stays in the portal."""
    context = {"recipient": recipient, "link": link, "portal_name": settings.PORTAL_NAME}
    subject = render_to_string("emails/new-message-subject.txt", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=render_to_string("emails/new-message-body.txt", context),
        to=[recipient.email],
    )
    message.attach_alternative(
        render_to_string("emails/new-message-body.html", context), "text/html"
    )
    message.send()

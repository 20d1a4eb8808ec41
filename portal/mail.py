from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def send_templated(
    name: str, context: dict, *, to: list[str], attachments: list[tuple[str, bytes, str]] = ()
) -> None:
    """Send templates/emails/<name>-subject.txt, -body.txt and -body.html as one email."""
    subject = render_to_string(f"emails/{name}-subject.txt", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=render_to_string(f"emails/{name}-body.txt", context),
        to=to,
    )
    message.attach_alternative(render_to_string(f"emails/{name}-body.html", context), "text/html")
    for filename, content, mimetype in attachments:
        message.attach(filename, content, mimetype)
    message.send()

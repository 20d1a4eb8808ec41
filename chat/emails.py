from django.conf import settings

from portal.mail import queue_email


def queue_new_message_email(*, recipient, link: str, conversation) -> None:
    """
    Says only that a message is waiting, with a link: the text stays in the portal. To the
    provider's side as to the client, it is about the client's conversation.
    """
    context = {"recipient": recipient, "link": link, "portal_name": settings.PORTAL_NAME}
    queue_email(
        "new-message",
        context,
        to=recipient.email,
        client_id=conversation.client_id,
        practice_id=conversation.provider_id,
        about=[f"chat.conversation:{conversation.pk}"],
    )

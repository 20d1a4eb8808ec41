from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    practice_staff_permissions = ["view_conversation"]

    def ready(self) -> None:
        from chat import links
        from portal import links as portal_links

        # Pages elsewhere link to "message this provider" through the kernel's seam.
        portal_links.provide("message-provider", links.message_provider_url)

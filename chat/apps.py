from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"
    practice_staff_permissions = ["view_conversation"]

    def ready(self) -> None:
        from chat import data_copy, links
        from portal import data_copy as portal_data_copy
        from portal import links as portal_links
        from portal.audit import client_page

        # Pages elsewhere link to "message this provider" through the kernel's seam.
        portal_links.provide("message-provider", links.message_provider_url)
        # How the client's "Access to your record" page calls what this app's entries name.
        client_page.name_records("chat.conversation", "your conversation", "your conversations")
        client_page.name_records("chat.message", "one of your messages", "your messages")
        portal_data_copy.provide_files("chat", data_copy.files)

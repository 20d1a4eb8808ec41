import uuid

from django.contrib import admin, messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from appointments.practice import PracticeScopedMixin, not_found, works_for_a_practice
from chat import selectors, services
from chat.forms import MessageForm
from chat.models import Conversation
from portal.audit.admin_pages import LogsClientRecords
from portal.audit.models import Action
from portal.audit.requests import record_name
from portal.forms import first_error
from portal.http import SignedInRequest


@admin.register(Conversation)
class ConversationAdmin(LogsClientRecords, PracticeScopedMixin, admin.ModelAdmin):
    """The provider's inbox: their own conversations, unread first, each with a reply box."""

    audit_client, audit_practice = "client", "provider"

    list_display = ["client", "provider", "last_message_at", "unread_count"]
    list_display_links = ["client"]
    list_select_related = ["client", "provider"]
    search_fields = ["client__name", "client__email"]
    change_form_template = "admin/chat/conversation/thread.html"

    def get_queryset(self, request):
        conversations = super().get_queryset(request)
        conversations = selectors.with_unread(conversations, request.user)
        return conversations.order_by("-unread", "-last_message_at")

    @admin.display(description="unread", ordering="unread")
    def unread_count(self, conversation):
        return conversation.unread

    def has_module_permission(self, request):
        return request.user.is_active and works_for_a_practice(request.user)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return False  # clients start conversations; providers answer them

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def reply(self, request: SignedInRequest, conversation: Conversation) -> HttpResponse:
        """The practice's answer, with the same form and service as the client's messages."""
        form = MessageForm(request.POST)
        if not form.is_valid():
            messages.error(request, first_error(form))
        else:
            try:
                services.message_send(
                    conversation=conversation,
                    sender=request.user,
                    body=form.cleaned_data["body"],
                    client_key=form.cleaned_data["client_key"],
                )
            except services.ChatError as error:
                messages.error(request, str(error))
            else:
                self.audit_object(request, Action.CHANGED, conversation, "replied")
                messages.success(request, "Reply sent.")
        return redirect(reverse("admin:chat_conversation_change", args=[conversation.pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        conversation = self.get_object(request, object_id)
        if conversation is None:
            return not_found(request, self.opts, object_id)
        if request.method == "POST":
            return self.reply(request, conversation)
        services.mark_read(conversation=conversation, user=request.user)
        page, older = selectors.message_page(conversation)
        # The thread is its own page (this view does not call the admin's change_view): the
        # conversation and each message shown, in one entry.
        client, practice = conversation.client_id, conversation.provider_id
        shown = [(client, practice, record_name(each)) for each in [conversation, *page]]
        self.audit_note(request, Action.VIEWED, shown)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Conversation with {conversation.client.get_full_name()}",
            "conversation": conversation,
            "messages_page": page,
            "older": older,
            "client_key": uuid.uuid4(),
            "original": conversation,
            "has_view_permission": True,
        }
        return TemplateResponse(request, self.change_form_template, context)

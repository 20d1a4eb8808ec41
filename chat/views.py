from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from appointments.models import Appointment
from appointments.selectors import care_team_providers
from chat import selectors, services, sql
from chat.forms import MessageForm
from portal.formatting import when
from portal.http import SignedInRequest
from portal.inputs import id_param
from portal.middleware import passive


@login_required
@require_GET
def conversation_list(request: SignedInRequest) -> HttpResponse:
    conversations = selectors.client_conversations(request.user)
    return render(request, "chat/list.html", {"conversations": conversations})


@login_required
@require_GET
def conversation_new(request: SignedInRequest) -> HttpResponse:
    """New Chat Message: pick one of the care-team providers."""
    providers = care_team_providers(request.user)
    return render(request, "chat/new.html", {"providers": providers})


def appointment_for_draft(request: SignedInRequest, provider) -> Appointment | None:
    """The client's own appointment with this provider named in ?appointment=, if any."""
    pk = id_param(request.GET, "appointment") or id_param(request.POST, "appointment")
    if pk is None:
        return None
    return Appointment.objects.filter(pk=pk, client=request.user, provider=provider).first()


def draft_for(request: SignedInRequest, appointment: Appointment | None) -> str:
    if appointment is None:
        return ""
    return f"About my appointment on {when(appointment.start, request.user.zone)}: "


def message_form(request, appointment=None, data=None) -> MessageForm:
    return MessageForm(
        data,
        draft=draft_for(request, appointment),
        appointment_id=appointment.pk if appointment else None,
    )


def send_from(request: SignedInRequest, form: MessageForm, get_conversation, appointment):
    """Validate the form, then send; a refusal becomes a message on the form (None returned)."""
    if not form.is_valid():
        return None
    try:
        return services.message_send(
            conversation=get_conversation(),
            sender=request.user,
            body=form.cleaned_data["body"],
            client_key=form.cleaned_data["client_key"],
            appointment=appointment,
        )
    except services.ChatError as error:
        form.add_error(None, str(error))
        return None


@login_required
@require_http_methods(["GET", "POST"])
def conversation_new_with(request: SignedInRequest, provider_id: int) -> HttpResponse:
    provider = get_object_or_404(care_team_providers(request.user), pk=provider_id)
    appointment = appointment_for_draft(request, provider)
    existing = selectors.conversation_for(request.user, provider)
    if existing is not None and request.method == "GET":
        url = reverse("chat:detail", args=[existing.pk])
        return redirect(f"{url}?appointment={appointment.pk}" if appointment else url)
    context: dict[str, object] = {"provider": provider, "appointment": appointment}
    if not provider.uses_chat:
        return render(
            request, "chat/no_chat.html", context, status=200 if request.method == "GET" else 403
        )
    form = message_form(request, appointment, request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        message = send_from(
            request,
            form,
            lambda: services.conversation_start(client=request.user, provider=provider),
            appointment,
        )
        if message is not None:
            return redirect("chat:detail", message.conversation_id)
        status = 400
    context["form"] = form
    return render(request, "chat/compose.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def conversation_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    before = id_param(request.GET, "before") if request.method == "GET" else None
    if request.method == "GET" and before is None:
        # The newest page, as the thread opens: one statement.
        opened = sql.opened_conversation(request.user, pk)
        conversation, page, older = opened["conversation"], opened["bubbles"], opened["older"]
    else:
        conversation = selectors.get_conversation_to_read(request.user, pk)
    appointment = appointment_for_draft(request, conversation.provider)
    if request.method == "POST":
        return post_message(request, conversation, appointment)
    if before is not None:
        page, older = selectors.thread_page(conversation, before=before)
    if request.htmx and before is not None:
        context = {"conversation": conversation, "bubbles": page, "older": older}
        return render(request, "chat/conversation.html#older", context)
    if before is None and page:
        # The page holds the newest messages: read up to the last one shown.
        services.mark_shown_read(
            conversation=conversation,
            user=request.user,
            up_to=page[-1].pk,
            marker=conversation.last_read,
        )
    return render_conversation(
        request, conversation, page, older, before, message_form(request, appointment)
    )


def render_conversation(request, conversation, page, older, before, form, status=200):
    context = {
        "conversation": conversation,
        "bubbles": page,
        "older": older,
        "before": before,
        "form": form,
        "last_id": page[-1].pk if page else 0,
    }
    return render(request, "chat/conversation.html", context, status=status)


def post_message(request: SignedInRequest, conversation, appointment) -> HttpResponse:
    """Send; with htmx answer with a fresh form and the message, else redirect (or 400)."""
    form = message_form(request, appointment, request.POST)
    message = send_from(request, form, lambda: conversation, appointment)
    if request.htmx:
        if message is None:
            context = {"conversation": conversation, "form": form}
            return render(request, "chat/conversation.html#compose", context)
        context = {
            "conversation": conversation,
            "form": message_form(request),
            "sent": selectors.bubbles([message], conversation),
            "last_id": message.pk,
        }
        return render(request, "chat/conversation.html#sent", context)
    if message is not None:
        return redirect("chat:detail", conversation.pk)
    page, older = selectors.thread_page(conversation)
    return render_conversation(request, conversation, page, older, None, form, status=400)


@passive
@login_required
@require_GET
def conversation_poll(request: SignedInRequest, pk: int) -> HttpResponse:
    """New messages after ?after=; 204 with no body when there are none (htmx leaves the page)."""
    after = id_param(request.GET, "after")
    if after is None:
        selectors.get_conversation_for_client(request.user, pk)  # a stranger's is still a 404
        return HttpResponse(
            "A message id is needed in ?after=", status=400, content_type="text/plain"
        )
    # The poll most often finds nothing: that answer is one statement.
    state = sql.poll_state(request.user, pk, after)
    shown_unread = id_param(request.GET, "unread")  # what the menus show now, if it says
    if not state.newer and shown_unread in (None, state.unread_total):
        # Nothing new here, and the menus' count of the other conversations stands.
        return HttpResponse(status=204)
    conversation = selectors.get_conversation_for_client(request.user, pk)
    page: list = []
    if state.newer:
        page, _ = selectors.thread_page(conversation, after=after)
        services.mark_read(conversation=conversation, user=request.user)
    context = {
        "conversation": conversation,
        "sent": page,
        "last_id": page[-1].pk if page else after,
    }
    return render(request, "chat/conversation.html#sent", context)

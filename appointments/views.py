from collections import defaultdict
from datetime import date, datetime

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from appointments import selectors, services
from appointments.calendar import appointment_calendar
from appointments.forms import (
    CancelForm,
    DayForm,
    InvitationAnswerForm,
    JoinForm,
    RescheduleForm,
    SlotForm,
)
from appointments.invitations import invitation_for_token
from appointments.models import Appointment, AppointmentType, Provider
from policies.decisions import Action
from policies.selectors import terms_for
from portal import links
from portal.formatting import when
from portal.models import User


def upcoming_context(request: HttpRequest) -> dict:
    """The upcoming cards, each with what its policy allows right now."""
    now = timezone.now()
    zone = request.user.zone
    upcoming = list(selectors.upcoming_appointments(request.user, now).prefetch_related("fees"))
    for appointment in upcoming:
        appointment.cancel_decision = appointment.decide(Action.CANCEL, now, zone)
        appointment.reschedule_decision = appointment.decide(Action.RESCHEDULE, now, zone)
    return {"upcoming": upcoming}


@login_required
@require_GET
def appointment_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    context = upcoming_context(request) | {
        "invitations": list(selectors.pending_invitations(request.user, now)),
        "past": list(selectors.past_appointments(request.user, now)),
        "fees": list(selectors.client_fees(request.user)),
        "can_book": selectors.care_team_providers(request.user).exists(),
    }
    return render(request, "appointments/list.html", context)


@login_required
@require_GET
def book_provider(request: HttpRequest) -> HttpResponse:
    providers = selectors.care_team_providers(request.user)
    return render(request, "appointments/book_provider.html", {"providers": providers})


@login_required
@require_GET
def book_type(request: HttpRequest, provider_id: int) -> HttpResponse:
    provider = selectors.get_provider_for_client(request.user, provider_id)
    types = selectors.bookable_types(provider)
    return render(request, "appointments/book_type.html", {"provider": provider, "types": types})


def slots_by_day(slots: list[datetime]) -> dict[date, list[datetime]]:
    """Slots grouped by the date the viewer's own clock shows."""
    days: dict[date, list[datetime]] = defaultdict(list)
    for slot in slots:
        days[timezone.localtime(slot).date()].append(slot)
    return dict(days)


DAYS_PER_PAGE = 14


def day_page(days: dict[date, list[datetime]], chosen: date | None) -> dict:
    """
    The fortnight of open days around the chosen one, and the days that lead to the pages
    before and after it: the ?day= link alone moves between pages.
    """
    ordered = list(days)
    index = ordered.index(chosen) if chosen in days else 0
    first = index - index % DAYS_PER_PAGE
    page = ordered[first : first + DAYS_PER_PAGE]
    return {
        "days": {day: days[day] for day in page},
        "earlier_day": ordered[first - 1] if first > 0 else None,
        "later_day": ordered[first + DAYS_PER_PAGE]
        if first + DAYS_PER_PAGE < len(ordered)
        else None,
    }


def render_picker(
    request: HttpRequest,
    *,
    provider: Provider,
    appointment_type: AppointmentType,
    review_url: str,
    day_param: str | None,
    moving: Appointment | None = None,
    status: int = 200,
) -> HttpResponse:
    """
    The day and time picker for a booking, or for moving `moving`; with htmx only its
    swappable region.
    """
    slots = selectors.open_slots(
        provider=provider,
        appointment_type=appointment_type,
        client=request.user,
        now=timezone.now(),
        exclude_appointment=moving,
    )
    days = slots_by_day(slots)
    chosen = next(iter(days), None)
    if day_param:
        form = DayForm({"day": day_param})
        if not form.is_valid():
            messages.error(request, form.errors["day"][0])
            status = max(status, 400)
        elif form.cleaned_data["day"] in days:
            chosen = form.cleaned_data["day"]
        else:
            messages.warning(
                request,
                f"There are no open times on {form.cleaned_data['day']:%A %-d %B}. "
                "Pick one of the days below.",
            )
    context = {
        "provider": provider,
        "appointment_type": appointment_type,
        "moving": moving,
        "review_url": review_url,
        "chosen_day": chosen,
        "times": days.get(chosen, []),
        **day_page(days, chosen),
    }
    template = "appointments/book_time.html"
    if request.htmx:
        template += "#picker"
        status = 200  # htmx 2 swaps only 2xx answers; the message says what went wrong
    return render(request, template, context, status=status)


@login_required
@require_GET
def book_time(request: HttpRequest, provider_id: int, type_id: int) -> HttpResponse:
    provider = selectors.get_provider_for_client(request.user, provider_id)
    appointment_type = selectors.get_bookable_type(provider, type_id)
    return render_picker(
        request,
        provider=provider,
        appointment_type=appointment_type,
        review_url=reverse("appointments:book-review", args=[provider.pk, appointment_type.pk]),
        day_param=request.GET.get("day"),
    )


@login_required
@require_http_methods(["GET", "POST"])
def book_review(request: HttpRequest, provider_id: int, type_id: int) -> HttpResponse:
    provider = selectors.get_provider_for_client(request.user, provider_id)
    appointment_type = selectors.get_bookable_type(provider, type_id)
    form = SlotForm(request.POST if request.method == "POST" else request.GET)

    def picker(day: str | None, status: int = 200) -> HttpResponse:
        review_url = reverse("appointments:book-review", args=[provider.pk, appointment_type.pk])
        return render_picker(
            request,
            provider=provider,
            appointment_type=appointment_type,
            review_url=review_url,
            day_param=day,
            status=status,
        )

    if not form.is_valid():
        messages.error(request, form.errors["start"][0])
        return picker(None, status=400)
    start = form.cleaned_data["start"]
    day = timezone.localtime(start).date().isoformat()
    if request.method == "GET":
        if not selectors.is_open_slot(
            provider=provider,
            appointment_type=appointment_type,
            client=request.user,
            start=start,
            now=timezone.now(),
        ):
            messages.error(request, "That time isn't available. Please pick another.")
            return picker(day)
        context = {
            "provider": provider,
            "appointment_type": appointment_type,
            "start": start,
            "policy": terms_for(provider, appointment_type),
        }
        return render(request, "appointments/book_review.html", context)
    try:
        appointment = services.appointment_book(
            client=request.user,
            provider=provider,
            appointment_type=appointment_type,
            start=start,
            booked_by=request.user,
        )
    except services.SlotUnavailable as error:
        messages.error(request, str(error))
        return picker(day, status=409)
    except services.BookingError as error:
        messages.error(request, str(error))
        return picker(day, status=403)
    messages.success(
        request,
        f"Booked: {when(appointment.start, request.user.zone)} with {provider.display_name}. "
        "A confirmation is on its way to your email.",
    )
    return redirect("appointments:list")


def contact_link(appointment: Appointment) -> str:
    return reverse("appointments:contact", args=[appointment.pk])


@login_required
@require_http_methods(["GET", "POST"])
def appointment_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = selectors.get_appointment_for_client(request.user, pk)
    decision = appointment.decide(Action.CANCEL, timezone.now(), request.user.zone)
    form = CancelForm(request.POST if request.method == "POST" else None)
    status, changed = 200, ""
    if request.method == "POST":
        if form.is_valid():
            try:
                change = services.appointment_cancel(
                    appointment=appointment,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                    expected_start=form.cleaned_data["expected_start"],
                    accepted_fee=form.cleaned_data["accepted_fee"],
                )
            except services.FeeNotAccepted as error:
                # Asked again, with the terms as they are now and what changed.
                decision, form, status, changed = error.decision, CancelForm(), 409, str(error)
            except services.ChangeError as error:
                return render_change_problem(request, appointment, str(error), error)
            else:
                return cancelled(request, change)
        else:
            status = 400
    form.initial = {
        "expected_start": appointment.start.isoformat(),
        "accepted_fee": decision.fee.token if decision.fee else "",
    }
    context = {"appointment": appointment, "decision": decision, "form": form, "changed": changed}
    return render_dialog(request, "appointments/cancel.html", context, status)


def fee_sentence(fee) -> str:
    return f" A {fee.money} {fee.get_kind_display().lower()} fee applies." if fee else ""


def cancelled(request: HttpRequest, change: services.AppointmentChange) -> HttpResponse:
    appointment = change.appointment
    text = format_html(
        'Your appointment on {} was cancelled.{} <a href="{}">Message your provider to verify</a>.',
        when(appointment.start, request.user.zone),
        fee_sentence(change.fee),
        contact_link(appointment),
    )
    if not request.htmx:
        messages.success(request, text)
        return redirect("appointments:list")
    # In place: the dialog says it is done and the card leaves the upcoming list.
    context = upcoming_context(request) | {"appointment": appointment, "text": text}
    return render(request, "appointments/cancel.html#cancelled", context)


def render_dialog(request, template: str, context: dict, status: int = 200) -> HttpResponse:
    """A page of its own without JavaScript; the contents of the pop-up with htmx."""
    if request.htmx:
        return render(request, f"{template}#dialog-content", context)
    return render(request, template, context, status=status)


def render_change_problem(request, appointment, text: str, error=None) -> HttpResponse:
    """A refusal or a stale page: say why, change nothing, offer a way to the provider."""
    status = 409 if isinstance(error, services.StaleAppointment | services.SlotUnavailable) else 403
    appointment.refresh_from_db()
    context = {"appointment": appointment, "problem": text}
    return render_dialog(request, "appointments/problem.html", context, status)


@login_required
@require_GET
def appointment_reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = selectors.get_appointment_for_client(request.user, pk)
    decision = appointment.decide(Action.RESCHEDULE, timezone.now(), request.user.zone)
    if decision.refused:
        return render_change_problem(request, appointment, decision.reason)
    appointment.reschedule_decision = decision
    return render_picker(
        request,
        provider=appointment.provider,
        appointment_type=appointment.appointment_type,
        review_url=reverse("appointments:reschedule-review", args=[appointment.pk]),
        day_param=request.GET.get("day"),
        moving=appointment,
    )


@login_required
@require_http_methods(["GET", "POST"])
def appointment_reschedule_review(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = selectors.get_appointment_for_client(request.user, pk)
    data = request.POST if request.method == "POST" else request.GET
    form = RescheduleForm(data) if request.method == "POST" else SlotForm(data)

    def picker(day, status=200):
        appointment.reschedule_decision = appointment.decide(
            Action.RESCHEDULE, timezone.now(), request.user.zone
        )
        return render_picker(
            request,
            provider=appointment.provider,
            appointment_type=appointment.appointment_type,
            review_url=reverse("appointments:reschedule-review", args=[appointment.pk]),
            day_param=day,
            moving=appointment,
            status=status,
        )

    if not form.is_valid():
        first_error = next(iter(form.errors.values()))[0]
        messages.error(request, first_error)
        return picker(None, status=400)
    new_start = form.cleaned_data["start"]
    day = timezone.localtime(new_start).date().isoformat()
    decision = appointment.decide(Action.RESCHEDULE, timezone.now(), request.user.zone)
    appointment.reschedule_decision = decision
    if request.method == "GET":
        if decision.refused:
            return render_change_problem(request, appointment, decision.reason)
        if not selectors.is_open_slot(
            provider=appointment.provider,
            appointment_type=appointment.appointment_type,
            client=request.user,
            start=new_start,
            now=timezone.now(),
            exclude_appointment=appointment,
        ):
            messages.error(request, "That time isn't available. Please pick another.")
            return picker(day)
        context = {"appointment": appointment, "new_start": new_start, "decision": decision}
        return render(request, "appointments/reschedule_review.html", context)
    try:
        change = services.appointment_reschedule(
            appointment=appointment,
            actor=request.user,
            new_start=new_start,
            expected_start=form.cleaned_data["expected_start"],
            accepted_fee=form.cleaned_data["accepted_fee"],
        )
    except services.SlotUnavailable as error:
        messages.error(request, str(error))
        return picker(day, status=409)
    except services.FeeNotAccepted as error:
        # Asked again, with the terms as they are now and what changed.
        appointment.reschedule_decision = error.decision
        context = {
            "appointment": appointment,
            "new_start": new_start,
            "decision": error.decision,
            "changed": str(error),
        }
        return render(request, "appointments/reschedule_review.html", context, status=409)
    except services.ChangeError as error:
        return render_change_problem(request, appointment, str(error), error)
    messages.success(
        request,
        f"Rescheduled: your appointment with {appointment.provider.display_name} is now "
        f"{when(new_start, request.user.zone)}.{fee_sentence(change.fee)}",
    )
    return redirect("appointments:list")


@login_required
@require_GET
def appointment_contact(request: HttpRequest, pk: int) -> HttpResponse:
    """How to reach the provider about this appointment: Chat if they use it, else the office."""
    appointment = selectors.get_appointment_for_client(request.user, pk)
    if appointment.provider.uses_chat:
        url = links.link(
            "message-provider", provider_id=appointment.provider_id, appointment_id=appointment.pk
        )
        if url:
            return redirect(url)
    return render(request, "appointments/contact.html", {"appointment": appointment})


@login_required
@require_GET
def appointment_ics(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = selectors.get_appointment_for_client(request.user, pk)
    response = HttpResponse(appointment_calendar(appointment), content_type="text/calendar")
    response["Content-Disposition"] = f'attachment; filename="appointment-{appointment.pk}.ics"'
    return response


@require_http_methods(["GET", "POST"])
def invitation_open(request: HttpRequest, token: str) -> HttpResponse:
    """
    A care-team invitation's link. An address without an account makes one here, which
    accepts; an existing account signs in and answers on its Appointments tab.
    """
    invitation = invitation_for_token(token)
    if invitation is None or not invitation.is_open(timezone.now()):
        return render(request, "appointments/invitation.html", {"form": None}, status=410)
    account = User.objects.filter(email=invitation.email).first()
    if request.user.is_authenticated and request.user != account:
        raise Http404("This invitation is for another address.")
    if account is not None:
        if not request.user.is_authenticated:
            messages.info(request, f"Sign in as {invitation.email} to answer the invitation.")
            return redirect_to_login(request.get_full_path())
        return redirect("appointments:list")  # the invitation waits there as a card
    newcomer = User(email=invitation.email, name=invitation.name)
    form = JoinForm(newcomer, request.POST if request.method == "POST" else None)
    form.initial["name"] = invitation.name
    if request.method == "POST" and form.is_valid():
        try:
            user = services.client_account_create(
                invitation=invitation,
                name=form.cleaned_data["name"],
                password=form.cleaned_data["new_password1"],
            )
        except services.ChangeError as error:
            messages.error(request, str(error))
            return redirect_to_login(request.get_full_path())
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, joined_text(invitation.provider))
        return redirect("appointments:list")
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "invitation": invitation}
    return render(request, "appointments/invitation.html", context, status=status)


def joined_text(provider: Provider) -> str:
    reach = " and message their office" if provider.uses_chat else ""
    return f"You're now on {provider.display_name}'s care team: you can book with them{reach}."


@login_required
@require_POST
def invitation_answer(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = selectors.get_invitation_for_client(request.user, pk, timezone.now())
    form = InvitationAnswerForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose Accept or Decline.")
        return redirect("appointments:list")
    try:
        if form.cleaned_data["answer"] == "accept":
            services.care_team_invitation_accept(invitation=invitation, user=request.user)
            messages.success(request, joined_text(invitation.provider))
        else:
            services.care_team_invitation_decline(invitation=invitation, user=request.user)
            messages.success(
                request, f"You declined {invitation.provider.display_name}'s invitation."
            )
    except services.ChangeError as error:
        messages.error(request, str(error))
    return redirect("appointments:list")

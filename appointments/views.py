from dataclasses import replace
from datetime import datetime
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from appointments import selectors, services, sql, waitlist
from appointments.calendar import appointment_calendar, series_calendar
from appointments.forms import (
    BookForm,
    CancelForm,
    InvitationAnswerForm,
    JoinForm,
    RescheduleForm,
    SlotForm,
)
from appointments.invitations import invitation_for_token
from appointments.models import (
    Appointment,
    AppointmentType,
    CareTeamInvitation,
    Fee,
    Provider,
    WaitlistOffer,
)
from appointments.picker import Picker, chosen_day, day_page, slots_by_day
from policies.decisions import Action, Decision, Outcome
from policies.terms import PolicyTerms
from portal import links
from portal.formatting import when
from portal.forms import first_error
from portal.http import HtmxRequest, SignedInRequest
from portal.keyset import Keyset
from portal.models import User

# The overview shows the first few of each list, the same page for 20 appointments or 2,000;
# each list has a page of its own for the rest.
UPCOMING_SHOWN = 5
PAST_SHOWN = 3
CANCELLED_SHOWN = 3
PER_PAGE = 20
NO_WAITLIST: dict = {"entries": (), "offers": ()}


def upcoming_context(request: SignedInRequest, params: QueryDict | None = None) -> dict:
    """
    The upcoming section, each card with what its policy allows right now: the overview's
    first few, or with `params` (a page link's) one page of all of them.
    """
    now = timezone.now()
    if params is None:
        return overview_upcoming(request, overview_lists(request.user, now), now)
    appointments = selectors.upcoming_appointments(request.user, now)

    def first_page() -> tuple[list, bool]:
        # The page most opened, read by the overview's statement (the same rule): at 1,000,000
        # appointments 0.6 ms against the ORM's 2 ms, which put this page below its goal.
        lists = sql.overview_lists(request.user, now, upcoming=PER_PAGE, past=0, cancelled=0)
        return lists.upcoming, lists.more_upcoming

    def last_page() -> tuple[list, bool]:
        return sql.upcoming_last(request.user, now, PER_PAGE)

    page = Keyset(appointments, "start", PER_PAGE, first=first_page, last=last_page).page(params)
    return {
        "upcoming": selectors.upcoming_cards(page.object_list, request.user.zone, now),
        "upcoming_more": False,
        "upcoming_page": page,
    }


def overview_lists(client: User, now: datetime) -> sql.OverviewLists:
    return sql.overview_lists(
        client, now, upcoming=UPCOMING_SHOWN, past=PAST_SHOWN, cancelled=CANCELLED_SHOWN
    )


def overview_upcoming(request: SignedInRequest, lists: sql.OverviewLists, now: datetime) -> dict:
    return {
        "upcoming": selectors.upcoming_cards(lists.upcoming, request.user.zone, now),
        "upcoming_more": lists.more_upcoming,
        "upcoming_page": None,
    }


def upcoming_in_place(request: SignedInRequest) -> dict:
    """After a change in the pop-up, the upcoming section of the page it was opened from."""
    opened_from = urlsplit(request.htmx.current_url_abs_path or "")
    if opened_from.path == reverse("appointments:upcoming"):
        return upcoming_context(request, QueryDict(opened_from.query))
    return upcoming_context(request)


@login_required
@require_GET
def appointment_list(request: SignedInRequest) -> HttpResponse:
    """The overview: invitations, the next few appointments, the last few past, fees in sum."""
    client, now, zone = request.user, timezone.now(), request.user.zone
    facts = sql.overview_facts(client, now)
    lists = overview_lists(client, now)
    context = (
        overview_upcoming(request, lists, now)
        | {
            "invitations": (
                list(selectors.pending_invitations(client, now)) if facts.invitations else []
            ),
            "past": selectors.past_cards(lists.past, zone),
            "more_past": lists.more_past,
            "cancelled": selectors.past_cards(lists.cancelled, zone),
            "more_cancelled": lists.more_cancelled,
            "fee_totals": selectors.fee_totals(client) if facts.fees else [],
            "can_book": facts.can_book,
        }
        | (
            waitlist.client_waitlist(client, now, sql.client_waitlist(client, now))
            if facts.waitlist
            else NO_WAITLIST
        )
    )
    return render(request, "appointments/list.html", context)


@login_required
@require_GET
def upcoming_list(request: SignedInRequest) -> HttpResponse:
    """Every upcoming appointment, a page at a time, each card with its menu."""
    context = upcoming_context(request, request.GET)
    return render(request, "appointments/upcoming.html", context)


@login_required
@require_GET
def appointment_archive(request: SignedInRequest, which: str) -> HttpResponse:
    """Every past or every cancelled appointment, newest first, a page at a time."""
    if which == "past":
        title, appointments = (
            "Past appointments",
            selectors.past_appointments(request.user, timezone.now()),
        )
    else:
        title, appointments = (
            "Cancelled appointments",
            selectors.cancelled_appointments(request.user),
        )
    page = Keyset(appointments, "-start", PER_PAGE).page(request.GET)
    context = {
        "title": title,
        "page": page,
        "cards": selectors.past_cards(page.object_list, request.user.zone),
    }
    return render(request, "appointments/archive.html", context)


@login_required
@require_GET
def fee_list(request: SignedInRequest) -> HttpResponse:
    """Every fee the client's providers applied, newest first, and what is pending in sum."""
    page = Keyset(selectors.client_fees(request.user), "-created_at", PER_PAGE).page(request.GET)
    context = {"page": page, "fee_totals": selectors.fee_totals(request.user)}
    return render(request, "appointments/fees.html", context)


@login_required
@require_GET
def book_provider(request: SignedInRequest) -> HttpResponse:
    providers = selectors.care_team_providers(request.user)
    return render(request, "appointments/book_provider.html", {"providers": providers})


@login_required
@require_GET
def book_type(request: SignedInRequest, provider_id: int) -> HttpResponse:
    provider = selectors.get_provider_for_client(request.user, provider_id)
    context = {
        "provider": provider,
        "types": selectors.bookable_types(provider),
        "message_url": provider.uses_chat
        and links.link("message-provider", provider_id=provider.pk),
    }
    return render(request, "appointments/book_type.html", context)


def render_picker(
    request: SignedInRequest, picker: Picker, day_param: str | None, status: int = 200
) -> HttpResponse:
    """The day and time picker; with htmx only its swappable region."""
    slots = selectors.open_slots(
        provider=picker.provider,
        appointment_type=picker.appointment_type,
        client=request.user,
        now=timezone.now(),
        exclude_appointment=picker.moving,
    )
    if picker.moving is not None:
        # Its own time is free for the times around it, but it is no new time to pick.
        slots = [start for start in slots if start != picker.moving.start]
    days = slots_by_day(slots)
    chosen, day_status = chosen_day(request, day_param, days)
    context = {
        "picker": picker,
        "provider": picker.provider,
        "appointment_type": picker.appointment_type,
        "moving": picker.moving,
        "chosen_day": chosen,
        **day_page(days, chosen, picker.review_url),
    }
    if request.htmx:
        # htmx 2 swaps only 2xx answers; the message says what went wrong.
        return render(request, "appointments/book_time.html#picker", context)
    return render(request, "appointments/book_time.html", context, status=max(status, day_status))


def booking_picker(provider: Provider, appointment_type: AppointmentType) -> Picker:
    # A type clients may book as a series is reviewed where the client can choose to repeat it.
    name = "book-repeat" if appointment_type.clients_may_repeat else "book-review"
    review_url = reverse(f"appointments:{name}", args=[provider.pk, appointment_type.pk])
    return Picker(provider, appointment_type, review_url)


@login_required
@require_GET
def book_time(request: SignedInRequest, provider_id: int, type_id: int) -> HttpResponse:
    kind = sql.bookable_type(request.user, provider_id, type_id)
    return render_picker(request, booking_picker(kind.provider, kind), request.GET.get("day"))


@login_required
@never_cache  # a confirmation: Back after the change must ask the server again
@require_http_methods(["GET", "POST"])
def book_review(request: SignedInRequest, provider_id: int, type_id: int) -> HttpResponse:
    """GET: the booking to review; POST: confirm it."""
    kind = sql.bookable_type(request.user, provider_id, type_id)
    picker = booking_picker(kind.provider, kind)
    form = BookForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return render_picker(request, picker, None, status=400)
    if request.method == "POST":
        return confirm_booking(
            request, picker, form.cleaned_data["start"], form.cleaned_data["expected_terms"]
        )
    return review_booking(request, picker, form.cleaned_data["start"])


def day_of(start: datetime) -> str:
    return timezone.localtime(start).date().isoformat()


def is_open(request: SignedInRequest, picker: Picker, start: datetime) -> bool:
    return selectors.is_open_slot(
        provider=picker.provider,
        appointment_type=picker.appointment_type,
        client=request.user,
        start=start,
        now=timezone.now(),
        exclude_appointment=picker.moving,
    )


def review_booking(request: SignedInRequest, picker: Picker, start: datetime) -> HttpResponse:
    if not is_open(request, picker, start):
        messages.error(request, "That time isn't available. Please pick another.")
        return render_picker(request, picker, day_of(start))
    terms = selectors.terms_in_force(picker.provider, picker.appointment_type)
    return render_booking_review(
        request,
        provider=picker.provider,
        appointment_type=picker.appointment_type,
        start=start,
        terms=terms,
    )


def render_booking_review(
    request: HtmxRequest,
    *,
    provider: Provider,
    appointment_type: AppointmentType,
    start: datetime,
    terms: PolicyTerms,
    offer: WaitlistOffer | None = None,
    changed: str = "",
) -> HttpResponse:
    """
    The booking to review, with the policy it will be made under; its form carries that
    policy back. `changed` says the terms are not the ones shown before (a 409).
    """
    context = booking_review_context(provider, appointment_type, start, terms, offer, changed)
    if request.htmx and changed:
        # htmx 2 swaps only 2xx answers; the alert says what changed.
        return render(request, "appointments/book_review.html#review", context)
    status = 409 if changed else 200
    return render(request, "appointments/book_review.html", context, status=status)


def booking_review_context(
    provider: Provider,
    appointment_type: AppointmentType,
    start: datetime,
    terms: PolicyTerms,
    offer: WaitlistOffer | None = None,
    changed: str = "",
) -> dict:
    return {
        "provider": provider,
        "appointment_type": appointment_type,
        "start": start,
        "end": start + appointment_type.duration,
        "policy": terms,
        "offer": offer,
        "changed": changed,
    }


def confirm_booking(
    request: SignedInRequest, picker: Picker, start: datetime, expected_terms: str
) -> HttpResponse:
    try:
        appointment = services.appointment_book(
            client=request.user,
            provider=picker.provider,
            appointment_type=picker.appointment_type,
            start=start,
            booked_by=request.user,
            expected_terms=expected_terms,
        )
    except services.TermsChanged as error:
        # Asked again, with the policy as it is now and what changed.
        return render_booking_review(
            request,
            provider=picker.provider,
            appointment_type=picker.appointment_type,
            start=start,
            terms=error.terms,
            changed=str(error),
        )
    except services.BookingError as error:
        messages.error(request, str(error))
        status = 409 if isinstance(error, services.SlotUnavailable) else 403
        return render_picker(request, picker, day_of(start), status=status)
    messages.success(
        request,
        f"Booked: {when(appointment.start, request.user.zone)} with "
        f"{picker.provider.display_name}. A confirmation is on its way to your email.",
    )
    return redirect("appointments:list")


def contact_link(appointment: Appointment) -> str:
    return reverse("appointments:contact", args=[appointment.pk])


@login_required
@never_cache  # a confirmation: Back after the change must ask the server again
@require_http_methods(["GET", "POST"])
def appointment_cancel(request: SignedInRequest, pk: int) -> HttpResponse:
    """GET: the confirm pop-up (a page without JavaScript); POST: cancel."""
    appointment = selectors.get_appointment_for_client(request.user, pk)
    if request.method == "POST":
        return confirm_cancel(request, appointment)
    return render_cancel(request, appointment, CancelForm())


def render_cancel(
    request: SignedInRequest,
    appointment: Appointment,
    form: CancelForm,
    *,
    decision: Decision | None = None,
    changed: str = "",
    status: int = 200,
) -> HttpResponse:
    """The pop-up with the terms as they are now; it carries back the fee it shows."""
    decision = decision or appointment.decide(Action.CANCEL, timezone.now(), request.user.zone)
    if decision.outcome == Outcome.INACTIVE:
        return render_refusal(request, appointment, decision)
    form.initial = {
        "expected_start": appointment.start.isoformat(),
        "accepted_fee": decision.fee.token if decision.fee else "",
    }
    context = {"appointment": appointment, "decision": decision, "form": form, "changed": changed}
    return render_dialog(request, "appointments/cancel.html", context, status)


def confirm_cancel(request: SignedInRequest, appointment: Appointment) -> HttpResponse:
    form = CancelForm(request.POST)
    if not form.is_valid():
        return render_cancel(request, appointment, form, status=400)
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
        return render_cancel(
            request,
            appointment,
            CancelForm(),
            decision=error.decision,
            changed=str(error),
            status=409,
        )
    except services.ChangeError as error:
        return render_change_problem(request, appointment, str(error), error)
    return cancelled(request, change)


def fee_sentence(fee: Fee | None) -> str:
    return f" A {fee.money} {fee.get_kind_display().lower()} fee applies." if fee else ""


def verify_link(appointment: Appointment) -> SafeString:
    """The way to ask the provider whether a change went through: Chat, or the office."""
    reach = "Message your provider" if appointment.provider.uses_chat else "Contact the office"
    return format_html('<a href="{}">{} to verify</a>', contact_link(appointment), reach)


def cancelled(request: SignedInRequest, change: services.AppointmentChange) -> HttpResponse:
    appointment = change.appointment
    text = format_html(
        "Your appointment on {} was cancelled.{} {}.",
        when(appointment.start, request.user.zone),
        fee_sentence(change.fee),
        verify_link(appointment),
    )
    return changed_in_place(request, appointment, text)


def changed_in_place(
    request: SignedInRequest, appointment: Appointment, text: str, title: str = ""
) -> HttpResponse:
    """
    Done: without JavaScript the list with `text` on top; in place, the dialog says it (its
    heading `title`) and the cards that left leave the upcoming list.
    """
    if not request.htmx:
        messages.success(request, text)
        return redirect("appointments:list")
    context = upcoming_in_place(request) | {"appointment": appointment, "text": text}
    return render(request, "appointments/cancel.html#cancelled", context | {"title": title})


def render_dialog(
    request: HtmxRequest, template: str, context: dict, status: int = 200
) -> HttpResponse:
    """A page of its own without JavaScript; the contents of the pop-up with htmx."""
    if request.htmx:
        return render(request, f"{template}#dialog-content", context)
    return render(request, template, context, status=status)


def render_change_problem(
    request: HtmxRequest, appointment: Appointment, text: str, error: Exception | None = None
) -> HttpResponse:
    """A refusal or a stale page: say why, change nothing, offer a way to the provider."""
    status = 409 if isinstance(error, services.StaleAppointment | services.SlotUnavailable) else 403
    appointment.refresh_from_db()
    context = {"appointment": appointment, "problem": text}
    return render_dialog(request, "appointments/problem.html", context, status)


def render_refusal(
    request: HtmxRequest, appointment: Appointment, decision: Decision
) -> HttpResponse:
    """
    Why this change can't be made: an appointment no longer scheduled says what it is now
    (a page opened again after the change, by Back or in another tab); else the policy's reason.
    """
    if decision.outcome == Outcome.INACTIVE:
        status = appointment.get_status_display().lower()
        stale = services.StaleAppointment(
            f"It is {status}: there is nothing to cancel or reschedule."
        )
        return render_change_problem(request, appointment, str(stale), stale)
    return render_change_problem(request, appointment, decision.sentence)


def reschedule_picker(request: SignedInRequest, appointment: Appointment) -> Picker:
    rule = appointment.decide(Action.RESCHEDULE, timezone.now(), request.user.zone)
    review_url = reverse("appointments:reschedule-review", args=[appointment.pk])
    return Picker(appointment.provider, appointment.appointment_type, review_url, appointment, rule)


@login_required
@never_cache  # a confirmation: Back after the change must ask the server again
@require_GET
def appointment_reschedule(request: SignedInRequest, pk: int) -> HttpResponse:
    appointment = selectors.get_appointment_for_client(request.user, pk)
    picker = reschedule_picker(request, appointment)
    assert picker.rule is not None
    if picker.rule.refused:
        return render_refusal(request, appointment, picker.rule)
    return render_picker(request, picker, request.GET.get("day"))


@login_required
@never_cache  # a confirmation: Back after the change must ask the server again
@require_http_methods(["GET", "POST"])
def appointment_reschedule_review(request: SignedInRequest, pk: int) -> HttpResponse:
    """GET: the move to review, old time and new; POST: confirm it."""
    appointment = selectors.get_appointment_for_client(request.user, pk)
    picker = reschedule_picker(request, appointment)
    posted = request.method == "POST"
    form = (RescheduleForm if posted else SlotForm)(request.POST if posted else request.GET)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return render_picker(request, picker, None, status=400)
    if posted:
        return confirm_move(request, picker, form.cleaned_data)
    return review_move(request, picker, form.cleaned_data["start"])


def render_move_review(
    request: SignedInRequest, picker: Picker, new_start: datetime, changed: str = ""
) -> HttpResponse:
    assert picker.moving is not None
    context = {
        "appointment": picker.moving,
        "new_start": new_start,
        "new_end": new_start + picker.moving.duration,
        "decision": picker.rule,
        "changed": changed,
    }
    status = 409 if changed else 200
    return render(request, "appointments/reschedule_review.html", context, status=status)


def review_move(request: SignedInRequest, picker: Picker, new_start: datetime) -> HttpResponse:
    assert picker.moving is not None and picker.rule is not None
    if picker.rule.refused:
        return render_refusal(request, picker.moving, picker.rule)
    if new_start == picker.moving.start:
        # Free to the slot engine (it is this appointment's), but no move: the picker again.
        messages.error(request, services.ALREADY_ITS_TIME)
        return render_picker(request, picker, day_of(new_start), status=409)
    if not is_open(request, picker, new_start):
        messages.error(request, "That time isn't available. Please pick another.")
        return render_picker(request, picker, day_of(new_start))
    return render_move_review(request, picker, new_start)


def confirm_move(request: SignedInRequest, picker: Picker, data: dict) -> HttpResponse:
    assert picker.moving is not None
    try:
        change = services.appointment_reschedule(
            appointment=picker.moving,
            actor=request.user,
            new_start=data["start"],
            expected_start=data["expected_start"],
            accepted_fee=data["accepted_fee"],
        )
    except services.SlotUnavailable as error:
        messages.error(request, str(error))
        return render_picker(request, picker, day_of(data["start"]), status=409)
    except services.FeeNotAccepted as error:
        # Asked again, with the terms as they are now and what changed.
        again = replace(picker, rule=error.decision)
        return render_move_review(request, again, data["start"], changed=str(error))
    except services.ChangeError as error:
        return render_change_problem(request, picker.moving, str(error), error)
    messages.success(
        request,
        f"Rescheduled: your appointment with {picker.provider.display_name} is now "
        f"{when(data['start'], request.user.zone)}.{fee_sentence(change.fee)}",
    )
    return redirect("appointments:list")


@login_required
@require_GET
def appointment_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    """One appointment and its story: booked, moved, cancelled, fees, in the client's zone."""
    appointment = selectors.get_appointment_for_client(request.user, pk)
    context = {
        "appointment": appointment,
        "story": selectors.appointment_story(appointment, request.user),
        "fees": list(appointment.fees.all()),
    }
    return render(request, "appointments/detail.html", context)


@login_required
@require_GET
def appointment_contact(request: SignedInRequest, pk: int) -> HttpResponse:
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
def appointment_ics(request: SignedInRequest, pk: int) -> HttpResponse:
    appointment = selectors.get_appointment_for_client(request.user, pk)
    return _calendar_file(appointment_calendar(appointment), f"appointment-{appointment.pk}.ics")


@login_required
@require_GET
def series_ics(request: SignedInRequest, pk: int) -> HttpResponse:
    series = selectors.get_series_for_client(request.user, pk)
    return _calendar_file(series_calendar(series), f"series-{series.pk}.ics")


def _calendar_file(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="text/calendar")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_http_methods(["GET", "POST"])
def invitation_open(request: HtmxRequest, token: str) -> HttpResponse:
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
    return join(request, invitation)


def join(request: HtmxRequest, invitation: CareTeamInvitation) -> HttpResponse:
    """An address with no account: the person makes one here, which accepts the invitation."""
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
def invitation_answer(request: SignedInRequest, pk: int) -> HttpResponse:
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

"""The client's waitlist pages: join or edit, leave, and an offer to review and take."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from appointments import selectors, services, sql, views, waitlist
from appointments.forms import ClaimForm, WaitlistForm
from appointments.models import Appointment, AppointmentType, Provider, WaitlistOffer
from policies.decisions import Action
from policies.terms import PolicyTerms
from portal.formatting import when
from portal.http import SignedInRequest

TOOK_IT_FIRST = (
    "Someone else took this time first. You're still on the waitlist; here are the open times now."
)


def render_form(
    request: SignedInRequest,
    form: WaitlistForm,
    *,
    provider: Provider,
    appointment_type: AppointmentType,
    action: str,
    entry=None,
    moving: Appointment | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "form": form,
        "provider": provider,
        "appointment_type": appointment_type,
        "action": action,
        "entry": entry,
        "moving": moving,
    }
    return render(request, "appointments/waitlist_form.html", context, status=status)


def save_entry(
    request: SignedInRequest,
    *,
    provider: Provider,
    appointment_type: AppointmentType,
    action: str,
    entry=None,
    moving: Appointment | None = None,
) -> HttpResponse:
    """GET: the form (as the entry stands, if there is one); POST: join or change it."""
    entry = entry or waitlist.active_entry(request.user, provider, appointment_type)
    if request.method == "GET":
        initial = WaitlistForm.initial_for(entry) if entry else None
        form = WaitlistForm(initial=initial, move_up=moving is not None)
        return render_form(
            request, form, provider=provider, appointment_type=appointment_type,
            action=action, entry=entry, moving=moving,
        )  # fmt: skip
    form = WaitlistForm(request.POST, move_up=moving is not None)
    problem = None
    if form.is_valid():
        try:
            waitlist.entry_save(
                client=request.user,
                provider=provider,
                appointment_type=appointment_type,
                weekdays=form.cleaned_data["weekdays"],
                parts=form.cleaned_data["parts"],
                not_after=form.cleaned_data["not_after"],
                move_up=moving,
                actor=request.user,
            )
        except waitlist.WaitlistError as error:
            problem = str(error)
        else:
            messages.success(
                request,
                f"You're on {provider.display_name}'s waitlist"
                if entry is None
                else f"Your place on {provider.display_name}'s waitlist is updated",
            )
            return redirect(reverse("appointments:list") + "#waitlist")
    if problem:
        form.add_error(None, problem)
    return render_form(
        request, form, provider=provider, appointment_type=appointment_type,
        action=action, entry=entry, moving=moving, status=400,
    )  # fmt: skip


@login_required
@require_http_methods(["GET", "POST"])
def waitlist_join(request: SignedInRequest, provider_id: int, type_id: int) -> HttpResponse:
    kind = sql.bookable_type(request.user, provider_id, type_id)
    provider = kind.provider
    if not waitlist.waitlist_open_for(provider, kind):
        messages.error(request, f"{provider.display_name} doesn't keep a waitlist for this.")
        return redirect("appointments:book-time", provider.pk, kind.pk)
    action = reverse("appointments:waitlist-join", args=[provider.pk, kind.pk])
    return save_entry(request, provider=provider, appointment_type=kind, action=action)


@login_required
@require_http_methods(["GET", "POST"])
def waitlist_move_up(request: SignedInRequest, pk: int) -> HttpResponse:
    """ "Tell me if an earlier time opens" for an upcoming appointment."""
    appointment = selectors.get_appointment_for_client(request.user, pk)
    rule = appointment.decide(Action.RESCHEDULE, timezone.now(), request.user.zone)
    if rule.refused:
        return views.render_refusal(request, appointment, rule)
    provider, kind = appointment.provider, appointment.appointment_type
    if not waitlist.waitlist_open_for(provider, kind):
        messages.error(request, f"{provider.display_name} doesn't keep a waitlist for this.")
        return redirect("appointments:list")
    action = reverse("appointments:waitlist-move-up", args=[appointment.pk])
    return save_entry(
        request, provider=provider, appointment_type=kind, action=action, moving=appointment
    )


@login_required
@require_http_methods(["GET", "POST"])
def waitlist_entry(request: SignedInRequest, pk: int) -> HttpResponse:
    entry = waitlist.get_entry_for_client(request.user, pk)
    action = reverse("appointments:waitlist-entry", args=[entry.pk])
    return save_entry(
        request,
        provider=entry.provider,
        appointment_type=entry.appointment_type,
        action=action,
        entry=entry,
        moving=entry.move_up,
    )


@login_required
@require_POST
def waitlist_leave(request: SignedInRequest, pk: int) -> HttpResponse:
    """Leave; with htmx the waitlist section is swapped in place and focus goes to its heading."""
    entry = waitlist.get_entry_for_client(request.user, pk)
    waitlist.entry_leave(entry=entry, actor=request.user)
    text = f"You left {entry.provider.display_name}'s waitlist."
    if request.htmx:
        context = waitlist.client_waitlist(request.user, timezone.now()) | {"left": text}
        return render(request, "appointments/list.html#waitlist", context)
    messages.success(request, text)
    return redirect("appointments:list")


def offer_picker(request: SignedInRequest, offer: WaitlistOffer):
    entry = offer.entry
    if entry.move_up is not None:
        return views.reschedule_picker(request, entry.move_up)
    return views.booking_picker(entry.provider, entry.appointment_type)


def render_ended(request: SignedInRequest, offer: WaitlistOffer, text: str) -> HttpResponse:
    entry = offer.entry
    if entry.move_up is not None:
        fresh = reverse("appointments:reschedule", args=[entry.move_up.pk])
    else:
        fresh = reverse(
            "appointments:book-time", args=[entry.provider_id, entry.appointment_type_id]
        )
    context = {"offer": offer, "text": text, "fresh": fresh, "entry": entry}
    return render(request, "appointments/waitlist_offer_ended.html", context, status=410)


@login_required
@never_cache  # a review: Back after taking it must ask the server again
@require_http_methods(["GET", "POST"])
def waitlist_offer(request: SignedInRequest, token: str) -> HttpResponse:
    """GET: the ordinary review page for the offered time; POST: take it."""
    offer = waitlist.get_offer_for_client(request.user, token)
    if request.method == "POST":
        # The booking service is the referee: a time taken since the review was opened is
        # "someone took it first", with fresh times.
        return claim(request, offer)
    try:
        waitlist.offer_check(offer, timezone.now())
    except waitlist.OfferTaken:
        return taken_first(request, offer)
    except waitlist.OfferEnded as error:
        return render_ended(request, offer, str(error))
    return review(request, offer)


def taken_first(request: SignedInRequest, offer: WaitlistOffer) -> HttpResponse:
    """Someone was faster: say so, and the open times now, with the entry still active."""
    messages.error(request, TOOK_IT_FIRST)
    picker = offer_picker(request, offer)
    return views.render_picker(request, picker, views.day_of(offer.start), status=409)


def review(
    request: SignedInRequest,
    offer: WaitlistOffer,
    changed: str = "",
    terms: PolicyTerms | None = None,
) -> HttpResponse:
    entry = offer.entry
    if entry.move_up is not None:
        picker = views.reschedule_picker(request, entry.move_up)
        context = {
            "appointment": entry.move_up,
            "new_start": offer.start,
            "new_end": offer.start + entry.move_up.duration,
            "decision": picker.rule,
            "changed": changed,
            "offer": offer,
        }
        status = 409 if changed else 200
        return render(request, "appointments/reschedule_review.html", context, status=status)
    return views.render_booking_review(
        request,
        provider=entry.provider,
        appointment_type=entry.appointment_type,
        start=offer.start,
        terms=terms or selectors.terms_in_force(entry.provider, entry.appointment_type),
        offer=offer,
        changed=changed,
    )


def claim(request: SignedInRequest, offer: WaitlistOffer) -> HttpResponse:
    form = ClaimForm(request.POST)
    form.is_valid()  # an unreadable fee is no fee accepted: the service then asks again
    try:
        change = waitlist.offer_claim(
            offer=offer,
            actor=request.user,
            accepted_fee=form.cleaned_data.get("accepted_fee"),
            expected_terms=form.cleaned_data.get("expected_terms", ""),
        )
    except services.ScheduleBusy as error:
        messages.error(request, str(error))
        return review(request, offer)
    except (services.SlotUnavailable, waitlist.OfferTaken):
        return taken_first(request, offer)
    except waitlist.OfferEnded as error:
        return render_ended(request, offer, str(error))
    except services.FeeNotAccepted as error:
        return review(request, offer, changed=str(error))
    except services.TermsChanged as error:
        return review(request, offer, changed=str(error), terms=error.terms)
    except (services.ChangeError, services.BookingError) as error:
        messages.error(request, str(error))
        return redirect("appointments:list")
    verb = "Moved to" if offer.entry.move_up_id else "Booked:"
    messages.success(
        request,
        f"{verb} {when(change.appointment.start, request.user.zone)} with "
        f"{offer.entry.provider.display_name}. A confirmation is on its way to your email.",
    )
    if request.htmx:
        return HttpResponseClientRedirect(reverse("appointments:list"))
    return redirect("appointments:list")


@login_required
@require_POST
def waitlist_decline(request: SignedInRequest, token: str) -> HttpResponse:
    """Not this time: the entry stays on the waitlist."""
    offer = waitlist.get_offer_for_client(request.user, token)
    if waitlist.offer_decline(offer=offer, actor=request.user):
        messages.success(request, "Offer declined. You're still on the waitlist.")
    else:
        messages.info(request, "This offer had already ended. You're still on the waitlist.")
    return redirect(reverse("appointments:list"))

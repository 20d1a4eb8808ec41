"""
The client's side of a recurring series: choosing to repeat a booking on its review page (the
dates listed, and those that clash, before anything is saved), the series' own page, and
cancelling a session with every one after it.
"""

from datetime import datetime
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from appointments import selectors, series, services, sql, views
from appointments.forms import BookForm, FollowingForm, RepeatForm
from appointments.models import Appointment
from appointments.picker import Picker
from policies.decisions import Action, Outcome
from policies.terms import Money, PolicyTerms
from portal.formatting import DAY, format_date, when
from portal.forms import first_error
from portal.http import SignedInRequest


@login_required
@never_cache  # a confirmation: Back after the booking must ask the server again
@require_http_methods(["GET", "POST"])
def book_repeat(request: SignedInRequest, provider_id: int, type_id: int) -> HttpResponse:
    """
    GET: the booking to review, with the choice to repeat it and its dates; POST: book it
    (`preview`: only list the dates, the way without JavaScript to see them).
    """
    kind = sql.bookable_type(request.user, provider_id, type_id)
    picker = views.booking_picker(kind.provider, kind)
    posted = request.method == "POST"
    data = request.POST if posted else request.GET
    slot = BookForm(data)
    if not slot.is_valid():
        messages.error(request, first_error(slot))
        return views.render_picker(request, picker, None, status=400)
    start = slot.cleaned_data["start"]
    first = start.astimezone(kind.provider.zone).date()
    form = RepeatForm(
        data if "repeat" in data else None, first=first, allowed=kind.clients_may_repeat
    )
    if not form.is_bound and not views.is_open(request, picker, start):
        messages.error(request, "That time isn't available. Please pick another.")
        return views.render_picker(request, picker, views.day_of(start))
    if not posted or "preview" in data or not form.is_valid():
        return render_series_review(request, picker, start, form)
    if not form.repeats:
        return views.confirm_booking(request, picker, start, slot.cleaned_data["expected_terms"])
    return confirm_series(request, picker, start, form, slot.cleaned_data["expected_terms"])


def render_series_review(
    request: SignedInRequest,
    picker: Picker,
    start: datetime,
    form: RepeatForm,
    *,
    terms: PolicyTerms | None = None,
    problem: str = "",
    changed: str = "",
    status: int = 200,
) -> HttpResponse:
    """
    The review page with the repeat choice and, when the booking repeats, every date it would
    have as of now and why any of them is not free; with htmx only the dates.
    """
    provider, kind = picker.provider, picker.appointment_type
    plan = None
    if form.is_bound and not form.is_valid():
        problem, status = problem or first_error(form), max(status, 400)
    elif form.is_bound and form.repeats:
        try:
            plan = series.plan_series(
                client=request.user,
                provider=provider,
                appointment_type=kind,
                first_start=start,
                repeat=form.cleaned_data["repeat"],
                end=form.end,
            )
        except series.SeriesInvalid as error:
            problem, status = problem or str(error), max(status, 400)
    terms = terms or selectors.terms_in_force(provider, kind)
    context = views.booking_review_context(provider, kind, start, terms, changed=changed) | {
        "repeat_form": form,
        "repeat_url": reverse("appointments:book-repeat", args=[provider.pk, kind.pk]),
        "problem": problem,
    }
    if plan is not None:
        skipped = form.cleaned_data["skip"]
        context["clashes"] = len(plan.clashes)
        context["plan"] = [
            {
                "start": each.start,
                "day": each.day,
                "why": series.CLASH_WORDS[each.clash] if each.clash else "",
                "skipped": each.day in skipped,
            }
            for each in plan.sessions
        ]
    if request.htmx:
        # htmx 2 swaps only 2xx answers; the region says what is wrong.
        return render(request, "appointments/book_review.html#series-plan", context)
    return render(request, "appointments/book_review.html", context, status=status)


def confirm_series(
    request: SignedInRequest, picker: Picker, start: datetime, form: RepeatForm, terms: str
) -> HttpResponse:
    """Book the series with the terms the page showed, or say what stops it, booking nothing."""
    try:
        booked = series.series_book(
            client=request.user,
            provider=picker.provider,
            appointment_type=picker.appointment_type,
            first_start=start,
            repeat=form.cleaned_data["repeat"],
            end=form.end,
            booked_by=request.user,
            skip=form.cleaned_data["skip"],
            expected_terms=terms,
        )
    except services.TermsChanged as error:
        return render_series_review(
            request, picker, start, form, terms=error.terms, changed=str(error), status=409
        )
    except (series.SeriesClashes, services.SlotUnavailable) as error:
        # Taken meanwhile, or the schedule too busy to lock (ScheduleBusy): try again.
        return render_series_review(request, picker, start, form, problem=str(error), status=409)
    except services.BookingError as error:
        status = 400 if isinstance(error, series.SeriesInvalid) else 403
        return render_series_review(request, picker, start, form, problem=str(error), status=status)
    sessions = booked.sessions
    messages.success(
        request,
        f"Booked: {len(sessions)} sessions with {picker.provider.display_name} "
        f"({booked.series.rule.describe()}), from {when(sessions[0].start, request.user.zone)}. "
        "A confirmation is on its way to your email.",
    )
    return redirect("appointments:series", booked.series.pk)


@login_required
@require_GET
def series_detail(request: SignedInRequest, pk: int) -> HttpResponse:
    """A series of the client's: its rule and every session, as booked and as it stands."""
    found = selectors.get_series_for_client(request.user, pk)
    sessions = found.sessions.select_related("appointment_type").order_by("start", "pk")
    context = {"series": found, "sessions": sessions, "now": timezone.now()}
    return render(request, "appointments/series.html", context)


@login_required
@never_cache  # a confirmation: Back after the change must ask the server again
@require_http_methods(["GET", "POST"])
def cancel_following(request: SignedInRequest, pk: int) -> HttpResponse:
    """GET: the pop-up listing what ending the series here does; POST: do it."""
    appointment = selectors.get_appointment_for_client(request.user, pk)
    if appointment.series_id is None:
        raise Http404("This appointment is not part of a series.")
    if request.method == "POST":
        return confirm_following(request, appointment)
    return render_following(request, appointment, FollowingForm())


def render_following(
    request: SignedInRequest,
    appointment: Appointment,
    form: FollowingForm,
    *,
    quote: series.FollowingQuote | None = None,
    changed: str = "",
    status: int = 200,
) -> HttpResponse:
    """
    Each session this and all following touch, with what happens to it under its own terms
    now (free, its fee, or kept), and the total; the form carries back the list it shows.
    """
    now = timezone.now()
    decision = appointment.decide(Action.CANCEL, now, request.user.zone)
    if decision.outcome == Outcome.INACTIVE:
        return views.render_refusal(request, appointment, decision)
    quote = quote or series.quote_following(appointment, request.user, now)
    form.initial = {"expected_start": appointment.start.isoformat(), "expected_quote": quote.token}
    fees = quote.fees
    context = {
        "appointment": appointment,
        "quote": quote,
        "total": Money(sum((fee.amount for fee in fees), Decimal(0)), fees[0].currency)
        if fees
        else None,
        "form": form,
        "changed": changed,
    }
    return views.render_dialog(request, "appointments/cancel_following.html", context, status)


def confirm_following(request: SignedInRequest, appointment: Appointment) -> HttpResponse:
    form = FollowingForm(request.POST)
    if not form.is_valid():
        return render_following(request, appointment, form, status=400)
    try:
        ended = series.series_cancel_following(
            appointment=appointment,
            actor=request.user,
            expected_quote=form.cleaned_data["expected_quote"],
            expected_start=form.cleaned_data["expected_start"],
            reason=form.cleaned_data["reason"],
        )
    except series.QuoteChanged as error:
        # Asked again, with the list as it is now and what changed.
        return render_following(
            request, appointment, FollowingForm(), quote=error.quote, changed=str(error), status=409
        )
    except services.ChangeError as error:
        return views.render_change_problem(request, appointment, str(error), error)
    return views.changed_in_place(
        request, appointment, ended_text(request, ended), title="Sessions cancelled"
    )


def ended_text(request: SignedInRequest, ended: series.SeriesEnded) -> str:
    """What ending the series did, as the client was told it would."""
    zone, count = request.user.zone, len(ended.cancelled)
    text = format_html(
        "{} session{} cancelled from {}: your series with {} ends there.",
        count,
        pluralize(count),
        when(ended.cancelled[0].start, zone),
        ended.series.provider.display_name,
    )
    for fee in ended.fees:
        text += format_html(
            " A {} late cancellation fee applies to {}.",
            fee.money,
            format_date(fee.appointment.start.astimezone(zone), DAY),
        )
    for kept in ended.kept:
        text += format_html(
            " Your session on {} is kept: it can no longer be cancelled online.",
            when(kept.start, zone),
        )
    return text + format_html(" {}.", views.verify_link(ended.cancelled[0]))

from collections import defaultdict
from datetime import date, datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from appointments import selectors, services
from appointments.calendar import appointment_calendar
from appointments.forms import DayForm, SlotForm
from appointments.models import AppointmentType, Provider


@login_required
@require_GET
def appointment_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    context = {
        "upcoming": list(selectors.upcoming_appointments(request.user, now)),
        "past": list(selectors.past_appointments(request.user, now)),
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


def render_picker(
    request: HttpRequest,
    provider: Provider,
    appointment_type: AppointmentType,
    *,
    day_param: str | None,
    status: int = 200,
) -> HttpResponse:
    """The day and time picker; with htmx only its swappable region."""
    slots = selectors.open_slots(
        provider=provider,
        appointment_type=appointment_type,
        client=request.user,
        now=timezone.now(),
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
        "days": days,
        "chosen_day": chosen,
        "times": days.get(chosen, []),
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
    return render_picker(request, provider, appointment_type, day_param=request.GET.get("day"))


@login_required
@require_http_methods(["GET", "POST"])
def book_review(request: HttpRequest, provider_id: int, type_id: int) -> HttpResponse:
    provider = selectors.get_provider_for_client(request.user, provider_id)
    appointment_type = selectors.get_bookable_type(provider, type_id)
    form = SlotForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        messages.error(request, form.errors["start"][0])
        return render_picker(request, provider, appointment_type, day_param=None, status=400)
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
            return render_picker(request, provider, appointment_type, day_param=day)
        context = {"provider": provider, "appointment_type": appointment_type, "start": start}
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
        return render_picker(request, provider, appointment_type, day_param=day, status=409)
    except services.BookingError as error:
        messages.error(request, str(error))
        return render_picker(request, provider, appointment_type, day_param=day, status=403)
    local = timezone.localtime(appointment.start)
    messages.success(
        request,
        f"Booked: {local:%A %-d %B at %-I:%M %p} with {provider.display_name}. "
        "A confirmation is on its way to your email.",
    )
    return redirect("appointments:list")


@login_required
@require_GET
def appointment_ics(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = selectors.get_appointment_for_client(request.user, pk)
    response = HttpResponse(appointment_calendar(appointment), content_type="text/calendar")
    response["Content-Disposition"] = f'attachment; filename="appointment-{appointment.pk}.ics"'
    return response

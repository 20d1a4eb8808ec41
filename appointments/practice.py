"""
What a provider or their office staff may see in the admin: their own practice only.
A superuser sees everything.
"""

from zoneinfo import ZoneInfo

from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.shortcuts import redirect

from appointments.models import Appointment, AppointmentType, Provider
from portal.admin_site import MixedIntoModelAdmin
from portal.audit.models import Role


def practice_providers(user) -> QuerySet[Provider]:
    if user.is_superuser:
        return Provider.objects.all()
    return Provider.objects.filter(Q(user=user) | Q(office_staff__user=user)).distinct()


def _practice_rows(user) -> dict[int, tuple[str, bool]]:
    """
    The providers `user` works for, each with its zone and whether it is the user's own
    practice (else they are its office staff). Asked by several admin pages' permission
    checks, by every admin page's clock and by the access log's role of each entry in one
    request: the answer is kept on the user object, which lives as long as the request (as
    Django keeps its permissions).
    """
    if not hasattr(user, "_practice_rows"):
        rows = practice_providers(user).values_list("pk", "time_zone", "user_id")
        user._practice_rows = {pk: (zone, owner == user.pk) for pk, zone, owner in rows}
    return user._practice_rows


def _practice(user) -> dict[int, str]:
    """The providers `user` works for, each with its zone."""
    return {pk: zone for pk, (zone, _own) in _practice_rows(user).items()}


def _ties(user) -> dict[int, bool]:
    """
    The practices `user` belongs to, each True when it is their own. A superuser's practice
    rows are every provider, so their own ties are read apart, once a request, and only on
    pages that log something.
    """
    if not user.is_superuser:
        return {pk: own for pk, (_zone, own) in _practice_rows(user).items()}
    if not hasattr(user, "_ties"):
        rows = Provider.objects.filter(Q(user=user) | Q(office_staff__user=user))
        user._ties = {pk: owner == user.pk for pk, owner in rows.values_list("pk", "user_id")}
    return user._ties


def practice_role(user, practice_id: int | None) -> str:
    """
    Who `user` is to a practice, for the access log: its provider, its office staff, or else
    (a superuser) an administrator. With no practice named, what they are anywhere.
    """
    ties = _ties(user)
    if practice_id in ties:
        return Role.PROVIDER if ties[practice_id] else Role.OFFICE_STAFF
    if user.is_superuser:
        return Role.ADMINISTRATOR
    return Role.PROVIDER if any(ties.values()) else Role.OFFICE_STAFF


def works_for_a_practice(user) -> bool:
    return user.is_superuser or bool(_practice(user))


def practice_zone(user) -> ZoneInfo | None:
    """
    The zone a practice's workspace shows its times in: its providers' own, when they share
    one. None for a practice spread over zones (each time then names the viewer's own zone)
    and for superusers, who see every practice.
    """
    if user.is_superuser:
        return None
    zones = set(_practice(user).values())
    return ZoneInfo(zones.pop()) if len(zones) == 1 else None


class PracticeScopedMixin(MixedIntoModelAdmin):
    """
    For ModelAdmin and inlines: rows, and the choices of every foreign key to a provider or
    an appointment type, are limited to the practices the signed-in user works for. A URL
    of another practice's object then finds nothing, as the admin does for a missing object.
    """

    # The lookup from this model to its Provider; "" when the model is Provider itself.
    provider_lookup = "provider"

    def get_list_display(self, request):
        # A practice of one provider has no use for a column naming them on every row, and a
        # tablet gains its width.
        names = super().get_list_display(request)
        if request.user.is_superuser or len(_practice(request.user)) > 1:
            return names
        return [name for name in names if name != "provider"]

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        if request.user.is_superuser:
            return rows
        field = f"{self.provider_lookup}__in" if self.provider_lookup else "pk__in"
        return rows.filter(**{field: practice_providers(request.user)})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if not request.user.is_superuser:
            providers = practice_providers(request.user)
            if db_field.related_model is Provider:
                kwargs["queryset"] = providers
            elif db_field.related_model is AppointmentType:
                kwargs["queryset"] = AppointmentType.objects.filter(provider__in=providers)
            elif db_field.related_model is Appointment:
                kwargs["queryset"] = Appointment.objects.filter(provider__in=providers)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def not_found(request: HttpRequest, opts, object_id: str) -> HttpResponseRedirect:
    """
    Another practice's object, or none at all: back to the workspace, saying so in the words
    the admin uses for a missing one, so the two cannot be told apart.
    """
    name = str(opts.verbose_name).capitalize()
    messages.warning(
        request, f"{name} with ID “{object_id}” doesn’t exist. Perhaps it was deleted?"
    )
    return redirect("admin:index")

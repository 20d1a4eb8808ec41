from collections.abc import Callable

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse


class PortalAdminSite(admin.AdminSite):
    """The practice workspace. With ADMIN_REQUIRE_2FA, nobody gets in on a password alone."""

    site_header = "Client Portal · Practice"
    site_title = "Client Portal practice"
    index_title = "Your practice"
    # The page a practice lands on at /admin/, set by the app that owns it (portal imports no
    # app): called with (request, site), it answers, or returns None for the stock index.
    landing: Callable[[HttpRequest, "PortalAdminSite"], HttpResponse | None] | None = None

    def index(self, request, extra_context=None):
        if self.landing is not None:
            response = self.landing(request, self)
            if response is not None:
                return response
        return super().index(request, extra_context)

    def has_permission(self, request) -> bool:
        if not super().has_permission(request):
            return False
        return not settings.ADMIN_REQUIRE_2FA or request.user.is_verified()

    def login(self, request, extra_context=None):
        user = request.user
        if (
            settings.ADMIN_REQUIRE_2FA
            and user.is_authenticated
            and user.is_active
            and user.is_staff
            and not user.is_verified()
        ):
            target = request.GET.get("next") or reverse("admin:index")
            return redirect(f"{reverse('admin:two-factor')}?next={target}")
        return super().login(request, extra_context)

    def get_urls(self):
        from portal import two_factor  # models are loaded only once the admin is

        return [
            path(
                "two-factor/",
                lambda request: two_factor.two_factor(request, self),
                name="two-factor",
            ),
            path(
                "two-factor/set-up/<str:token>/",
                lambda request, token: two_factor.enrol(request, self, token),
                name="two-factor-enrol",
            ),
            path(
                "two-factor/recovery-codes/",
                lambda request: two_factor.recovery_codes(request, self),
                name="two-factor-codes",
            ),
            *super().get_urls(),
        ]

import logging
import time
from collections.abc import Callable
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.middleware.csp import ContentSecurityPolicyMiddleware as DjangoCSPMiddleware
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.csp import LazyNonce
from django_htmx.http import HttpResponseClientRedirect

from portal.audit import buffer
from portal.client_address import client_address
from portal.devices import device_label
from portal.inputs import RefusedInput

logger = logging.getLogger(__name__)

SESSION_STARTED_KEY = "portal_signed_in_at"
SESSION_SEEN_KEY = "portal_last_active_at"
# What the account's list of signed-in sessions shows of each (portal.sessions copies them
# into the session's row whenever Django saves it).
SESSION_DEVICE_KEY = "portal_device"
SESSION_ADDRESS_KEY = "portal_address"
# Writing the session on every request costs a database write each time; a few
# seconds of slack on a 15-minute idle limit is not worth that.
SEEN_WRITE_INTERVAL = 30


# Views (a poll, say) whose requests must not count as the user being active.
PASSIVE_VIEWS: set[Callable] = set()


def passive(view: Callable) -> Callable:
    """Mark a view whose requests must not keep an idle session alive."""
    PASSIVE_VIEWS.add(view)
    return view


def mark_session_started(request: HttpRequest) -> None:
    now = time.time()
    request.session[SESSION_STARTED_KEY] = now
    request.session[SESSION_SEEN_KEY] = now
    request.session[SESSION_DEVICE_KEY] = device_label(request.headers.get("User-Agent", ""))
    request.session[SESSION_ADDRESS_KEY] = client_address(request)


def mark_session_seen(request: HttpRequest, now: float) -> None:
    """The session was used now, from this address: saved with the session, no write of its own."""
    request.session[SESSION_SEEN_KEY] = now
    request.session[SESSION_ADDRESS_KEY] = client_address(request)


class SessionTimeoutMiddleware:
    """
    Ends a signed-in session after SESSION_IDLE_TIMEOUT without activity, and after
    SESSION_MAX_AGE whatever the activity.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if not request.user.is_authenticated:
            return None
        now = time.time()
        session = request.session
        started = session.get(SESSION_STARTED_KEY)
        seen = session.get(SESSION_SEEN_KEY)
        if started is None or seen is None:
            mark_session_started(request)
            return None
        idle = now - seen > settings.SESSION_IDLE_TIMEOUT.total_seconds()
        too_old = now - started > settings.SESSION_MAX_AGE.total_seconds()
        if idle or too_old:
            return self._sign_out(request, idle=idle)
        if view_func not in PASSIVE_VIEWS and now - seen >= SEEN_WRITE_INTERVAL:
            mark_session_seen(request, now)
        return None

    def _sign_out(self, request: HttpRequest, *, idle: bool) -> HttpResponse:
        logout(request)
        if idle:
            minutes = int(settings.SESSION_IDLE_TIMEOUT.total_seconds() // 60)
            text = f"You were signed out after {minutes} minutes without activity."
        else:
            text = "For your security, you are asked to sign in again every 12 hours."
        messages.info(request, f"{text} Sign in again to continue.")
        login = redirect_to_login(request.get_full_path())
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(login.url)
        return login


class UserTimeZoneMiddleware:
    """Shows every time in the signed-in user's own zone (the site default otherwise)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            timezone.activate(user.zone)
        else:
            timezone.activate(settings.PORTAL_DEFAULT_TIME_ZONE)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class NoStoreMiddleware:
    """
    Pages may hold health information, so no browser or proxy keeps a copy.
    Static files are answered by WhiteNoise before this and stay cacheable.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        add_never_cache_headers(response)
        return response


class ContentSecurityPolicyMiddleware(DjangoCSPMiddleware):
    """
    Django's, with the whole policy on every response. Django leaves script-src out when
    nothing rendered the nonce (a redirect, a 204, JSON, a calendar file, a partial without a
    script), and the browser then falls back to default-src 'self': any script from this site.
    Making the nonce every time keeps script-src to "only scripts carrying this nonce". First
    in MIDDLEWARE, so answers from the middleware after it (HTTPS redirects, static files, the
    400 for a NUL byte) carry it too.
    """

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        # Django's own middleware keeps the nonce on the request under this private name.
        holder = cast(Any, request)
        if getattr(holder, "_csp_nonce", None) is None:
            holder._csp_nonce = LazyNonce()
        str(holder._csp_nonce)  # generates it
        return super().process_response(request, response)


NUL_REFUSED = (
    "This request contained a NUL character (an invisible control character), which the "
    "portal never accepts. Nothing was changed. If you pasted text, type it instead and "
    "try again."
)


def _has_nul(*texts: str) -> bool:
    return any("\x00" in text for text in texts)


class RefuseNulBytesMiddleware:
    """
    A NUL character anywhere a request carries text (the path, the query string, form fields,
    cookies, headers) gets a 400 with a clear message before any view or database sees it.
    PostgreSQL refuses NUL in text and SQLite stores it, so refusing it here is what makes
    both behave the same, in the admin's filters and search as much as in the portal's forms.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._carries_nul(request):
            raise RefusedInput(NUL_REFUSED)
        return self.get_response(request)

    @staticmethod
    def _carries_nul(request: HttpRequest) -> bool:
        if _has_nul(request.path, request.path_info):
            return True
        if any(_has_nul(key, *values) for key, values in request.GET.lists()):
            return True
        if any(_has_nul(key, value) for key, value in request.COOKIES.items()):
            return True
        headers = (value for key, value in request.META.items() if key.startswith("HTTP_"))
        if any(isinstance(value, str) and _has_nul(value) for value in headers):
            return True
        # Form bodies only: request.POST is empty for other content types.
        return request.method == "POST" and any(
            _has_nul(key, *values) for key, values in request.POST.lists()
        )


class AccessLogMiddleware:
    """
    Writes what the request's view noted of client records (portal.audit.buffer.note) in one
    INSERT once it has answered. A page that failed (a 5xx) showed nothing and logs nothing.
    When the log cannot be written the page is not shown either: the answer is a 503, as when
    the database is down, never client data nobody will know was seen.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from portal.views import database_unavailable  # the views import this module

        with buffer.gathering() as unit:
            response = self.get_response(request)
            if response.status_code >= 500:
                buffer.discard(unit)
                return response
            try:
                buffer.flush(unit)
            except DatabaseError:
                logger.exception("The access log could not be written; the page was withheld.")
                return database_unavailable(request)
        return response

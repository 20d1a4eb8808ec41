import sys
from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import (
    AuthenticationForm,
    PasswordChangeForm,
    PasswordResetForm,
    SetPasswordForm,
)
from django.contrib.sessions.exceptions import SessionInterrupted
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csp import get_nonce
from django.shortcuts import redirect, render, resolve_url
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse, reverse_lazy
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import defaults
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from portal import database, sessions, throttles
from portal.audit import client_page
from portal.client_address import client_address
from portal.forms import AccountForm, PortalPasswordResetForm, SignInForm, TimeZoneForm, first_error
from portal.http import SignedInRequest
from portal.inputs import RefusedInput
from portal.invitations import user_for_token
from portal.keyset import Keyset, Position

LOCKED_OUT_MESSAGE = (
    "Too many unsuccessful attempts to sign in with this email. For your security, "
    "sign-in is paused for 15 minutes. You can reset your password meanwhile."
)
PASSWORD_CHANGE_PAUSED = (
    "Too many wrong current passwords. For your security, changing your password is paused "
    "for up to 15 minutes: you can try again in {wait}. Forgotten it? Sign out and use "
    "“Forgot your password?” to get a reset link by email."
)
ACCESS_PER_PAGE = 25


class SignInView(auth_views.LoginView):
    template_name = "portal/sign_in.html"
    form_class = SignInForm
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        assert isinstance(form, SignInForm)
        user = form.get_user()
        zone = form.browser_zone()
        if not user.time_zone and zone:
            user.time_zone = zone
            user.save(update_fields=["time_zone"])
        return super().form_valid(form)


sign_in = SignInView.as_view()
sign_out = auth_views.LogoutView.as_view()


def sign_in_locked_out(
    request: HttpRequest, original_response=None, credentials=None
) -> HttpResponse:
    """django-axes calls this instead of the view once an email is throttled."""
    # Unbound, with the email as its initial value: validating the form would try to sign in
    # again, and axes would count the refused try twice.
    form = SignInForm(request, initial={"username": request.POST.get("username", "")})
    context = {"form": form, "paused": LOCKED_OUT_MESSAGE}
    return render(request, "portal/sign_in.html", context, status=429)


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PortalPasswordResetForm
    template_name = "portal/password_reset.html"
    success_url = reverse_lazy("password-reset-sent")

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        """Over the limit, the answer is the same "check your email" page, and nothing is sent."""
        # The throttle's slots and the queued email commit together, or not at all.
        with transaction.atomic():
            if throttles.password_reset_allowed(
                email=form.cleaned_data["email"], address=client_address(self.request)
            ):
                return super().form_valid(form)
        return HttpResponseRedirect(self.get_success_url())


password_reset = PasswordResetView.as_view()
password_reset_sent = auth_views.PasswordResetDoneView.as_view(
    template_name="portal/password_reset_sent.html"
)
password_reset_confirm = auth_views.PasswordResetConfirmView.as_view(
    template_name="portal/password_reset_confirm.html",
    success_url=reverse_lazy("password-reset-complete"),
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="portal/password_reset_complete.html"
)


@sensitive_post_parameters()
@login_required
@require_http_methods(["GET", "POST"])
def password_change(request: SignedInRequest) -> HttpResponse:
    if request.method != "POST":
        form = PasswordChangeForm(request.user)
        return render(request, "portal/password_change.html", {"form": form})
    form = PasswordChangeForm(request.user, request.POST)
    try:
        changed = throttles.password_change_checked(user=request.user, form=form)
    except throttles.PasswordChangePaused as paused:
        return password_change_paused(request, paused.until)
    if changed:
        update_session_auth_hash(request, form.user)  # this session stays signed in
        messages.success(request, "Your password was changed.")
        return redirect("account:detail")
    return render(request, "portal/password_change.html", {"form": form})


def password_change_paused(request: SignedInRequest, until: datetime) -> HttpResponse:
    """429, like sign-in's pause: why, and when the form opens again. Nothing was checked."""
    minutes = throttles.minutes_until(until)
    wait = f"{minutes} minute{'s' if minutes != 1 else ''}"
    context = {
        "form": PasswordChangeForm(request.user),
        "paused": PASSWORD_CHANGE_PAUSED.format(wait=wait),
    }
    response = render(request, "portal/password_change.html", context, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


def home_link(request: HttpRequest) -> dict[str, str]:
    """Where an error page sends people back to: the practice workspace or their appointments."""
    if request.path.startswith(reverse("admin:index")):
        return {"home_url": reverse("admin:index"), "home_label": "Back to the practice workspace"}
    return {"home_url": "/", "home_label": "Go to your appointments"}


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """
    The 400 page. A refusal of ours says why; any other (Django's own, a bad host, a
    malformed body) stays generic, as its text was not written for the visitor.
    """
    if isinstance(exception, SessionInterrupted) and database.unavailable_beneath(exception):
        # Django reports every session it could not save as one ended by another request; one
        # the database could not take is a database that cannot answer, like any other.
        return database_unavailable(request)
    context = {
        "reason": str(exception) if isinstance(exception, RefusedInput) else "",
        **home_link(request),
    }
    return render(request, "400.html", context, status=400)


# What a browser, a proxy or a monitor is told to wait before trying again: about what a
# database restart or a fail-over takes.
RETRY_AFTER_SECONDS = 30


def server_error(request: HttpRequest) -> HttpResponse:
    """
    The 500 page, or the 503 when the database could not answer (portal.database). Django calls
    this while it handles an exception raised anywhere in the request, in a middleware (the
    session and the user are read there) as much as in a view, so sys.exc_info() holds it.
    """
    error = sys.exc_info()[1]
    if error is not None and database.unavailable(error):
        return database_unavailable(request)
    return defaults.server_error(request)


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """
    A 503 drawn from its template alone, without the request's context processors (they read
    the user and the unread count from the database). SessionMiddleware saves no session on a
    5xx answer, so nothing more is asked of the database on the way out.
    """
    database.close_connections()
    context = {
        "portal_name": settings.PORTAL_NAME,
        "csp_nonce": get_nonce(request),
        **home_link(request),
    }
    response = HttpResponse(render_to_string("503.html", context), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # The middleware that would add it may be the one that failed.
    add_never_cache_headers(response)
    return response


def favicon(request: HttpRequest) -> HttpResponse:
    # Resolved per request: with the manifest storage the hashed name exists only after
    # collectstatic, which must not be needed just to import the URLs.
    return redirect(static("portal/favicon.svg"), permanent=True)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect(settings.LOGIN_REDIRECT_URL)


@login_required
def account_detail(request: HttpRequest) -> HttpResponse:
    form = AccountForm(request.POST if request.method == "POST" else None, instance=request.user)
    if request.method == "POST":
        if form.is_valid():
            form.save()
            messages.success(request, "Your account was updated.")
            return redirect("account:detail")
        status = 400
    else:
        status = 200
    return render(request, "portal/account.html", {"form": form}, status=status)


@login_required
@require_POST
def account_time_zone(request: SignedInRequest) -> HttpResponse:
    """The banner's one-click switch to the zone the browser reports."""
    form = TimeZoneForm(request.POST)
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = resolve_url(settings.LOGIN_REDIRECT_URL)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return redirect(next_url) if not request.htmx else HttpResponseClientRedirect(next_url)
    request.user.time_zone = form.cleaned_data["time_zone"]
    request.user.save(update_fields=["time_zone"])
    messages.success(request, f"Times are now shown in {request.user.time_zone_name}.")
    if request.htmx:
        return HttpResponseClientRedirect(next_url)
    return redirect(next_url)


@login_required
@require_GET
def account_sessions(request: SignedInRequest) -> HttpResponse:
    context = sessions.signed_in_sessions(request.user, request.session.session_key)
    return render(request, "portal/sessions.html", context)


@login_required
@require_POST
def account_session_end(request: SignedInRequest, handle: str) -> HttpResponse:
    """Sign out one other session; with htmx the list is swapped in place."""
    current_key = request.session.session_key
    session = sessions.get_other_session_for_user(request.user, handle, current_key)
    sessions.session_end(user=request.user, session=session)
    return sessions_ended(request, f"{session.device or 'That session'} was signed out.")


@login_required
@require_POST
def account_sessions_end_others(request: SignedInRequest) -> HttpResponse:
    sessions.sessions_end_others(user=request.user, current_key=request.session.session_key)
    return sessions_ended(request, "You were signed out everywhere else.")


@login_required
@require_GET
def account_access(request: SignedInRequest) -> HttpResponse:
    """
    Who opened the client's record and when, newest first, a page at a time. "Older" with htmx
    adds the next page below this one and moves focus to its first entry.
    """
    page = Keyset(client_page.entries_about(request.user), "-at", ACCESS_PER_PAGE).page(request.GET)
    context = {
        "page": page,
        "lines": client_page.lines(page.object_list, request.user.zone),
        # A link of ours always parses; anything else reads as the newest page, and says so.
        "lost_place": any(
            request.GET.get(key) is not None and Position.parse(request.GET.get(key)) is None
            for key in ("after", "before")
        ),
    }
    if request.htmx and "after" in request.GET:
        return render(request, "portal/access.html#access-older", context)
    return render(request, "portal/access.html", context)


def sessions_ended(request: SignedInRequest, text: str) -> HttpResponse:
    if request.htmx:
        context = sessions.signed_in_sessions(request.user, request.session.session_key)
        return render(request, "portal/sessions.html#session-list", context | {"ended": text})
    messages.success(request, text)
    return redirect("account:sessions")


@require_http_methods(["GET", "POST"])
def welcome(request: HttpRequest, token: str) -> HttpResponse:
    """An invitation: set the first password, once."""
    invited = user_for_token(token)
    if invited is None:
        return render(request, "portal/welcome.html", {"form": None}, status=410)
    form = SetPasswordForm(invited, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your password is set. Sign in with your email address.")
        return redirect("sign-in")
    status = 400 if request.method == "POST" else 200
    return render(request, "portal/welcome.html", {"form": form, "invited": invited}, status=status)

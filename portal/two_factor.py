"""
A second factor for everyone who reaches the admin: a TOTP authenticator app, with
one-time recovery codes for a lost phone. Built on django-otp's devices.

Setting the app up needs more than the password: a single-use link emailed to the staff
member, which works for an hour and only in the session of the account it was sent to.
"""

import base64
from datetime import timedelta
from io import BytesIO
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django import forms
from django.conf import settings
from django.contrib.admin import AdminSite
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core import signing
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.auth import second_step_done
from portal.http import SignedInRequest
from portal.mail import queue_email
from portal.models import Email, User

RECOVERY_CODES = 10
CODES_SESSION_KEY = "portal_new_recovery_codes"
ENROLMENT_SESSION_KEY = "portal_two_factor_enrolment"
TOO_FAST = "Too many tries in a row. Wait a few seconds, then enter the newest code."
ENROLMENT_SALT = "portal.two-factor-enrolment"
ENROLMENT_LINK_WORKS_FOR = timedelta(hours=1)
# A set-up link is emailed again at most this often, however often the page is opened.
ENROLMENT_LINK_EVERY = timedelta(minutes=5)


# --- The emailed set-up link ----------------------------------------------------------------


# The device a set-up link names until it is opened; it never holds the key a person sees.
PENDING_DEVICE_NAME = "Set-up link"


def _enrolment_fingerprint(user: User, pending: int) -> str:
    """Changes when the password changes."""
    return salted_hmac(
        ENROLMENT_SALT, f"{user.pk}|{user.password}|{pending}", algorithm="sha256"
    ).hexdigest()[:32]


def new_enrolment_token(user: User) -> str:
    """
    A new set-up link. It names a pending device of its own, and works while that device is
    there: opening the link deletes it, and so does a reset of the second step. Device ids are
    never given twice (a PostgreSQL sequence; AUTOINCREMENT on SQLite), so a spent link never
    names a device again, whatever happens to the account's devices afterwards.
    """
    pending = TOTPDevice.objects.create(user=user, name=PENDING_DEVICE_NAME, confirmed=False)
    return signing.dumps(
        {"u": user.pk, "d": pending.pk, "f": _enrolment_fingerprint(user, pending.pk)},
        salt=ENROLMENT_SALT,
    )


def _read_enrolment_token(token: str) -> tuple[User, int] | None:
    """The account a link was sent to and the id of its pending device, if it is signed,
    within its hour, and the password has not changed since."""
    try:
        data = signing.loads(token, salt=ENROLMENT_SALT, max_age=ENROLMENT_LINK_WORKS_FOR)
        user = User.objects.get(pk=int(data["u"]), is_active=True, is_staff=True)
        pending = int(data["d"])
    except (signing.BadSignature, User.DoesNotExist, KeyError, TypeError, ValueError):
        return None
    if not constant_time_compare(str(data.get("f", "")), _enrolment_fingerprint(user, pending)):
        return None
    return user, pending


def queue_enrolment_link(user: User, *, now=None, force: bool = False) -> bool:
    """
    Email the staff member a link to set up their app; not again within a few minutes unless
    `force` (a superuser's reset). Returns whether one was queued.
    """
    now = now or timezone.now()
    recent = Email.objects.filter(
        kind="two-factor-enrolment", to=user.email, created_at__gt=now - ENROLMENT_LINK_EVERY
    )
    if recent.exists() and not force:
        return False
    # The link's pending device and its email are kept together or not at all.
    with transaction.atomic():
        context = {
            "user": user,
            "link": settings.PORTAL_BASE_URL
            + reverse("admin:two-factor-enrol", args=[new_enrolment_token(user)]),
            "minutes": int(ENROLMENT_LINK_WORKS_FOR.total_seconds() // 60),
            "portal_name": settings.PORTAL_NAME,
        }
        queue_email("two-factor-enrolment", context, to=user.email)
    return True


def second_factor_reset(*, user: User, actor: User) -> None:
    """
    A superuser removes a staff member's app and recovery codes (a lost phone); they set up a
    new one through a freshly emailed link the next time they sign in.
    """
    if not actor.is_superuser:
        raise PermissionError("Only a superuser can reset a second factor.")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        if user.is_active and user.is_staff:
            queue_enrolment_link(user, force=True)


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=16,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_code(self) -> str:
        return "".join(self.cleaned_data["code"].split()).lower()


def qr_data_uri(text: str) -> str:
    """An SVG QR code as a data: URI, so no inline style meets the page's CSP."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=12)
    buffer = BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(candidate, {request.get_host()}, request.is_secure()):
        return candidate
    return reverse("admin:index")


def _verify(user, code: str):
    """
    (device, throttled): the device that accepts `code`, an authenticator app first, then a
    recovery code; throttled when the app is refusing tries for a moment after misses.
    """
    throttled = False
    # Each guess is checked and counted with the user's devices locked (on SQLite the
    # transaction itself is the lock), so guesses sent at once take turns and each meets the
    # wait the previous miss set, instead of all reading the same failure count.
    with transaction.atomic():
        app = TOTPDevice.objects.devices_for_user(user, confirmed=True)
        for device in app.select_for_update().order_by("pk"):
            allowed, _ = device.verify_is_allowed()
            throttled = throttled or not allowed
            if allowed and device.verify_token(code):
                return device, False
        recovery = StaticDevice.objects.devices_for_user(user, confirmed=True)
        for device in recovery.select_for_update().order_by("pk"):
            if device.verify_token(code):
                return device, False
    return None, throttled


def new_recovery_codes(user) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(user=user, name="Recovery codes")
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@login_required
def two_factor(request: SignedInRequest, admin_site: AdminSite) -> HttpResponse:
    """Ask for the second factor, or set it up the first time."""
    user = request.user
    if not (user.is_active and user.is_staff):
        return redirect("admin:login")
    if second_step_done(user):
        return HttpResponseRedirect(_next_url(request))
    enrolled = TOTPDevice.objects.devices_for_user(user, confirmed=True).exists()
    form = CodeForm(request.POST if request.method == "POST" else None)
    context = {
        **admin_site.each_context(request),
        "title": "Two-step sign-in",
        "form": form,
        "next": _next_url(request),
        "enrolled": enrolled,
    }
    if enrolled:
        return _ask_for_code(request, form, context)
    device = TOTPDevice.objects.filter(
        user=user, confirmed=False, pk=request.session.get(ENROLMENT_SESSION_KEY)
    ).first()
    if device is None:
        # The password alone shows no key: the set-up link goes to the staff member's email.
        resend = request.method == "POST" and "send_link" in request.POST
        sent = queue_enrolment_link(user) if request.method == "GET" or resend else False
        context |= {"awaiting_link": True, "sent": sent, "email": user.email}
        return TemplateResponse(request, "admin/two_factor.html", context)
    return _set_up(request, device, form, context)


def _ask_for_code(request: SignedInRequest, form: CodeForm, context: dict) -> HttpResponse:
    if request.method == "POST" and form.is_valid():
        device, throttled = _verify(request.user, form.cleaned_data["code"])
        if device is not None:
            otp_login(request, device)
            return HttpResponseRedirect(_next_url(request))
        form.add_error(
            "code", TOO_FAST if throttled else "That code didn't work. Check it and try again."
        )
    return TemplateResponse(request, "admin/two_factor.html", context)


def _set_up(
    request: SignedInRequest, device: TOTPDevice, form: CodeForm, context: dict
) -> HttpResponse:
    """The key this session's link made, as a QR code; the first right code turns it on."""
    if request.method == "POST" and form.is_valid():
        allowed, _ = device.verify_is_allowed()
        if not allowed:
            form.add_error("code", TOO_FAST)
        elif device.verify_token(form.cleaned_data["code"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            request.session.pop(ENROLMENT_SESSION_KEY, None)
            otp_login(request, device)
            request.session[CODES_SESSION_KEY] = new_recovery_codes(request.user)
            codes_url = reverse("admin:two-factor-codes")
            return redirect(f"{codes_url}?{urlencode({'next': _next_url(request)})}")
        form.add_error("code", "That code didn't match. Enter the 6 digits your app shows now.")
    context |= {
        "qr": qr_data_uri(device.config_url),
        "secret": base64.b32encode(device.bin_key).decode().rstrip("="),
    }
    return TemplateResponse(request, "admin/two_factor.html", context)


@login_required
def recovery_codes(request: SignedInRequest, admin_site: AdminSite) -> HttpResponse:
    """The new recovery codes, shown once."""
    codes = request.session.pop(CODES_SESSION_KEY, None)
    if not codes or not second_step_done(request.user):
        return redirect("admin:index")
    context = {
        **admin_site.each_context(request),
        "title": "Your recovery codes",
        "codes": codes,
        "next": _next_url(request),
    }
    return TemplateResponse(request, "admin/recovery_codes.html", context)


def enrol(request: HttpRequest, admin_site: AdminSite, token: str) -> HttpResponse:
    """
    The emailed link: signed in as the account it was sent to, it makes the app's key and
    lets this session show it. It works once: opening it spends its pending device.
    """
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("admin:login"))
    link = _read_enrolment_token(token)
    device = None
    if link is not None and link[0].pk == request.user.pk:
        user, pending = link
        with transaction.atomic():
            # Deleting the pending device is what spends the link: of two requests that open
            # it at once, the database lets one delete the row and the other finds none.
            spent, _ = TOTPDevice.objects.filter(pk=pending, user=user, confirmed=False).delete()
            if spent:
                # Any other link still out, and any key made before, stop working too.
                TOTPDevice.objects.filter(user=user, confirmed=False).delete()
                device = TOTPDevice.objects.create(
                    user=user, name="Authenticator app", confirmed=False
                )
    if device is None:
        context = {**admin_site.each_context(request), "title": "This link no longer works"}
        return TemplateResponse(request, "admin/two_factor_link.html", context, status=410)
    request.session[ENROLMENT_SESSION_KEY] = device.pk
    return redirect("admin:two-factor")

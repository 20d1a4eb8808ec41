"""
A second factor for everyone who reaches the admin: a TOTP authenticator app, with
one-time recovery codes for a lost phone. Built on django-otp's devices.
"""

import base64
from io import BytesIO
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

RECOVERY_CODES = 10
CODES_SESSION_KEY = "portal_new_recovery_codes"
TOO_FAST = "Too many tries in a row. Wait a few seconds, then enter the newest code."


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
    for device in TOTPDevice.objects.devices_for_user(user, confirmed=True):
        allowed, _ = device.verify_is_allowed()
        throttled = throttled or not allowed
        if allowed and device.verify_token(code):
            return device, False
    for device in StaticDevice.objects.devices_for_user(user, confirmed=True):
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
def two_factor(request: HttpRequest, admin_site) -> HttpResponse:
    """Ask for the second factor, or set it up the first time."""
    user = request.user
    if not (user.is_active and user.is_staff):
        return redirect("admin:login")
    if user.is_verified():
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
        if request.method == "POST" and form.is_valid():
            device, throttled = _verify(user, form.cleaned_data["code"])
            if device is not None:
                otp_login(request, device)
                return HttpResponseRedirect(_next_url(request))
            form.add_error(
                "code",
                TOO_FAST if throttled else "That code didn't work. Check it and try again.",
            )
        return TemplateResponse(request, "admin/two_factor.html", context)

    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    if request.method == "POST" and form.is_valid():
        allowed, _ = device.verify_is_allowed()
        if not allowed:
            form.add_error("code", TOO_FAST)
        elif device.verify_token(form.cleaned_data["code"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            request.session[CODES_SESSION_KEY] = new_recovery_codes(user)
            codes_url = reverse("admin:two-factor-codes")
            return redirect(f"{codes_url}?{urlencode({'next': _next_url(request)})}")
        form.add_error("code", "That code didn't match. Enter the 6 digits your app shows now.")
    context |= {
        "qr": qr_data_uri(device.config_url),
        "secret": base64.b32encode(device.bin_key).decode().rstrip("="),
    }
    return TemplateResponse(request, "admin/two_factor.html", context)


@login_required
def recovery_codes(request: HttpRequest, admin_site) -> HttpResponse:
    """The new recovery codes, shown once."""
    codes = request.session.pop(CODES_SESSION_KEY, None)
    if not codes or not request.user.is_verified():
        return redirect("admin:index")
    context = {
        **admin_site.each_context(request),
        "title": "Your recovery codes",
        "codes": codes,
        "next": _next_url(request),
    }
    return TemplateResponse(request, "admin/recovery_codes.html", context)

from datetime import timedelta
from functools import cache

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.forms.renderers import TemplatesSetting
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from portal.formatting import minutes
from portal.mail import queue_email
from portal.models import User, normalize_email_address
from portal.timezones import canonical_time_zone, time_zone_names


def first_error(form: forms.Form) -> str:
    """The first thing wrong with a form, as the message a page shows for it."""
    return next(iter(form.errors.get_json_data().values()))[0]["message"]


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in time_zone_names()]


@cache
def _zone_options() -> tuple[tuple[str, str], ...]:
    """Each zone's <option> once, and the same with `selected`: built once per process."""
    return tuple(
        (value, format_html('<option value="{}">{}</option>', value, label))
        for value, label in time_zone_choices()
    )


class TimeZoneSelect(forms.Select):
    """
    The ~330 zones as one select, joined from options built once, instead of a template
    rendered per option on every page that shows it (most of the Account page's time).
    """

    def render(self, name, value, attrs=None, renderer=None) -> SafeString:
        attrs = self.build_attrs(self.attrs, attrs)
        options = (
            format_html('<option value="{}" selected>{}</option>', zone, zone.replace("_", " "))
            if zone == value
            else html
            for zone, html in _zone_options()
        )
        return format_html(
            '<select name="{}"{}>\n{}\n</select>',
            name,
            flatatt(attrs),
            mark_safe("\n".join(options)),  # noqa: S308  (each option was escaped above)
        )


class SignInForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    # Filled in by the page's script; used only to start a new account in the person's own zone.
    browser_time_zone = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": (
            "That email and password don't match an account. Check both, or reset your password."
        ),
        "inactive": "This account is switched off. Please contact your provider's office.",
    }

    def browser_zone(self) -> str | None:
        return canonical_time_zone(self.cleaned_data.get("browser_time_zone") or "")


class PortalPasswordResetForm(PasswordResetForm):
    email = forms.EmailField(
        label="Email",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    def get_users(self, email):
        """
        Every active account with this address, including one invited but never set up (no
        password yet): resetting is how someone whose invitation expired gets in.
        """
        return User.objects.filter(email=normalize_email_address(email), is_active=True)

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ) -> None:
        """Queued for the worker like every email: the answer takes as long whoever asks."""
        context = {
            **context,
            "portal_name": settings.PORTAL_NAME,
            "portal_url": settings.PORTAL_BASE_URL,
        }
        queue_email("password-reset", context, to=to_email)


class AccountForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        label="Time zone",
        choices=time_zone_choices,
        widget=TimeZoneSelect,
        help_text="Every date and time in the portal is shown in this zone.",
    )

    class Meta:
        model = User
        fields = ["name", "time_zone"]
        labels = {"name": "Your name"}
        widgets = {"name": forms.TextInput(attrs={"autocomplete": "name"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A user who never chose sees the zone they are actually shown.
        self.initial["time_zone"] = self.instance.time_zone_name


class TimeZoneForm(forms.Form):
    time_zone = forms.CharField(max_length=64)

    def clean_time_zone(self) -> str:
        value = self.cleaned_data["time_zone"]
        zone = canonical_time_zone(value)
        if zone is None:
            raise forms.ValidationError(f"{value.strip()} is not a time zone we know.")
        return zone


class PortalFormRenderer(TemplatesSetting):
    """Renders `{{ field.as_field_group }}` with the portal's own markup (label, help, errors)."""

    field_template_name = "forms/field.html"


class HoursAndMinutesWidget(forms.MultiWidget):
    """A duration as two numbers, hours and minutes, each named for screen readers."""

    template_name = "widgets/hours_and_minutes.html"

    def __init__(self, label: str = "", attrs=None) -> None:
        number = {"inputmode": "numeric", "min": "0", "class": "duration-part", **(attrs or {})}
        super().__init__(
            [
                forms.NumberInput({**number, "aria-label": f"{label}, hours".lstrip(", ")}),
                forms.NumberInput(
                    {**number, "max": "59", "aria-label": f"{label}, minutes".lstrip(", ")}
                ),
            ],
        )

    def id_for_label(self, id_: str) -> str:
        # Drawn as a fieldset: the id names the pair, so its help text has an id to point at.
        return id_

    def decompress(self, value):
        if isinstance(value, timedelta):
            return list(divmod(minutes(value), 60))
        return [None, None]


class HoursAndMinutesField(forms.MultiValueField):
    """
    A duration entered as hours and minutes ("48 h 0 min"), in place of Django's
    "2 00:00:00". The model's own validators bound it, with messages that name the bounds.
    """

    # Far beyond any bound the models set (they name theirs), and short of a timedelta's limit.
    MAX_HOURS = 100_000_000

    def __init__(self, *, label=None, **kwargs) -> None:
        kwargs.pop("max_length", None)
        messages = {
            "min_value": "A duration can't be negative.",
            "max_value": "That is more hours than any duration here can be.",
            "invalid": "Enter whole hours and minutes.",
        }
        # Either part may be left empty for none ("2" hours alone is 2 h 0 min).
        fields = (
            forms.IntegerField(
                min_value=0, max_value=self.MAX_HOURS, required=False, error_messages=messages
            ),
            forms.IntegerField(
                min_value=0,
                max_value=59,
                required=False,
                error_messages={**messages, "max_value": "Minutes go up to 59."},
            ),
        )
        super().__init__(
            fields,
            label=label,
            widget=HoursAndMinutesWidget(str(label or "")),
            require_all_fields=False,
            **kwargs,
        )

    def compress(self, data_list) -> timedelta | None:
        if not data_list or all(part in (None, "") for part in data_list):
            return None
        hours, mins = (part or 0 for part in data_list)
        return timedelta(hours=hours, minutes=mins)

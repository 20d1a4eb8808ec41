from datetime import date, datetime

from django import forms
from django.contrib.auth.forms import SetPasswordForm

from appointments.models import PartOfDay, Weekday
from appointments.recurrence import MAX_SESSIONS, MIN_SESSIONS, Repeat, Rule
from appointments.series import SeriesEnd
from policies.terms import Money
from portal.inputs import parse_instant

OUT_OF_DATE = "This page is out of date. Please reload it and try again."


class DayForm(forms.Form):
    day = forms.DateField(
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": "That date isn't valid. Pick a day from the list."},
    )


class SlotForm(forms.Form):
    """A start time as the picker writes it: an ISO 8601 instant with its offset."""

    start = forms.CharField(error_messages={"required": "Pick a time from the list."})

    def clean_start(self) -> datetime:
        start = parse_instant(self.cleaned_data["start"])
        if start is None:
            raise forms.ValidationError("That time isn't valid. Pick a time from the list.")
        return start


class BookForm(SlotForm):
    # The token of the policy the review page showed (PolicyTerms.token); missing means none
    # was shown, and the booking is refused with the terms in force.
    expected_terms = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)


class AcceptsFeeForm(forms.Form):
    # The fee the page showed as the client confirmed; missing or unreadable means none.
    accepted_fee = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_accepted_fee(self) -> Money | None:
        return Money.from_token(self.cleaned_data["accepted_fee"])


class ClaimForm(AcceptsFeeForm):
    """A waitlist offer taken: a booking's review sends its terms, a move-up's its fee."""

    expected_terms = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)


class CancelForm(AcceptsFeeForm):
    reason = forms.CharField(
        label="Reason (optional)",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Your provider sees this. Please don't include medical details.",
    )
    # The time the page showed; if the appointment moved since, nothing is cancelled.
    expected_start = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_expected_start(self) -> datetime | None:
        return expected_instant(self.cleaned_data["expected_start"], required=False)


class RescheduleForm(AcceptsFeeForm, SlotForm):
    """A new time and the time the page showed."""

    expected_start = forms.CharField(widget=forms.HiddenInput)

    def clean_expected_start(self) -> datetime | None:
        return expected_instant(self.cleaned_data["expected_start"], required=True)


def expected_instant(raw: str, *, required: bool) -> datetime | None:
    """The time the page showed: a page that sends no time, or one we can't read, is stale."""
    if not (raw or "").strip() and not required:
        return None
    value = parse_instant(raw)
    if value is None:
        raise forms.ValidationError(OUT_OF_DATE)
    return value


class JoinForm(SetPasswordForm):
    """A new account for an invited address: a name and a password."""

    name = forms.CharField(
        label="Your name", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    field_order = ["name", "new_password1", "new_password2"]


class InvitationAnswerForm(forms.Form):
    answer = forms.ChoiceField(choices=[("accept", "Accept"), ("decline", "Decline")])


class WaitlistForm(forms.Form):
    """When a client could come: any time, or chosen weekdays and parts of the day."""

    when = forms.ChoiceField(
        label="When could you come?",
        choices=[("any", "Any time"), ("chosen", "Only on the days or times I choose below")],
        widget=forms.RadioSelect,
        initial="any",
    )
    weekdays = forms.TypedMultipleChoiceField(
        label="Days",
        coerce=int,
        choices=Weekday.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked for any day.",
    )
    parts = forms.MultipleChoiceField(
        label="Parts of the day",
        choices=PartOfDay.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="In your own time zone. Leave all unticked for any part of the day.",
    )
    not_after = forms.DateField(
        label="Not after (optional)",
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="The last date that would suit you.",
        error_messages={"invalid": "Enter a date like 2026-12-03."},
    )

    def __init__(self, *args, move_up: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if move_up:
            del self.fields["not_after"]  # earlier than the appointment is the limit

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("when") == "any":
            if data.get("weekdays") or data.get("parts"):
                # Ticks beside Any time: which one was meant is not ours to guess. With
                # JavaScript the form keeps them apart; without it, the client chooses.
                raise forms.ValidationError(
                    "You chose Any time and also ticked days or parts of the day. Untick them "
                    "to be offered any time, or choose Only on the days or times I choose below."
                )
            data["weekdays"], data["parts"] = [], []
        elif data.get("when") == "chosen" and not data.get("weekdays") and not data.get("parts"):
            raise forms.ValidationError(
                "Choose at least one day or part of the day, or choose Any time."
            )
        data.setdefault("not_after", None)
        return data

    @classmethod
    def initial_for(cls, entry) -> dict:
        return {
            "when": "any" if entry.any_time else "chosen",
            "weekdays": entry.weekdays,
            "parts": entry.parts,
            "not_after": entry.not_after,
        }


class DatesField(forms.Field):
    """Dates a page sends as a list of ISO dates (the clashing dates a client leaves out)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> frozenset[date]:
        try:
            return frozenset(date.fromisoformat(each) for each in value or ())
        except (TypeError, ValueError):
            raise forms.ValidationError(OUT_OF_DATE) from None


ONCE = ""
CANT_REPEAT = "This kind of appointment can't be booked as a series online."


class RepeatForm(forms.Form):
    """
    Whether a booking repeats, and how it ends: after a number of sessions or on a last date.
    The rules are worded from the first session's date on the provider's clock, the clock the
    series keeps. A series with no end is booked by the practice only: it is not offered here.
    """

    repeat = forms.ChoiceField(label="Repeat", required=False, widget=forms.RadioSelect)
    ends = forms.ChoiceField(
        label="Ends",
        choices=[("count", "After a number of sessions"), ("until", "On a date")],
        widget=forms.RadioSelect,
        initial="count",
        required=False,
    )
    count = forms.IntegerField(
        label="Number of sessions",
        required=False,
        initial=6,
        widget=forms.NumberInput(attrs={"min": MIN_SESSIONS, "max": MAX_SESSIONS}),
        error_messages={"invalid": "Enter the number of sessions as a whole number, like 6."},
    )
    until = forms.DateField(
        label="Last date",
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Enter the last date like 2026-12-03."},
    )
    skip = DatesField(required=False)

    def __init__(self, *args, first: date, allowed: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choices = [(ONCE, "Does not repeat")]
        if allowed:
            choices += [(each.value, Rule(each.value, first).describe()) for each in Repeat]
        field = self.fields["repeat"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices
        field.error_messages["invalid_choice"] = (
            "Choose how often the sessions repeat from the list." if allowed else CANT_REPEAT
        )
        self.fields["until"].widget.attrs["min"] = first.isoformat()

    def clean(self) -> dict:
        data = super().clean() or {}
        if not data.get("repeat"):
            return data
        if data.get("ends") == "until":
            if data.get("until") is None and "until" not in self.errors:
                raise forms.ValidationError("Enter the date of the last session.")
        elif data.get("count") is None and "count" not in self.errors:
            raise forms.ValidationError("Enter how many sessions to book.")
        return data

    @property
    def repeats(self) -> bool:
        return bool(self.cleaned_data.get("repeat"))

    @property
    def end(self) -> SeriesEnd:
        if self.cleaned_data.get("ends") == "until":
            return SeriesEnd(until=self.cleaned_data["until"])
        return SeriesEnd(count=self.cleaned_data["count"])


class FollowingForm(CancelForm):
    """Cancel a session and all that follow: the list of what it does, as the page showed it."""

    # FollowingQuote.token of the list shown; a different list now changes nothing.
    expected_quote = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

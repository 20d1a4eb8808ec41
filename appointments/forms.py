from datetime import UTC, datetime

from django import forms
from django.utils import timezone


class DayForm(forms.Form):
    day = forms.DateField(
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": "That date isn't valid. Pick a day from the list."},
    )


class SlotForm(forms.Form):
    """A start time as the picker writes it: an ISO 8601 instant with its offset."""

    start = forms.CharField(error_messages={"required": "Pick a time from the list."})

    def clean_start(self) -> datetime:
        raw = self.cleaned_data["start"].strip()
        try:
            value = datetime.fromisoformat(raw) if len(raw) <= 40 else None
        except ValueError:
            value = None
        if value is None or timezone.is_naive(value):
            raise forms.ValidationError("That time isn't valid. Pick a time from the list.")
        return value.astimezone(UTC)

import uuid

from django import forms

from chat.models import MAX_MESSAGE_LENGTH


class MessageForm(forms.Form):
    body = forms.CharField(
        label="Message",
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": MAX_MESSAGE_LENGTH}),
        # Longer text gets the service's own clear message rather than a form error.
        strip=False,
    )
    client_key = forms.UUIDField(
        widget=forms.HiddenInput,
        error_messages={
            "invalid": "This page is out of date. Please reload it and try again.",
            "required": "This page is out of date. Please reload it and try again.",
        },
    )
    appointment = forms.IntegerField(
        required=False, widget=forms.HiddenInput, min_value=1, max_value=2**62
    )

    def __init__(self, *args, draft: str = "", appointment_id: int | None = None, **kwargs):
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("client_key", uuid.uuid4())
        if draft:
            kwargs["initial"].setdefault("body", draft)
        if appointment_id:
            kwargs["initial"].setdefault("appointment", appointment_id)
        super().__init__(*args, **kwargs)

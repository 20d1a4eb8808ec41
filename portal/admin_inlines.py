from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.utils.text import capfirst

from portal.admin_site import NoDanglingReferences


class LabelledInlineFormSet(BaseInlineFormSet):
    """Names each input by its column and its row (see LabelledTabularInline)."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        row = str(form.instance) if form.instance.pk else "new row"
        for field in form.fields.values():
            if not field.widget.is_hidden:
                field.widget.attrs["aria-label"] = f"{capfirst(field.label)}, {row}"


class LabelledTabularInline(NoDanglingReferences, admin.TabularInline):
    """
    A tabular inline whose inputs have accessible names. Django heads each column with a
    <th> but gives the inputs below it no label, so a screen reader (and axe) finds a row of
    nameless fields. Each input is named by its column and its row: "Start, Monday 09:00–12:00",
    or "Start, new row" for a row being added.
    """

    formset = LabelledInlineFormSet

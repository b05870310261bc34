"""Forms of the capacity pages: a maintenance window, a site evacuation's destination, the override reason."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from inventory.models import Site

REASON_REQUIRED = (
    "The pre-checks warn about some of these moves: write why they are acceptable (kept in the audit trail) before "
    "starting."
)


class WindowForm(forms.Form):
    """An optional maintenance window (local time of the server); the prediction says whether the wave fits."""

    window_start = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="Window starts"
    )
    window_end = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="Window ends"
    )
    # Asked for at confirm time when the plan has pre-check warnings (the service refuses a blank one then).
    override_reason = forms.CharField(
        required=False,
        max_length=1000,
        strip=True,
        label="Why are these warnings acceptable?",
        widget=forms.Textarea(
            attrs={
                "rows": 3,
                "cols": 90,
                "required": True,
                "placeholder": "e.g. change ticket CHG-1234: cold moves agreed",
            }
        ),
    )
    WINDOW_FIELDS = ("window_start", "window_end")

    def clean(self):
        data = super().clean()
        start, end = data.get("window_start"), data.get("window_end")
        # An end needs no start (the wave starts now), but it must come after the start.
        if start and end and end <= start:
            raise forms.ValidationError("The window must end after it starts.")
        if end and end <= timezone.now():
            raise forms.ValidationError("The window ends in the past.")
        return data


class SiteEvacuationForm(WindowForm):
    destination = forms.ModelChoiceField(queryset=Site.objects.none(), label="Move everything to")

    def __init__(self, *args, site: Site, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["destination"].queryset = Site.objects.exclude(pk=site.pk).order_by("name")

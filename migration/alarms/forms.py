from django import forms

from migration.alarms.models import AlarmRule, WebhookEndpoint


class NoteForm(forms.Form):
    """Acknowledge or clear: an optional note, kept in the alarm's history."""

    note = forms.CharField(required=False, max_length=1000, strip=True)


class AlarmRuleForm(forms.ModelForm):
    class Meta:
        model = AlarmRule
        fields = [
            "name", "kind", "severity", "enabled", "threshold", "duration_minutes", "drills_count", "email_to",
            "webhooks", "description",
        ]  # fmt: skip
        widgets = {
            "email_to": forms.TextInput(attrs={"size": 60, "placeholder": "ops@example.com, oncall@example.com"}),
            "description": forms.Textarea(attrs={"rows": 2, "cols": 60}),
            "webhooks": forms.CheckboxSelectMultiple,
        }
        labels = {"threshold": "Threshold (%)", "duration_minutes": "For (minutes)", "drills_count": "Over (drills)"}


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https", widget=forms.URLInput(attrs={"size": 60}))

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "enabled", "secret", "retry_backoff_s", "max_attempts", "timeout_s", "description"]
        widgets = {
            "secret": forms.TextInput(attrs={"size": 70, "autocomplete": "off"}),
            "description": forms.Textarea(attrs={"rows": 2, "cols": 60}),
        }
        labels = {"retry_backoff_s": "First retry after (s)", "timeout_s": "Timeout (s)"}

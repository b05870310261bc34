from django import forms

DAY_CHOICES = [
    ("*", "Every day"),
    ("1-5", "Weekdays (Mon–Fri)"),
    ("0,6", "Weekends (Sat, Sun)"),
    ("0", "Sundays"),
    ("6", "Saturdays"),
]


class ScheduleForm(forms.Form):
    """A plan's drill schedule: a time of day (in the server's time zone) and which days."""

    enabled = forms.BooleanField(required=False, initial=True, label="Run drills on this schedule")
    time = forms.TimeField(
        initial="02:00", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"), label="Time of day"
    )
    days = forms.ChoiceField(choices=DAY_CHOICES, initial="*")
    remove = forms.BooleanField(required=False, widget=forms.HiddenInput)


REASON_REQUIRED = (
    "The pre-checks warn about some of these moves: write why they are acceptable (kept in the audit trail) before "
    "starting."
)


class PlannedMigrationForm(forms.Form):
    """The confirmation of a planned migration: the operator's reason when the pre-checks warn (required then)."""

    override_reason = forms.CharField(
        required=False,
        max_length=1000,
        strip=True,
        label="Why are these warnings acceptable?",
        widget=forms.Textarea(
            attrs={"rows": 3, "cols": 90, "required": True, "placeholder": "e.g. CHG-1234: DR failover rehearsal"}
        ),
    )

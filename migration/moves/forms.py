from django import forms

from migration.forms import (
    DestinationChoice,
    destination_host_field,
    destination_site_field,
    downtime_field,
    policy_field,
)
from migration.moves.choices import WindowClose
from migration.moves.models import MAX_CONCURRENCY

LOCAL = "%Y-%m-%dT%H:%M"


def _when(label: str, help_text: str) -> forms.DateTimeField:
    return forms.DateTimeField(
        required=False, label=label, help_text=help_text, input_formats=[LOCAL, "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL),
    )  # fmt: skip


class ScheduleForm(forms.Form):
    """When: the start (empty: now), and an optional maintenance window the switchovers wait for."""

    start_at = _when("Start at", "Empty: start now. Pre-copy may start before the window; switchovers wait for it.")
    window_start = _when("Window opens", "Switchovers wait until then (pre-copy keeps syncing).")
    window_end = _when("Window closes", "Members not switched over by then are handled as chosen below.")
    on_window_close = forms.ChoiceField(
        choices=WindowClose.choices, initial=WindowClose.ABORT, widget=forms.RadioSelect,
        label="If the window closes before a switchover",
    )  # fmt: skip
    concurrency = forms.IntegerField(
        min_value=1, max_value=MAX_CONCURRENCY, initial=4, label="At most this many at a time",
        help_text=f"The group's concurrency cap (1 to {MAX_CONCURRENCY}); host and link limits still apply.",
    )  # fmt: skip

    def clean(self):
        data = super().clean()
        if bool(data.get("window_start")) != bool(data.get("window_end")):
            raise forms.ValidationError("A maintenance window needs both its opening and its closing time.")
        return data


class MoveGroupForm(DestinationChoice, ScheduleForm):
    """Bulk move: where to, how, when, and (when pre-checks warn) one written reason for every override."""

    name = forms.CharField(required=False, max_length=100, label="Name", help_text="Empty: “Wave of N workloads”.")
    destination_site = destination_site_field("Placement picks the best host of the site for each workload.")
    destination_host = destination_host_field()
    policy = policy_field()
    max_downtime_s = downtime_field()
    accept_readdressing = forms.BooleanField(required=False, label="Accept re-addressing")
    leave_out_blocked = forms.BooleanField(
        required=False, label="Leave out the workloads that cannot move", help_text="They are listed in the group."
    )
    override_reason = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="One reason for every override",
        help_text="Required to go ahead despite warnings; kept with the group and each migration.",
    )  # fmt: skip

    field_order = ["name", "destination_site", "destination_host", "concurrency", "policy", "max_downtime_s"]

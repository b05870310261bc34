from django import forms

from inventory.models import Host, Site
from migration.choices import MigrationPolicy
from migration.engine import DEFAULT_DOWNTIME_LIMIT_S
from migration.placement import move_options


def destination_site_field(help_text: str = "Placement picks the best host of the site.") -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=Site.objects.order_by("name"), required=False, empty_label="— choose a host instead —",
        help_text=help_text,
    )  # fmt: skip


def destination_host_field() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=Host.objects.select_related("cluster__site").order_by("cluster__site__name", "name"),
        required=False, empty_label="— let placement choose —",
    )  # fmt: skip


def policy_field() -> forms.ChoiceField:
    return forms.ChoiceField(choices=MigrationPolicy.choices, initial=MigrationPolicy.THROTTLE)


def downtime_field(help_text: str = "") -> forms.FloatField:
    return forms.FloatField(
        min_value=0.001, max_value=600, initial=DEFAULT_DOWNTIME_LIMIT_S, label="Downtime budget (s)",
        help_text=help_text,
    )  # fmt: skip


class DestinationChoice:
    """For a form with `destination_site` and `destination_host` (the fields above): hosts are listed with their
    site, and one of the two must be chosen."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["destination_host"].label_from_instance = lambda h: f"{h.name} ({h.cluster.site.name})"

    def clean(self):
        data = super().clean()
        if not data.get("destination_site") and not data.get("destination_host"):
            raise forms.ValidationError("Choose a destination site or host.")
        return data

    def move_options(self) -> dict:
        """What the move services take from the valid form (migration.placement.move_options)."""
        return move_options(self.cleaned_data)


class MigrationForm(DestinationChoice, forms.Form):
    """The migrate wizard: where to, how, and (when pre-checks warn) why go ahead anyway."""

    destination_site = destination_site_field()
    destination_host = destination_host_field()
    policy = policy_field()
    max_downtime_s = downtime_field("The longest the guest may be paused for the switchover.")
    accept_readdressing = forms.BooleanField(
        required=False, label="Accept re-addressing", help_text="Let the IP change if the segment is not there."
    )
    reason = forms.CharField(required=False, max_length=500, label="Why move it (optional)")
    override_reason = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Override reason",
        help_text="Required to go ahead despite warnings; kept in the migration's audit log.",
    )  # fmt: skip

"""Forms of the assessment pages: a new assessment (scope, destination, scenario) and edited assumptions."""

from __future__ import annotations

from django import forms

from inventory.models import Cluster, Estate, Site
from migration.assessment.choices import ScopeKind
from migration.engine import DEFAULT_DOWNTIME_LIMIT_S


class AssessmentForm(forms.Form):
    """Scope, destination and the link scenario. Scenario figures left empty come from the real link between the
    scope's site and the destination (the service says which link, or that there is none)."""

    name = forms.CharField(required=False, max_length=120, label="Name (optional)")
    scope_kind = forms.ChoiceField(choices=ScopeKind.choices, label="Scope", initial=ScopeKind.SITE)
    scope_site = forms.ModelChoiceField(queryset=Site.objects.order_by("name"), required=False, label="Site")
    scope_cluster = forms.ModelChoiceField(
        queryset=Cluster.objects.select_related("site").order_by("site__name", "name"), required=False,
        label="Cluster",
    )  # fmt: skip
    scope_estate = forms.ModelChoiceField(queryset=Estate.objects.order_by("name"), required=False, label="Estate")
    scope_query = forms.CharField(
        required=False, max_length=1000, label="Workloads filter",
        help_text="The workloads table's query string, e.g. kind=vm&site=1 (its “Assess moving these” link fills it).",
    )  # fmt: skip
    destination = forms.ModelChoiceField(queryset=Site.objects.order_by("name"), label="Destination")
    bandwidth_mbit = forms.IntegerField(
        required=False, min_value=1, max_value=1_000_000, label="Bandwidth, Mbit/s", help_text="1 Gbit/s = 1000."
    )
    rtt_ms = forms.FloatField(required=False, min_value=0, max_value=1000, label="RTT, ms")
    loss_percent = forms.FloatField(required=False, min_value=0, max_value=99, label="Packet loss, %")
    compression_ratio = forms.FloatField(
        required=False, min_value=1, max_value=10, label="WAN compression ratio", help_text="1 = none."
    )
    encrypted = forms.TypedChoiceField(
        required=False, label="Encryption", coerce=lambda v: v == "1", empty_value=None,
        choices=[("", "as the link"), ("1", "encrypted"), ("0", "not encrypted")],
    )  # fmt: skip
    max_concurrent = forms.IntegerField(required=False, min_value=1, max_value=256, label="Migrations at once")
    max_downtime_s = forms.FloatField(required=False, min_value=0.001, max_value=600, label="Downtime budget, s")
    window_hours = forms.FloatField(
        required=False, min_value=0.1, max_value=336, label="Maintenance window, hours", help_text="Empty: none."
    )
    accept_readdressing = forms.BooleanField(
        required=False, label="Accept re-addressing",
        help_text="Workloads whose segment is not at the destination move with a new address.",
    )  # fmt: skip

    SCENARIO = (
        "bandwidth_mbit", "rtt_ms", "loss_percent", "compression_ratio", "encrypted", "max_concurrent",
        "max_downtime_s", "window_hours", "accept_readdressing",
    )  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # An empty figure is taken from the real link: say so where the figure goes.
        for name in ("bandwidth_mbit", "rtt_ms", "loss_percent", "compression_ratio"):
            self.fields[name].widget.attrs["placeholder"] = "from the link"
        for name, value in (
            ("max_concurrent", "8"),
            ("max_downtime_s", str(DEFAULT_DOWNTIME_LIMIT_S)),
            ("window_hours", "none"),
        ):
            self.fields[name].widget.attrs["placeholder"] = value

    def clean(self):
        data = super().clean()
        kind = data.get("scope_kind")
        # The scope's own field must be filled in.
        needed = {ScopeKind.SITE: "scope_site", ScopeKind.CLUSTER: "scope_cluster", ScopeKind.ESTATE: "scope_estate"}
        if kind in needed and not data.get(needed[kind]):
            self.add_error(needed[kind], f"Choose the {needed[kind].removeprefix('scope_')} to assess.")
        return data

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        return {
            "name": d.get("name") or "",
            "scope_kind": d["scope_kind"],
            "scope_site": d.get("scope_site") if d["scope_kind"] == ScopeKind.SITE else None,
            "scope_cluster": d.get("scope_cluster") if d["scope_kind"] == ScopeKind.CLUSTER else None,
            "scope_estate": d.get("scope_estate") if d["scope_kind"] == ScopeKind.ESTATE else None,
            "scope_query": (d.get("scope_query") or "") if d["scope_kind"] == ScopeKind.FILTER else "",
            "destination": d["destination"],
            "scenario": {k: d.get(k) for k in self.SCENARIO},
        }

    def add_service_errors(self, errors: dict[str, str]) -> None:
        """The service's refusals (keyed `scenario.bandwidth_mbit`, `scope.query.site`, ...) on the form's fields."""
        for key, message in errors.items():
            name = key.split(".")[-1] if key.startswith("scenario.") else key
            if key.startswith("scope.query"):
                name = "scope_query"
            elif key == "scope":
                name = "scope_kind"
            self.add_error(name if name in self.fields else None, message)


class AssumptionsForm(forms.Form):
    """Edited dirty rates, MB/s per class of workload (empty: keep what the assessment used)."""

    def __init__(self, *args, classes: list[dict], **kwargs):
        super().__init__(*args, **kwargs)
        for entry in classes:
            self.fields[f"dirty_{entry['key']}"] = forms.FloatField(
                required=False, min_value=0, max_value=100_000, label=entry["label"],
                initial=entry.get("override_mb_s"),
            )  # fmt: skip

    def rates(self) -> dict[str, float | None]:
        return {
            name.removeprefix("dirty_"): value
            for name, value in self.cleaned_data.items()
            if name.startswith("dirty_") and value is not None
        }

"""Capacity: utilisation samples (telemetry), settings, recommendations of moves, and evacuations."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from migration.capacity.choices import EvacuationState, ItemState, RecommendationState, Scope


class CapacitySettings(models.Model):
    """The one row of capacity settings (pk 1): thresholds, the telemetry seed and retention. Edited in the admin."""

    threshold_cpu_pct = models.FloatField(
        default=80.0, validators=[MinValueValidator(1), MaxValueValidator(100)], help_text="CPU use that is too hot."
    )
    threshold_mem_pct = models.FloatField(
        default=80.0, validators=[MinValueValidator(1), MaxValueValidator(100)], help_text="Memory use that is too hot."
    )
    seed = models.IntegerField(default=42, help_text="Seed of the simulated telemetry: same seed, same curves.")
    workload_sample_every = models.PositiveIntegerField(
        default=12, validators=[MinValueValidator(1)], help_text="Workload samples every N ticks (hosts: every tick)."
    )
    raw_retention_days = models.PositiveIntegerField(
        default=1,
        validators=[MinValueValidator(1)],
        help_text="Host and site samples at full resolution (days); the 24-hour charts show them, longer ranges "
        "hourly means.",
    )
    hourly_retention_days = models.PositiveIntegerField(
        default=90, validators=[MinValueValidator(1)], help_text="Hourly means of hosts and sites (days)."
    )
    workload_retention_days = models.PositiveIntegerField(
        default=1,
        validators=[MinValueValidator(1)],
        help_text="Workload samples (every N ticks) are kept this long, then deleted: no page charts a workload, and "
        "its host's and site's samples carry its sum.",
    )

    class Meta:
        verbose_name = "capacity settings"
        verbose_name_plural = "capacity settings"

    def __str__(self) -> str:
        return f"Thresholds CPU {self.threshold_cpu_pct:g} %, memory {self.threshold_mem_pct:g} %"

    @classmethod
    def get(cls) -> CapacitySettings:
        """The settings row, or the defaults (unsaved, pk 1) until an admin saves it: reading never writes."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)


class UtilisationSample(models.Model):
    """CPU and memory use of one workload, host or site at one instant, in percent of its capacity.

    Rules: one row per (scope, object, instant). Hosts and sites are sampled every tick; their rows older than the
    raw retention are replaced by hourly means (`hourly` = True), which are deleted after the hourly retention.
    Workloads are sampled every `workload_sample_every` ticks and kept for `workload_retention_days` (volume: at
    10,000 workloads they would be most of the table, and no page charts them)."""

    scope = models.CharField(max_length=8, choices=Scope.choices)
    object_id = models.PositiveIntegerField()
    at = models.DateTimeField(db_index=True)
    hourly = models.BooleanField(default=False)
    cpu_pct = models.FloatField()
    mem_pct = models.FloatField()

    class Meta:
        ordering = ["scope", "object_id", "at"]
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "object_id", "at"],
                name="utilisationsample_one_per_instant",
                violation_error_message="There is already a sample of this object at this instant.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.object_id} @ {self.at:%Y-%m-%d %H:%M}: CPU {self.cpu_pct:.0f} %"


class Recommendation(models.Model):
    """A proposal of moves that brings a hot site or host under the thresholds in the projection.

    Rules: every move passed the pre-checks when proposed (warnings are kept and shown); it is applied or dismissed
    once (conditional update from open)."""

    scope = models.CharField(max_length=8, choices=[(Scope.HOST, "Host"), (Scope.SITE, "Site")])
    site = models.ForeignKey("inventory.Site", on_delete=models.CASCADE, related_name="+")
    host = models.ForeignKey("inventory.Host", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    state = models.CharField(
        max_length=16, choices=RecommendationState.choices, default=RecommendationState.OPEN, db_index=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    basis_at = models.DateTimeField(help_text="The instant whose load the projection starts from.")
    threshold_cpu_pct = models.FloatField()
    threshold_mem_pct = models.FloatField()
    before = models.JSONField(default=dict, help_text="Load of the hot object and of each target before the moves.")
    after = models.JSONField(default=dict, help_text="Projected load after the moves.")
    summary = models.TextField()
    brings_under = models.BooleanField(default=True, help_text="Whether the moves bring the load under the threshold.")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=list, blank=True, help_text="Per move, what applying it did.")

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Recommendation #{self.pk}: {self.summary}"

    def get_absolute_url(self) -> str:
        return reverse("capacity:recommendation_detail", args=[self.pk])

    @property
    def state_colour(self) -> str:
        return RecommendationState(self.state).colour

    @property
    def subject_name(self) -> str:
        return self.host.name if self.host_id else self.site.name


class RecommendedMove(models.Model):
    """One move of a recommendation: a workload to a destination host, with the engine's prediction."""

    recommendation = models.ForeignKey(Recommendation, on_delete=models.CASCADE, related_name="moves")
    workload = models.ForeignKey("inventory.Workload", on_delete=models.CASCADE, related_name="+")
    source_host = models.ForeignKey("inventory.Host", on_delete=models.CASCADE, related_name="+")
    destination_host = models.ForeignKey("inventory.Host", on_delete=models.CASCADE, related_name="+")
    predicted_time_s = models.FloatField()
    predicted_downtime_s = models.FloatField()
    cpu_cores = models.FloatField(help_text="CPU (in cores) the move takes off the source.")
    memory_used_bytes = models.FloatField(help_text="Memory in use the move takes off the source.")
    warnings = models.JSONField(default=list, blank=True)
    placement_note = models.TextField(blank=True, help_text="The placement rules that turned a host down for it.")
    migration = models.ForeignKey(
        "migration.Migration", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    outcome = models.TextField(blank=True)

    class Meta:
        ordering = ["recommendation", "pk"]

    def __str__(self) -> str:
        return f"{self.workload_id} → {self.destination_host_id}"


class Evacuation(models.Model):
    """Emptying a host (maintenance) or a whole site (mass migration to another site), as one wave.

    Rules: a host goes to maintenance only when no workload is left on it; workloads that cannot move are items in
    state `blocked` with the reason, and leave their host as it was. The prediction (from `plan_wave`) is made
    before the start and kept."""

    scope = models.CharField(max_length=8, choices=[(Scope.HOST, "Host"), (Scope.SITE, "Site")])
    host = models.ForeignKey("inventory.Host", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    site = models.ForeignKey("inventory.Site", on_delete=models.CASCADE, related_name="+")
    destination_site = models.ForeignKey(
        "inventory.Site", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    state = models.CharField(
        max_length=16, choices=EvacuationState.choices, default=EvacuationState.RUNNING, db_index=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    prediction = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)
    override_reason = models.TextField(
        blank=True,
        help_text="The operator's reason for accepting the pre-check warnings shown when the evacuation was "
        "confirmed; each of its migrations carries it (none: a migration with warnings is refused at its start).",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Evacuation #{self.pk} of {self.subject_name}"

    def get_absolute_url(self) -> str:
        return reverse("capacity:evacuation_detail", args=[self.pk])

    @property
    def subject_name(self) -> str:
        return self.host.name if self.host_id else self.site.name

    @property
    def state_colour(self) -> str:
        return EvacuationState(self.state).colour


class EvacuationItem(models.Model):
    """One workload of an evacuation: where it goes, its migration, and why it cannot move when it cannot."""

    evacuation = models.ForeignKey(Evacuation, on_delete=models.CASCADE, related_name="items")
    order = models.PositiveIntegerField()
    workload = models.ForeignKey("inventory.Workload", on_delete=models.CASCADE, related_name="+")
    source_host = models.ForeignKey("inventory.Host", on_delete=models.CASCADE, related_name="+")
    destination_host = models.ForeignKey(
        "inventory.Host", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    migration = models.ForeignKey(
        "migration.Migration", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    state = models.CharField(max_length=16, choices=ItemState.choices, default=ItemState.PENDING)
    reason = models.TextField(blank=True)
    warnings = models.JSONField(default=list, blank=True)
    predicted_start_s = models.FloatField(null=True, blank=True)
    predicted_end_s = models.FloatField(null=True, blank=True)
    predicted_downtime_s = models.FloatField(null=True, blank=True)
    over_window = models.BooleanField(default=False)

    class Meta:
        ordering = ["evacuation", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["evacuation", "workload"],
                name="evacuationitem_one_per_workload",
                violation_error_message="This workload is already part of this evacuation.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.workload_id} ({self.state})"

    @property
    def state_colour(self) -> str:
        return ItemState(self.state).colour

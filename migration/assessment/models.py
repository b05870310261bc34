"""Migration assessments: a scope of workloads, a destination and a link scenario, and what moving them would take."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from migration.assessment.choices import AssessmentStatus, DirtySource, MoveMode, ScopeKind
from migration.engine import DEFAULT_DOWNTIME_LIMIT_S


class Assessment(models.Model):
    """One question — what would it take to move this scope to that destination over this link? — and its answer.

    Rules: the scope is a site, a cluster, an imported estate or a query string of the workloads table's filters;
    the destination is another site (private or a public region). The scenario's link fields are the engine's
    inputs (bandwidth, RTT, loss, WAN compression, encryption, concurrency, downtime budget, an optional window).
    It is computed in the background: status goes queued → running → done | failed by conditional updates, and
    the rows are replaced whole by each computation, so computing it twice gives the same rows once."""

    name = models.CharField(max_length=120, blank=True)
    scope_kind = models.CharField(max_length=16, choices=ScopeKind.choices)
    scope_site = models.ForeignKey("inventory.Site", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    scope_cluster = models.ForeignKey(
        "inventory.Cluster", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    scope_estate = models.ForeignKey(
        "inventory.Estate", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    scope_query = models.CharField(
        max_length=1000, blank=True, help_text="The workloads table's filters, as its query string."
    )
    scope_label = models.CharField(max_length=300, blank=True)
    destination = models.ForeignKey("inventory.Site", on_delete=models.CASCADE, related_name="+")
    bandwidth_mbit = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(1_000_000)], help_text="Mbit/s (1 Gbit/s = 1000)."
    )
    rtt_ms = models.FloatField(validators=[MinValueValidator(0), MaxValueValidator(1000)])
    loss_percent = models.FloatField(default=0, validators=[MinValueValidator(0), MaxValueValidator(99)])
    compression_ratio = models.FloatField(
        default=1.0, validators=[MinValueValidator(1.0), MaxValueValidator(10.0)], help_text="1.0 = none."
    )
    encrypted = models.BooleanField(default=True)
    accept_readdressing = models.BooleanField(
        default=False, help_text="Let a workload whose segment is not at the destination move with a new address."
    )
    max_concurrent = models.PositiveSmallIntegerField(
        default=8, validators=[MinValueValidator(1), MaxValueValidator(256)], help_text="Migrations at once."
    )
    max_downtime_s = models.FloatField(
        default=DEFAULT_DOWNTIME_LIMIT_S,
        validators=[MinValueValidator(0.001), MaxValueValidator(600)],
        help_text="Downtime budget.",
    )
    window_hours = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.1), MaxValueValidator(24 * 14)],
        help_text="Length of one maintenance window, hours (empty: no window).",
    )
    link_note = models.CharField(max_length=300, blank=True, help_text="Where the scenario's figures came from.")
    overrides = models.JSONField(
        default=dict, blank=True, help_text='Edited assumptions: {"dirty_rate_bps": {"<class>": bytes/s}}.'
    )
    based_on = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="reruns",
        help_text="The assessment this one re-runs with edited assumptions.",
    )  # fmt: skip
    status = models.CharField(
        max_length=16, choices=AssessmentStatus.choices, default=AssessmentStatus.QUEUED, db_index=True
    )
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    summary = models.JSONField(default=dict, blank=True)
    assumptions = models.JSONField(default=list, blank=True, help_text="Every assumption the computation made.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True, help_text="The running computation's lease.")
    holder = models.CharField(max_length=120, blank=True, help_text="host:pid of the process computing it.")
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.name or f"Assessment #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("assessment:detail", args=[self.pk])

    @property
    def status_colour(self) -> str:
        return AssessmentStatus(self.status).colour

    @property
    def percent(self) -> float:
        if self.status == AssessmentStatus.DONE:
            return 100.0
        return round(100.0 * self.progress_done / self.progress_total, 1) if self.progress_total else 0.0

    @property
    def title(self) -> str:
        return self.name or f"{self.scope_label} → {self.destination.name}"

    def clean(self) -> None:
        errors = {}
        # The scope names what it is: a site, a cluster, or (for an estate or a filter) a query string.
        if self.scope_kind == ScopeKind.SITE and not self.scope_site_id:
            errors["scope_site"] = "Choose the site whose workloads to assess."
        if self.scope_kind == ScopeKind.CLUSTER and not self.scope_cluster_id:
            errors["scope_cluster"] = "Choose the cluster whose workloads to assess."
        if self.scope_kind == ScopeKind.ESTATE and not self.scope_estate_id:
            errors["scope_estate"] = "Choose the imported estate whose workloads to assess."
        # Moving a site onto itself is no move.
        if self.scope_kind == ScopeKind.SITE and self.scope_site_id and self.scope_site_id == self.destination_id:
            errors["destination"] = "The destination is the site being assessed; choose another site."
        if errors:
            raise ValidationError(errors)


class AssessmentRow(models.Model):
    """One workload of an assessment: how it would move, when in its wave, how long, its downtime and what limits
    it, or the pre-check errors that keep it from moving live at all. Rows copy what they show, so an assessment
    still reads the same after its workloads change or are deleted."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="rows")
    order = models.PositiveIntegerField()
    workload = models.ForeignKey(
        "inventory.Workload", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    workload_name = models.CharField(max_length=128)
    kind = models.CharField(max_length=16)
    power_state = models.CharField(max_length=16)
    guest_os = models.CharField(max_length=100, blank=True)
    source_site = models.CharField(max_length=100)
    source_host = models.CharField(max_length=100)
    destination_host = models.CharField(max_length=100, blank=True)
    vcpus = models.PositiveIntegerField()
    memory_bytes = models.BigIntegerField()
    disk_bytes = models.BigIntegerField(help_text="Disk copied with it (0 when the destination sees its datastore).")
    dirty_rate_bps = models.FloatField()
    dirty_source = models.CharField(max_length=16, choices=DirtySource.choices)
    dirty_class = models.CharField(max_length=100, blank=True, help_text="The assumption class it belongs to.")
    mode = models.CharField(max_length=16, choices=MoveMode.choices)
    errors = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    wave = models.PositiveIntegerField(null=True, blank=True)
    start_s = models.FloatField(null=True, blank=True, help_text="Seconds after its wave starts.")
    end_s = models.FloatField(null=True, blank=True)
    downtime_s = models.FloatField(null=True, blank=True)
    converged = models.BooleanField(null=True, blank=True, help_text="Empty for a cold move (nothing live).")
    throttle = models.FloatField(default=0, help_text="How much the guest was slowed to converge (0 = not at all).")
    outcome = models.CharField(max_length=16, blank=True)
    rounds = models.PositiveIntegerField(null=True, blank=True)
    bytes_sent = models.FloatField(null=True, blank=True)
    rate_bps = models.FloatField(null=True, blank=True, help_text="Its transfer rate while it has its share.")
    limit = models.CharField(max_length=32, blank=True, help_text="What binds its rate.")
    limit_sentence = models.TextField(blank=True)
    reason = models.TextField(blank=True, help_text="The engine's explanation of how pre-copy ended.")
    over_window = models.BooleanField(default=False)

    class Meta:
        ordering = ["assessment", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["assessment", "order"],
                name="assessmentrow_one_per_order",
                violation_error_message="This assessment already has a row at this position.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.workload_name} ({self.mode})"

    @property
    def duration_s(self) -> float | None:
        return None if self.start_s is None or self.end_s is None else self.end_s - self.start_s

    @property
    def mode_colour(self) -> str:
        return MoveMode(self.mode).colour

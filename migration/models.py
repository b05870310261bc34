"""Live migrations: one request per move, its pre-copy rounds and its events."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from migration.choices import (
    ACTIVE_STATES,
    CANCELLABLE_STATES,
    FINAL_STATES,
    EventKind,
    MigrationKind,
    MigrationPolicy,
    MigrationState,
    Outcome,
)
from migration.engine import DEFAULT_DOWNTIME_LIMIT_S


class MigrationQuerySet(models.QuerySet):
    def active(self) -> MigrationQuerySet:
        return self.filter(state__in=ACTIVE_STATES)

    def finished(self) -> MigrationQuerySet:
        return self.filter(state__in=FINAL_STATES)

    def transition(self, pk: int, from_states: tuple[str, ...] | str, to_state: str, **fields) -> bool:
        """Move migration `pk` to `to_state` only if it is still in one of `from_states`.

        A conditional UPDATE: applied at most once whoever calls it (two workers, a redelivered task), and the
        row's `seq` goes up by one in the same statement, so a push that follows is always after the write.
        Returns whether it applied.
        """
        if isinstance(from_states, str):
            from_states = (from_states,)
        return bool(self.filter(pk=pk, state__in=from_states).update(state=to_state, seq=F("seq") + 1, **fields))


class Migration(models.Model):
    """Moving one workload (VM or container-VM) from its host to another host, possibly on another site.

    Rules: at most one active (queued, pre-checks, pre-copy, switchover) migration per workload, held by a
    partial unique constraint; state changes only by conditional updates (`Migration.objects.transition`);
    the workload moves to the destination in the same transaction as the `completed` state, and any failure
    before that leaves it on its source. Warnings overridden at the start are kept with the written reason.
    """

    workload = models.ForeignKey("inventory.Workload", on_delete=models.CASCADE, related_name="migrations")
    source_host = models.ForeignKey("inventory.Host", on_delete=models.PROTECT, related_name="migrations_out")
    destination_host = models.ForeignKey("inventory.Host", on_delete=models.PROTECT, related_name="migrations_in")
    source_datastore = models.ForeignKey("inventory.Datastore", on_delete=models.PROTECT, related_name="+")
    destination_datastore = models.ForeignKey("inventory.Datastore", on_delete=models.PROTECT, related_name="+")
    cloud_link = models.ForeignKey(
        "inventory.CloudLink", on_delete=models.PROTECT, null=True, blank=True, related_name="migrations"
    )
    link_key = models.CharField(
        max_length=64, db_index=True, help_text="What the move's bandwidth is shared on: a WAN link or a source host."
    )
    kind = models.CharField(max_length=16, choices=MigrationKind.choices, default=MigrationKind.LIVE)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(blank=True, help_text="Why the operator moves it.")
    warnings = models.JSONField(default=list, blank=True, help_text="Pre-check warnings accepted at the start.")
    override_reason = models.TextField(blank=True, help_text="Written reason for going ahead despite warnings.")
    accept_readdressing = models.BooleanField(default=False)
    destination_segment = models.ForeignKey(
        "inventory.NetworkSegment", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    placement_reason = models.TextField(blank=True)

    state = models.CharField(
        max_length=16, choices=MigrationState.choices, default=MigrationState.PRECHECKS, db_index=True
    )
    phase = models.CharField(max_length=16, blank=True, help_text="The engine's phase: storage, precopy, ...")
    policy = models.CharField(max_length=16, choices=MigrationPolicy.choices, default=MigrationPolicy.THROTTLE)
    max_downtime_s = models.FloatField(default=DEFAULT_DOWNTIME_LIMIT_S, validators=[MinValueValidator(0.001)])
    simulation_speed = models.FloatField(default=10.0, validators=[MinValueValidator(0.001)])

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    precopy_started_at = models.DateTimeField(null=True, blank=True)
    switchover_started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    prediction = models.JSONField(default=dict, blank=True, help_text="The engine's prediction made before start.")
    predicted_total_time_s = models.FloatField(
        null=True, blank=True, help_text="Best estimate of the total time, simulated seconds, made before the start."
    )
    predicted_p10_s = models.FloatField(null=True, blank=True, help_text="Low end (p10) of the predicted total time.")
    predicted_p90_s = models.FloatField(null=True, blank=True, help_text="High end (p90) of the predicted total time.")

    memory_bytes = models.BigIntegerField(default=0)
    disk_bytes = models.BigIntegerField(default=0, help_text="Disk to copy (storage moves only).")
    rounds_count = models.PositiveIntegerField(default=0)
    bytes_sent = models.FloatField(default=0)
    memory_sent_bytes = models.FloatField(default=0)
    dirty_remaining_bytes = models.FloatField(default=0)
    transfer_rate_bps = models.FloatField(default=0)
    rate_limit = models.CharField(
        max_length=16, blank=True, help_text="The limit that set the rate at the last step: link, nic, window, ..."
    )
    rate_limit_sentence = models.TextField(blank=True, help_text="That limit with its arithmetic, in words.")
    sim_elapsed_s = models.FloatField(default=0)
    downtime_s = models.FloatField(null=True, blank=True)
    total_time_s = models.FloatField(null=True, blank=True, help_text="Simulated seconds, start to end.")
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    outcome_reason = models.TextField(blank=True)

    engine_state = models.JSONField(null=True, blank=True, help_text="The steppable simulation, to resume it.")
    seq = models.PositiveBigIntegerField(default=0, help_text="Goes up with every pushed change.")
    last_step_at = models.DateTimeField(null=True, blank=True)

    objects = MigrationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["workload"],
                condition=Q(state__in=ACTIVE_STATES),
                name="migration_one_active_per_workload",
                violation_error_message="This workload is already being migrated.",
            ),
            models.CheckConstraint(
                condition=~Q(source_host=F("destination_host")),
                name="migration_distinct_hosts",
                violation_error_message="The destination host is the workload's current host.",
            ),
        ]
        indexes = [models.Index(fields=["state", "link_key"], name="migration_state_link")]

    def __str__(self) -> str:
        return f"Migration #{self.pk}: {self.workload_id} → {self.destination_host_id}"

    def get_absolute_url(self) -> str:
        return reverse("migration:detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def is_cancellable(self) -> bool:
        return self.state in CANCELLABLE_STATES

    @property
    def state_colour(self) -> str:
        return MigrationState(self.state).colour

    @property
    def kind_colour(self) -> str:
        return MigrationKind(self.kind).colour

    @property
    def percent(self) -> float:
        """Progress that never goes backwards: finished 100 %; else memory (and disk) sent over what the
        prediction said would be sent, held below 99 % until the end."""
        if self.state == MigrationState.COMPLETED:
            return 100.0
        expected = float((self.prediction or {}).get("bytes_sent") or 0) or float(self.memory_bytes + self.disk_bytes)
        if expected <= 0:
            return 0.0
        return round(min(99.0, 100.0 * self.bytes_sent / expected), 1)

    @property
    def prediction_error(self) -> float | None:
        """(actual - predicted) / predicted total time, once both are known (positive: it took longer)."""
        if self.total_time_s is None or not self.predicted_total_time_s:
            return None
        return (self.total_time_s - self.predicted_total_time_s) / self.predicted_total_time_s

    @property
    def within_predicted_range(self) -> bool | None:
        """Whether the actual total time fell inside the predicted p10-p90 range (None before the end)."""
        if self.total_time_s is None or self.predicted_p10_s is None or self.predicted_p90_s is None:
            return None
        return self.predicted_p10_s <= self.total_time_s <= self.predicted_p90_s

    @staticmethod
    def prediction_fields(prediction: dict) -> dict[str, float | None]:
        """The prediction's best estimate and range, as the row's own fields (what the calibration reads)."""
        return {
            "predicted_total_time_s": prediction.get("total_time_s"),
            "predicted_p10_s": prediction.get("p10_total_time_s"),
            "predicted_p90_s": prediction.get("p90_total_time_s"),
        }

    @property
    def eta_s(self) -> float | None:
        """Wall-clock seconds left, from the prediction's total time and the simulated time so far."""
        if not self.is_active or not self.prediction:
            return None
        left = max(0.0, float(self.prediction.get("total_time_s") or 0) - self.sim_elapsed_s)
        return left / self.simulation_speed


class MigrationRound(models.Model):
    """One pre-copy round of a migration: `bytes` of memory sent in `duration_s` (simulated seconds), while the
    guest dirtied `dirtied_bytes`. Indexes are unique per migration (a re-run step cannot add a round twice)."""

    migration = models.ForeignKey(Migration, on_delete=models.CASCADE, related_name="rounds")
    index = models.PositiveIntegerField()
    start_s = models.FloatField()
    duration_s = models.FloatField()
    bytes = models.FloatField()
    dirty_rate_bps = models.FloatField()
    throttle = models.FloatField(default=0)
    dirtied_bytes = models.FloatField()

    class Meta:
        ordering = ["migration", "index"]
        constraints = [
            models.UniqueConstraint(
                fields=["migration", "index"],
                name="migrationround_unique_index",
                violation_error_message="This round is already recorded.",
            )
        ]

    def __str__(self) -> str:
        return f"round {self.index} of migration {self.migration_id}"

    def as_dict(self) -> dict:
        return {
            "index": self.index,
            "start_s": self.start_s,
            "duration_s": self.duration_s,
            "bytes": self.bytes,
            "dirty_rate_bps": self.dirty_rate_bps,
            "throttle": self.throttle,
            "dirtied_bytes": self.dirtied_bytes,
        }


class MigrationEvent(models.Model):
    """Something that happened to a migration (a phase change, an outcome, a cancel), in order: the audit log."""

    migration = models.ForeignKey(Migration, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    sim_time_s = models.FloatField(null=True, blank=True, help_text="Simulated seconds since the start.")
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    state = models.CharField(max_length=16, choices=MigrationState.choices)
    message = models.TextField()

    class Meta:
        ordering = ["migration", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"

    def as_dict(self) -> dict:
        return {
            "at": self.at.isoformat(),
            "sim_time_s": self.sim_time_s,
            "kind": self.kind,
            "state": self.state,
            "message": self.message,
        }

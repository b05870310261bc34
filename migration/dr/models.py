"""Disaster recovery: recovery plans (what comes back where, in which order) and the drills that prove them."""

import ipaddress

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from hybridcloud.core.units import format_duration
from inventory.models import NetworkSegment, Site, Workload
from migration.dr.choices import (
    ACTIVE_DRILL_STATES,
    RPO_MAX_S,
    RPO_MIN_S,
    DrillKind,
    DrillState,
    DrillTrigger,
    ResultState,
    StepKind,
    StepState,
    Verdict,
)


class RecoveryPlan(models.Model):
    """How a protected site's workloads come back on a recovery site, in priority groups, within a target RTO.

    Names are unique; the recovery site differs from the protected site; the optional schedule is a
    django-celery-beat PeriodicTask that fires `migration.dr.tasks.scheduled_drill` for this plan.
    """

    name = models.CharField(max_length=100, unique=True)
    protected_site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="protected_by_plans")
    recovery_site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="recovery_for_plans")
    target_rto_s = models.PositiveIntegerField(
        "target RTO (s)",
        validators=[MinValueValidator(1)],
        help_text="Recovery time objective: every workload of the plan is up within this many seconds.",
    )
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True, help_text="A disabled plan's schedule does not start drills.")
    schedule = models.OneToOneField(
        PeriodicTask,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="recovery_plan",
        help_text="The periodic task that starts this plan's test drills.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(protected_site=models.F("recovery_site")),
                name="recoveryplan_distinct_sites",
                violation_error_message="The recovery site must differ from the protected site.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("dr:plan_detail", args=[self.pk])

    def clean(self) -> None:
        # A site cannot recover itself.
        if self.protected_site_id and self.protected_site_id == self.recovery_site_id:
            raise ValidationError({"recovery_site": "The recovery site must differ from the protected site."})


class ProtectionGroup(models.Model):
    """A priority group of a plan: groups come up one after the other, lowest priority number first.
    Names and priorities are unique within a plan."""

    plan = models.ForeignKey(RecoveryPlan, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(max_length=100)
    priority = models.PositiveSmallIntegerField(help_text="1 comes up first.")

    class Meta:
        ordering = ["plan", "priority"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "priority"],
                name="protectiongroup_unique_priority",
                violation_error_message="Another group of this plan has this priority.",
            ),
            models.UniqueConstraint(
                fields=["plan", "name"],
                name="protectiongroup_unique_name",
                violation_error_message="Another group of this plan has this name.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.priority}. {self.name}"


class ProtectedWorkload(models.Model):
    """A workload replicated to the plan's recovery site with a replication RPO of 5 minutes to 24 hours.

    A workload appears at most once per plan and lives on the plan's protected site. When its segment is
    not stretched to the recovery site it needs recovery settings: a segment present on the recovery site
    and a re-addressed IP inside it. `last_replicated_at`, when set, is the time of the last replicated
    copy; otherwise drills model the replication lag (see migration/dr/drills.py).
    """

    plan = models.ForeignKey(RecoveryPlan, on_delete=models.CASCADE, related_name="protected_workloads")
    group = models.ForeignKey(ProtectionGroup, on_delete=models.CASCADE, related_name="members")
    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="protections")
    rpo_s = models.PositiveIntegerField(
        "RPO (s)",
        default=15 * 60,
        validators=[
            MinValueValidator(RPO_MIN_S, message="The RPO is at least 5 minutes (300 s): replication is asynchronous."),
            MaxValueValidator(RPO_MAX_S, message="The RPO is at most 24 hours (86,400 s)."),
        ],
        help_text="Recovery point objective: at most this many seconds of writes may be lost.",
    )
    last_replicated_at = models.DateTimeField(
        null=True, blank=True, help_text="When the last replicated copy was taken; empty: drills model the lag."
    )
    recovery_segment = models.ForeignKey(
        NetworkSegment,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Where the replica comes up when the workload's segment is not stretched to the recovery site.",
    )
    recovery_ip = models.GenericIPAddressField(
        "re-addressed IP", null=True, blank=True, help_text="The replica's IP on the recovery segment."
    )

    class Meta:
        ordering = ["group__priority", "workload__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "workload"],
                name="protectedworkload_once_per_plan",
                violation_error_message="This workload is already protected by this plan.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.workload} (RPO {format_duration(self.rpo_s)})"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        # The RPO lies between 5 minutes and 24 hours (validators say so field by field; say it once here too).
        if self.rpo_s is not None and not RPO_MIN_S <= self.rpo_s <= RPO_MAX_S:
            errors["rpo_s"] = (
                f"An RPO of {self.rpo_s} s is outside 5 minutes (300 s) .. 24 hours (86,400 s): "
                "replication is asynchronous and runs at least daily."
            )
        # The group belongs to the same plan.
        if self.group_id and self.plan_id and self.group.plan_id != self.plan_id:
            errors["group"] = f"Group {self.group.name} belongs to another plan."
        plan = self.plan if self.plan_id else None
        # The workload lives on the plan's protected site.
        if plan and self.workload_id and self.workload.host.cluster.site_id != plan.protected_site_id:
            errors["workload"] = (
                f"{self.workload} runs on {self.workload.host.cluster.site}, not on the protected site "
                f"{plan.protected_site}."
            )
        # Recovery settings come as a pair: a segment on the recovery site and an IP inside it.
        if bool(self.recovery_segment_id) != bool(self.recovery_ip):
            errors["recovery_ip"] = "Give both a recovery segment and a re-addressed IP, or neither."
        elif self.recovery_segment_id and self.recovery_ip:
            segment = self.recovery_segment
            if plan and not segment.sites.filter(pk=plan.recovery_site_id).exists():
                errors["recovery_segment"] = f"Segment {segment.name} is not present on {plan.recovery_site}."
            try:
                inside = ipaddress.ip_address(self.recovery_ip) in ipaddress.ip_network(segment.cidr, strict=False)
            except ValueError:
                inside = False
            if not inside:
                errors["recovery_ip"] = f"{self.recovery_ip} is outside segment {segment.name} ({segment.cidr})."
            elif self.recovery_ip == segment.gateway:
                errors["recovery_ip"] = f"{self.recovery_ip} is the gateway of segment {segment.name}."
        if errors:
            raise ValidationError(errors)


class DrillRun(models.Model):
    """One drill of a plan: a test recovery in an isolated network, or a planned migration.

    At most one drill of a plan is queued or running at a time (a partial unique constraint), and one per
    schedule slot (`slot_key`, unique), so a schedule firing twice or a redelivered task starts nothing twice.
    State moves queued → running → completed | failed, or to cancelled, by conditional updates; `seq` numbers
    the pushes to `drill.<id>`. A running drill is advanced by step tasks that each claim `step_token`
    (n → n+1) and hold a lease (`lease_holder`, `lease_expires_at`): every write of a step is conditional on the
    token it claimed, and the watchdog takes over a run whose lease expired (see migration/dr/leases.py).
    """

    plan = models.ForeignKey(RecoveryPlan, on_delete=models.CASCADE, related_name="drills")
    kind = models.CharField(max_length=24, choices=DrillKind.choices, default=DrillKind.TEST)
    trigger = models.CharField(max_length=16, choices=DrillTrigger.choices, default=DrillTrigger.MANUAL)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    state = models.CharField(max_length=16, choices=DrillState.choices, default=DrillState.QUEUED, db_index=True)
    verdict = models.CharField(max_length=8, choices=Verdict.choices, default=Verdict.PENDING, blank=True)
    reason = models.TextField(blank=True, help_text="Why the drill failed or missed its target.")
    override_reason = models.TextField(
        blank=True,
        help_text="A planned migration's reason, written by the operator, for accepting its pre-check warnings.",
    )
    test_network = models.CharField(max_length=100, blank=True, help_text="The isolated network it ran in.")
    target_rto_s = models.PositiveIntegerField(help_text="The plan's target when the drill ran.")
    measured_rto_s = models.FloatField(null=True, blank=True, help_text="Until the last workload was up.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    seq = models.PositiveIntegerField(default=0)
    step_token = models.PositiveIntegerField(
        default=0,
        help_text="The step counter (the lease token): each step task claims the next value, so a duplicate "
        "delivery of a step finds it taken and does nothing.",
    )
    ips_before = models.JSONField(
        default=dict, blank=True, help_text="A planned migration's workload IPs before it began (verify compares)."
    )
    timeline = models.JSONField(
        default=dict,
        blank=True,
        help_text="A test drill's computed steps and results, kept so that any worker can play the next step.",
    )
    lease_holder = models.CharField(
        max_length=100, blank=True, help_text="host:pid of the worker process that ran the last step."
    )
    lease_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="When the watchdog may take the run over if no step has run since."
    )
    resumes = models.PositiveSmallIntegerField(
        default=0, help_text="Takeovers by the watchdog since the last step that ran to its end."
    )
    slot_key = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="A scheduled drill's idempotency key (plan and slot time): one drill per schedule slot.",
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan"],
                condition=Q(state__in=ACTIVE_DRILL_STATES),
                name="drillrun_one_active_per_plan",
                violation_error_message="A drill of this plan is already running.",
            ),
            models.UniqueConstraint(
                fields=["slot_key"],
                condition=~Q(slot_key=""),
                name="drillrun_one_per_schedule_slot",
                violation_error_message="A drill already ran for this schedule slot.",
            ),
        ]

    def __str__(self) -> str:
        return f"Drill #{self.pk} of {self.plan}"

    def get_absolute_url(self) -> str:
        return reverse("dr:drill_detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_DRILL_STATES

    @property
    def state_colour(self) -> str:
        return DrillState(self.state).colour

    @property
    def verdict_colour(self) -> str:
        return Verdict(self.verdict).colour


class DrillStep(models.Model):
    """One step of a drill, in order: prepare the test network, bring up each group, verify, clean up.
    Simulated seconds are the drill's own clock (from the engine); wall seconds are what it took here."""

    run = models.ForeignKey(DrillRun, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=24, choices=StepKind.choices)
    name = models.CharField(max_length=150)
    group = models.ForeignKey(ProtectionGroup, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    state = models.CharField(max_length=16, choices=StepState.choices, default=StepState.PENDING)
    reason = models.TextField(blank=True)
    sim_start_s = models.FloatField(default=0, help_text="Simulated seconds since the drill started.")
    sim_duration_s = models.FloatField(default=0)
    wall_duration_s = models.FloatField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    migrations = models.ManyToManyField(
        "migration.Migration", blank=True, related_name="+", help_text="The live migrations a planned step started."
    )

    class Meta:
        ordering = ["run", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "order"], name="drillstep_unique_order", violation_error_message="Duplicate step."
            )
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.name}"

    @property
    def state_colour(self) -> str:
        return StepState(self.state).colour


class DrillWorkloadResult(models.Model):
    """How one protected workload fared in a drill: where and when it came up, and whether its RPO held."""

    run = models.ForeignKey(DrillRun, on_delete=models.CASCADE, related_name="results")
    workload = models.ForeignKey(Workload, on_delete=models.SET_NULL, null=True, related_name="+")
    workload_name = models.CharField(max_length=128)
    group = models.ForeignKey(ProtectionGroup, on_delete=models.SET_NULL, null=True, related_name="+")
    group_name = models.CharField(max_length=100)
    priority = models.PositiveSmallIntegerField()
    state = models.CharField(max_length=16, choices=ResultState.choices)
    reason = models.TextField(blank=True)
    rpo_s = models.PositiveIntegerField()
    replication_lag_s = models.FloatField(help_text="Age of the replica it came up from.")
    rpo_met = models.BooleanField()
    data_loss_window_s = models.FloatField(help_text="Writes that would be lost in a real disaster.")
    pending_bytes = models.FloatField(default=0, help_text="Changed data still to send when the drill started.")
    transfer_s = models.FloatField(default=0)
    boot_s = models.FloatField(default=0)
    up_at_s = models.FloatField(null=True, blank=True, help_text="Simulated seconds since the drill started.")
    recovery_time_s = models.FloatField(null=True, blank=True, help_text="From its group's start until it was up.")
    recovered_on = models.CharField(max_length=100, blank=True, help_text="Recovery host.")
    test_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["run", "priority", "workload_name"]

    def __str__(self) -> str:
        return f"{self.workload_name} in {self.run}"

    @property
    def state_colour(self) -> str:
        return ResultState(self.state).colour

"""Move groups: a set of workloads moved together to one destination, at most `concurrency` at a time."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from migration.choices import MigrationPolicy
from migration.engine import DEFAULT_DOWNTIME_LIMIT_S
from migration.moves.choices import EDITABLE_STATES, MemberState, MoveGroupState, WindowClose

#: The most workloads one group moves (a bigger wave is split into several groups).
MAX_MEMBERS = 1000
MAX_CONCURRENCY = 50


class MoveGroup(models.Model):
    """A wave: its members move to one destination (a host, or a site where placement picks each host), at most
    `concurrency` migrations at a time, in member order.

    Rules: it starts at `start_at` exactly once (a conditional update from `scheduled` to `running` that records
    `start_key`, unique); its schedule is editable, and it is cancellable without touching a migration, until then.
    With a maintenance window, a member's pre-copy may run before `window_start` but its switchover waits for it;
    a member still in pre-copy at `window_end` is aborted or switched over anyway, as `on_window_close` says.
    Warnings accepted at creation are kept with the one written `override_reason`.
    """

    name = models.CharField(max_length=100)
    destination_site = models.ForeignKey(
        "inventory.Site", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    destination_host = models.ForeignKey(
        "inventory.Host", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    concurrency = models.PositiveSmallIntegerField(
        default=4, validators=[MinValueValidator(1), MaxValueValidator(MAX_CONCURRENCY)]
    )
    policy = models.CharField(max_length=16, choices=MigrationPolicy.choices, default=MigrationPolicy.THROTTLE)
    max_downtime_s = models.FloatField(
        default=DEFAULT_DOWNTIME_LIMIT_S, validators=[MinValueValidator(0.001), MaxValueValidator(600)]
    )
    accept_readdressing = models.BooleanField(default=False)
    override_reason = models.TextField(blank=True, help_text="One written reason for every warning accepted.")
    warnings = models.JSONField(default=list, blank=True, help_text="The warnings accepted at creation, grouped.")
    left_out = models.JSONField(default=list, blank=True, help_text="Workloads left out at creation, and why.")

    state = models.CharField(max_length=16, choices=MoveGroupState.choices, default=MoveGroupState.SCHEDULED)
    start_at = models.DateTimeField(help_text="When the group starts feeding its members to migrations.")
    window_start = models.DateTimeField(null=True, blank=True, help_text="Switchovers wait for this time.")
    window_end = models.DateTimeField(null=True, blank=True, help_text="The maintenance window closes.")
    on_window_close = models.CharField(max_length=16, choices=WindowClose.choices, default=WindowClose.ABORT)
    start_key = models.CharField(max_length=80, blank=True, help_text="The start's idempotency key.")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["start_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["start_key"],
                condition=~Q(start_key=""),
                name="movegroup_started_once",
                violation_error_message="This group has already started.",
            ),
            models.CheckConstraint(
                condition=Q(destination_site__isnull=False) | Q(destination_host__isnull=False),
                name="movegroup_has_destination",
                violation_error_message="Choose a destination: a host, or a site.",
            ),
        ]

    def __str__(self) -> str:
        return f"Move group #{self.pk}: {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("moves:detail", args=[self.pk])

    def clean(self) -> None:
        # A destination: a host or a site.
        if self.destination_host_id is None and self.destination_site_id is None:
            raise ValidationError({"destination_site": "Choose a destination: a host, or a site."})
        # A window is both ends, in order.
        if (self.window_start is None) != (self.window_end is None):
            raise ValidationError({"window_end": "A maintenance window needs both its start and its end."})
        if self.window_start is not None and self.window_end <= self.window_start:
            raise ValidationError({"window_end": "The maintenance window must end after it starts."})
        # The group must start before its window closes.
        if self.window_end is not None and self.start_at is not None and self.start_at >= self.window_end:
            raise ValidationError({"start_at": "The group must start before its maintenance window closes."})

    @property
    def destination_name(self) -> str:
        if self.destination_host_id:
            return f"host {self.destination_host.name}"
        return f"site {self.destination_site.name} (placement picks each host)"

    @property
    def state_colour(self) -> str:
        return MoveGroupState(self.state).colour

    @property
    def is_editable(self) -> bool:
        return self.state in EDITABLE_STATES

    def switchover_held_at(self, now) -> bool:
        """Whether switchovers wait at `now` (the window has not opened yet)."""
        return self.window_start is not None and now < self.window_start


class MoveGroupMember(models.Model):
    """One workload of a group, in order; `migration` once it was fed to one (a refusal at its turn is kept)."""

    group = models.ForeignKey(MoveGroup, on_delete=models.CASCADE, related_name="members")
    workload = models.ForeignKey("inventory.Workload", on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()
    state = models.CharField(max_length=16, choices=MemberState.choices, default=MemberState.PENDING)
    migration = models.OneToOneField(
        "migration.Migration", on_delete=models.SET_NULL, null=True, blank=True, related_name="move_member"
    )
    error = models.TextField(blank=True, help_text="Why it was refused at its turn.")

    class Meta:
        ordering = ["group", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "workload"],
                name="movegroupmember_once_per_group",
                violation_error_message="This workload is already in the group.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.workload_id} in move group {self.group_id}"

    @property
    def state_colour(self) -> str:
        return MemberState(self.state).colour

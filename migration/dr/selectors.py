"""Reads of the DR app: plans with their coverage, drill state for pushes, reports, trends and alerts."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, OuterRef, Prefetch, QuerySet, Subquery
from django.urls import reverse

from inventory.models import Site, Workload
from migration.dr.choices import DrillState, Verdict
from migration.dr.models import DrillRun, DrillStep, DrillWorkloadResult, ProtectedWorkload, RecoveryPlan
from migration.prechecks import precheck_migration


def plan_list() -> QuerySet[RecoveryPlan]:
    """Plans with their sites, schedule, counts and last finished drill (constant number of queries)."""
    last = DrillRun.objects.filter(plan=OuterRef("pk"), state__in=[DrillState.COMPLETED, DrillState.FAILED]).order_by(
        "-finished_at", "-pk"
    )
    return (
        RecoveryPlan.objects.select_related("protected_site", "recovery_site", "schedule__crontab")
        .annotate(
            workload_count=Count("protected_workloads", distinct=True),
            group_count=Count("groups", distinct=True),
            last_drill_id=Subquery(last.values("pk")[:1]),
            last_verdict=Subquery(last.values("verdict")[:1]),
            last_rto_s=Subquery(last.values("measured_rto_s")[:1]),
            last_finished_at=Subquery(last.values("finished_at")[:1]),
        )
        .order_by("name")
    )


@dataclass
class SiteCoverage:
    site: Site
    total: int = 0
    protected: int = 0
    unprotected: list[Workload] = field(default_factory=list)

    @property
    def unprotected_count(self) -> int:
        return self.total - self.protected

    @property
    def percent(self) -> float:
        return 100.0 * self.protected / self.total if self.total else 0.0


def site_coverage(unprotected_limit: int = 50) -> list[SiteCoverage]:
    """Per site: how many workloads some plan protects, and which are not protected (first few by name)."""
    protected_ids = set(ProtectedWorkload.objects.values_list("workload_id", flat=True).distinct())
    coverage = {s.pk: SiteCoverage(site=s) for s in Site.objects.order_by("name")}
    rows = Workload.objects.values_list("pk", "host__cluster__site_id").order_by()
    unprotected_ids: list[int] = []
    for pk, site_id in rows:
        entry = coverage.get(site_id)
        if entry is None:
            continue
        entry.total += 1
        if pk in protected_ids:
            entry.protected += 1
        else:
            unprotected_ids.append(pk)
    shown: dict[int, int] = {}
    for w in (
        Workload.objects.filter(pk__in=unprotected_ids)
        .select_related("host__cluster")
        .only("pk", "name", "kind", "memory_bytes", "vcpus", "host__name", "host__cluster__site_id")
        .order_by("name")
    ):
        site_id = w.host.cluster.site_id
        if shown.get(site_id, 0) < unprotected_limit:
            coverage[site_id].unprotected.append(w)
            shown[site_id] = shown.get(site_id, 0) + 1
    return [c for c in coverage.values() if c.total]


def plan_detail(pk: int) -> RecoveryPlan:
    members = ProtectedWorkload.objects.select_related(
        "workload__host__cluster__site", "workload__segment", "recovery_segment"
    ).order_by("workload__name")
    return (
        RecoveryPlan.objects.select_related("protected_site", "recovery_site", "schedule__crontab")
        .prefetch_related(Prefetch("groups__members", queryset=members))
        .get(pk=pk)
    )


def plan_drills(plan: RecoveryPlan, limit: int = 20) -> list[DrillRun]:
    return list(plan.drills.select_related("started_by").order_by("-created_at", "-pk")[:limit])


def rto_trend(plan: RecoveryPlan, limit: int = 60) -> dict:
    """Measured RTO of the plan's finished drills, oldest first, with the target, for the trend chart."""
    runs = list(
        plan.drills.filter(state__in=[DrillState.COMPLETED, DrillState.FAILED], measured_rto_s__isnull=False)
        .order_by("-started_at", "-pk")
        .values("pk", "started_at", "measured_rto_s", "target_rto_s", "verdict", "state")[:limit]
    )
    runs.reverse()
    return {
        "target_rto_s": plan.target_rto_s,
        "points": [
            {
                "id": r["pk"],
                "at": r["started_at"].isoformat() if r["started_at"] else None,
                "rto_s": round(r["measured_rto_s"], 1),
                "verdict": r["verdict"],
                "state": r["state"],
                "url": reverse("dr:drill_report", args=[r["pk"]]),
            }
            for r in runs
        ],
    }


def _step_dict(step: DrillStep) -> dict:
    return {
        "id": step.pk,
        "order": step.order,
        "kind": step.kind,
        "name": step.name,
        "state": step.state,
        "state_label": step.get_state_display(),
        "reason": step.reason,
        "sim_start_s": step.sim_start_s,
        "sim_duration_s": step.sim_duration_s,
        "wall_duration_s": step.wall_duration_s,
    }


def _result_dict(r: DrillWorkloadResult) -> dict:
    return {
        "workload": r.workload_name,
        "workload_id": r.workload_id,
        "group": r.group_name,
        "priority": r.priority,
        "state": r.state,
        "reason": r.reason,
        "rpo_s": r.rpo_s,
        "replication_lag_s": r.replication_lag_s,
        "rpo_met": r.rpo_met,
        "data_loss_window_s": r.data_loss_window_s,
        "pending_bytes": r.pending_bytes,
        "transfer_s": r.transfer_s,
        "boot_s": r.boot_s,
        "start_s": (r.up_at_s - r.recovery_time_s) if r.up_at_s is not None else None,
        "up_at_s": r.up_at_s,
        "recovery_time_s": r.recovery_time_s,
        "recovered_on": r.recovered_on,
        "test_ip": r.test_ip,
    }


def drill_state(run: DrillRun) -> dict:
    """A drill's whole state as JSON: the websocket snapshot and every push carry it."""
    steps = list(run.steps.order_by("order"))
    results = list(run.results.order_by("priority", "workload_name"))
    return {
        "seq": run.seq,
        "state": run.state,
        "drill": {
            "id": run.pk,
            "plan": run.plan.name,
            "plan_id": run.plan_id,
            "kind": run.kind,
            "trigger": run.trigger,
            "state": run.state,
            "state_label": run.get_state_display(),
            "verdict": run.verdict,
            "verdict_label": run.get_verdict_display(),
            "reason": run.reason,
            "test_network": run.test_network,
            "target_rto_s": run.target_rto_s,
            "measured_rto_s": run.measured_rto_s,
            "started_at": run.started_at.isoformat() if run.started_at else None,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "report_url": reverse("dr:drill_report", args=[run.pk]),
            # Results arrive group by group: the live page counts up against the plan's protected workloads.
            "workload_count": max(len(results), run.plan.protected_workloads.count()),
        },
        "steps": [_step_dict(s) for s in steps],
        "results": [_result_dict(r) for r in results],
    }


def drill_report(pk: int) -> tuple[DrillRun, list[DrillStep], list[DrillWorkloadResult]]:
    run = DrillRun.objects.select_related("plan__protected_site", "plan__recovery_site", "started_by").get(pk=pk)
    return run, list(run.steps.order_by("order")), list(run.results.order_by("priority", "workload_name"))


def failed_drill_alerts() -> list[DrillRun]:
    """For the overview: each plan whose latest finished drill missed its target (or failed), newest first.

    Template: templates/dr/_overview_alerts.html (expects `dr_alerts`).
    """
    latest = DrillRun.objects.filter(plan=OuterRef("plan"), state__in=[DrillState.COMPLETED, DrillState.FAILED])
    return list(
        DrillRun.objects.filter(state__in=[DrillState.COMPLETED, DrillState.FAILED], verdict=Verdict.MISSED)
        .filter(pk=Subquery(latest.order_by("-finished_at", "-pk").values("pk")[:1]))
        .select_related("plan")
        .order_by("-finished_at")
    )


@dataclass
class PlannedGroupPreview:
    priority: int
    name: str
    workloads: list[str]
    memory_bytes: int
    vcpus: int
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.workloads)


@dataclass
class PlannedMigrationPreview:
    """What a planned migration of a plan would do now: its groups in order, the pre-check errors (each
    "workload: sentence") that would stop it and the warnings an operator must accept in writing, checked against
    placement on the recovery site."""

    plan: RecoveryPlan
    groups: list[PlannedGroupPreview]

    @property
    def errors(self) -> list[str]:
        return [e for g in self.groups for e in g.errors]

    @property
    def warnings(self) -> list[str]:
        return [w for g in self.groups for w in g.warnings]

    @property
    def workload_count(self) -> int:
        return sum(g.count for g in self.groups)

    @property
    def stops_at(self) -> PlannedGroupPreview | None:
        return next((g for g in self.groups if g.errors), None)


def planned_migration_preview(plan: RecoveryPlan) -> PlannedMigrationPreview:
    """Pre-check every protected workload's move to the plan's recovery site (placement chooses the host)."""
    members = list(
        ProtectedWorkload.objects.filter(plan=plan)
        .select_related("workload", "group")
        .order_by("group__priority", "workload__name")
    )
    groups = {
        g.pk: PlannedGroupPreview(priority=g.priority, name=g.name, workloads=[], memory_bytes=0, vcpus=0)
        for g in plan.groups.order_by("priority")
    }
    for member in members:
        group, w = groups[member.group_id], member.workload
        group.workloads.append(w.name)
        group.memory_bytes += w.memory_bytes
        group.vcpus += w.vcpus
        check = precheck_migration(workload=w, destination_site=plan.recovery_site)
        group.errors += [f"{w.name}: {e}" for e in check.errors]
        group.warnings += [x if w.name in x else f"{w.name}: {x}" for x in check.warnings]
    return PlannedMigrationPreview(plan=plan, groups=list(groups.values()))

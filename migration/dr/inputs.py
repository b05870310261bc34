"""What a test drill reads from the database, as the plain values of `migration.dr.drills`, and the fingerprint
of production it proves unchanged."""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.utils import timezone

from inventory.choices import HostState
from inventory.models import Host, NetworkSegment, Workload
from inventory.selectors import host_usage, link_between
from migration.dr import drills
from migration.dr.models import DrillRun, ProtectedWorkload, RecoveryPlan
from migration.placement import rule_book_load


def production_fingerprint(site_ids: list[int] | None = None) -> str:
    """A hash of the values of production rows (hosts, workloads, segments and where segments are present).

    With `site_ids`, only the rows of those sites. A test drill compares it before and after.
    """
    hosts = Host.objects.order_by("pk")
    workloads = Workload.objects.order_by("pk")
    segments = NetworkSegment.objects.order_by("pk")
    presence = NetworkSegment.sites.through.objects.order_by("pk")
    if site_ids is not None:
        hosts = hosts.filter(cluster__site__in=site_ids)
        workloads = workloads.filter(host__cluster__site__in=site_ids)
        segments = segments.filter(sites__in=site_ids).distinct()
        presence = presence.filter(site__in=site_ids)
    digest = hashlib.sha256()
    for queryset in (hosts, workloads, segments, presence):
        for row in queryset.values_list():
            digest.update(repr(row).encode())
        digest.update(b"|")
    return digest.hexdigest()


def drill_inputs(*, plan: RecoveryPlan, run: DrillRun, now: datetime | None = None) -> drills.DrillInputs:
    """Read what a drill needs from the database into plain values (a constant number of queries)."""
    now = now or timezone.now()
    link = link_between(plan.protected_site_id, plan.recovery_site_id)
    hosts = list(
        Host.objects.filter(cluster__site_id=plan.recovery_site_id, state=HostState.CONNECTED).order_by("name")
    )
    usage = host_usage(hosts)
    capacities = tuple(
        drills.HostCapacity(
            name=h.name,
            free_memory_bytes=h.memory_bytes - usage[h.pk].memory_bytes,
            free_vcpus=h.vcpu_capacity - usage[h.pk].vcpus,
            cores=h.cores,
        )
        for h in hosts
    )
    concurrency = sum(h.max_concurrent_migrations for h in hosts) or 1
    recovery_segments = set(
        NetworkSegment.sites.through.objects.filter(site_id=plan.recovery_site_id).values_list(
            "networksegment_id", flat=True
        )
    )
    groups = _group_specs(plan=plan, run=run, now=now, recovery_segments=recovery_segments)
    return drills.DrillInputs(
        protected_site=plan.protected_site.name,
        recovery_site=plan.recovery_site.name,
        test_network=run.test_network or f"drill-{run.pk}-bubble",
        link=(
            drills.LinkInfo(
                bandwidth_bps=link.bandwidth_bps,
                rtt_s=link.rtt_s,
                compression_ratio=link.compression_ratio,
                loss=link.loss_percent / 100,
            )
            if link
            else None
        ),
        hosts=capacities,
        groups=groups,
        transfer_concurrency=concurrency,
        **_drill_rules(members=[spec.workload_id for g in groups for spec in g.workloads]),
    )


def _group_specs(
    *, plan: RecoveryPlan, run: DrillRun, now: datetime, recovery_segments: set[int]
) -> tuple[drills.GroupSpec, ...]:
    """The plan's priority groups in order, each with its protected workloads as the drill model sees them (the
    replica's age: stored, or modelled from the RPO)."""
    members = (
        ProtectedWorkload.objects.filter(plan=plan)
        .select_related("workload__segment", "recovery_segment", "group")
        .order_by("group__priority", "workload__name")
    )
    by_group: dict[int, list[drills.WorkloadSpec]] = {g.pk: [] for g in plan.groups.all()}
    for member in members:
        w = member.workload
        if member.last_replicated_at:
            lag = max((now - member.last_replicated_at).total_seconds(), 0.0)
        else:
            lag = drills.modelled_lag_s(member.rpo_s, f"{run.pk}:{w.pk}")
        by_group.setdefault(member.group_id, []).append(
            drills.WorkloadSpec(
                workload_id=w.pk,
                name=w.name,
                memory_bytes=w.memory_bytes,
                vcpus=w.vcpus,
                working_set_bytes=w.working_set_bytes,
                dirty_rate_bps=w.dirty_rate_bps,
                rpo_s=member.rpo_s,
                replication_lag_s=lag,
                segment_name=w.segment.name,
                segment_on_recovery_site=w.segment_id in recovery_segments,
                ip_address=w.ip_address,
                recovery_ip=member.recovery_ip,
                recovery_segment_name=member.recovery_segment.name if member.recovery_segment else None,
            )
        )
    return tuple(
        drills.GroupSpec(group_id=g.pk, name=g.name, priority=g.priority, workloads=tuple(by_group.get(g.pk, [])))
        for g in plan.groups.order_by("priority")
    )


def _drill_rules(*, members: list[int]) -> dict:
    """The placement rules with a member among the plan's workloads, and where their members outside the plan run
    (the replicas themselves are placed by the drill)."""
    book = rule_book_load()
    in_plan = set(members)
    rules = tuple(rule for rule in book.rules if rule.members & in_plan)
    spots = {pk: spot for pk, spot in book.spots.items() if pk not in in_plan}
    return {"rules": rules, "rule_spots": spots}

"""A recovery plan on the factories' two-site topology: California protected, recovered on Virginia."""

from __future__ import annotations

from dataclasses import dataclass

from inventory.models import Workload
from migration.dr.models import ProtectedWorkload, ProtectionGroup, RecoveryPlan
from tests import factories


@dataclass
class PlanSetup:
    topo: factories.Topology
    plan: RecoveryPlan
    groups: list[ProtectionGroup]
    workloads: list[Workload]


def protect(plan: RecoveryPlan, group: ProtectionGroup, workload: Workload, **extra) -> ProtectedWorkload:
    member = ProtectedWorkload(plan=plan, group=group, workload=workload, **extra)
    member.full_clean()
    member.save()
    return member


def demo_plan(*, target_rto_s: int = 3600, name: str = "California → Virginia") -> PlanSetup:
    """Three groups (databases, app tier, web tier) of California workloads on the stretched segment;
    the database on the California-only segment is re-addressed on Virginia's local segment."""
    topo = factories.topology()
    plan = RecoveryPlan.objects.create(
        name=name, protected_site=topo.ca, recovery_site=topo.va, target_rto_s=target_rto_s
    )
    groups = [
        ProtectionGroup.objects.create(plan=plan, name=n, priority=i)
        for i, n in enumerate(["databases", "app tier", "web tier"], 1)
    ]
    ca1, ca2 = topo.ca_hosts
    db1 = factories.workload(ca1, name="ca-db-01", memory_gib=16, vcpus=8, segment=topo.ca_local)
    db2 = factories.workload(ca2, name="ca-db-02", memory_gib=16, vcpus=8, segment=topo.stretched, kind="container_vm")
    app = [
        factories.workload(ca1, name=f"ca-app-{i:02d}", memory_gib=8, vcpus=4, segment=topo.stretched) for i in (1, 2)
    ]
    web = [
        factories.workload(ca2, name=f"ca-web-{i:02d}", memory_gib=4, vcpus=2, segment=topo.stretched)
        for i in (1, 2, 3)
    ]
    protect(plan, groups[0], db1, rpo_s=300, recovery_segment=topo.va_local, recovery_ip="10.30.5.10")
    protect(plan, groups[0], db2, rpo_s=300)
    for w in app:
        protect(plan, groups[1], w, rpo_s=900)
    for w in web:
        protect(plan, groups[2], w, rpo_s=3600)
    return PlanSetup(topo=topo, plan=plan, groups=groups, workloads=[db1, db2, *app, *web])

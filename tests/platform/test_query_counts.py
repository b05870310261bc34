"""Every list and detail page runs the same number of queries at N rows as at 3N rows (no query per row).

Each case names a page and a `grow` function that adds rows of what the page lists (or, for a detail page, rows
of what it shows inside one object). The page is rendered after `grow(N)` and again after `grow(2N)` more; the
second render must run no more queries than the first.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from containers.models import ContainerHost
from containers.services.create import container_create
from containers.services.images import image_pull
from hybridcloud.core.models import AuditEntry
from hybridcloud.core.units import GIB
from inventory.models import EstateImport
from migration.alarms.models import Alarm, AlarmRule
from migration.assessment.models import Assessment
from migration.capacity.models import Evacuation, EvacuationItem, Recommendation, RecommendedMove
from migration.dr.models import ProtectedWorkload, ProtectionGroup, RecoveryPlan
from migration.models import Migration
from migration.moves.models import MoveGroup, MoveGroupMember
from tests import factories

N = 2
_n = count(1)


@dataclass
class World:
    topo: factories.Topology
    container_host: ContainerHost
    plan: RecoveryPlan
    group: ProtectionGroup
    recommendation: Recommendation
    evacuation: Evacuation
    move_group: MoveGroup


@pytest.fixture
def world(db, admin_user) -> World:
    topo = factories.topology()
    for ref in ("nginx:1.27", "redis:7.4"):
        repository, tag = ref.split(":")
        image_pull(repository=repository, tag=tag)
    container_host = ContainerHost.objects.create(
        name="ca-docker", cluster=topo.ca_cluster, cpu_limit=512, memory_limit_bytes=4096 * GIB,
        segment=topo.stretched, endpoint="tcp://ca-docker.example.net:2376",
    )  # fmt: skip
    plan = RecoveryPlan.objects.create(name="CA → VA", protected_site=topo.ca, recovery_site=topo.va, target_rto_s=1800)
    group = ProtectionGroup.objects.create(plan=plan, name="tier 1", priority=0)
    now = timezone.now()
    recommendation = Recommendation.objects.create(
        scope="site", site=topo.ca, basis_at=now, threshold_cpu_pct=80, threshold_mem_pct=80, summary="cool CA"
    )
    evacuation = Evacuation.objects.create(scope="host", host=topo.ca_hosts[0], site=topo.ca)
    move_group = MoveGroup.objects.create(name="wave 1", destination_host=topo.va_hosts[0], start_at=now)
    return World(topo, container_host, plan, group, recommendation, evacuation, move_group)


def _vm(w: World):
    return factories.workload(w.topo.ca_hosts[0], memory_gib=1, segment=w.topo.stretched)


def _migration(w: World, state: str = "completed") -> Migration:
    src, dst = w.topo.ca_hosts[0], w.topo.va_hosts[0]
    return Migration.objects.create(
        workload=_vm(w), source_host=src, destination_host=dst, source_datastore=w.topo.ca_datastore,
        destination_datastore=w.topo.va_datastore, cloud_link=w.topo.ca_link_va,
        link_key=f"link-{w.topo.ca_link_va.pk}", state=state, finished_at=timezone.now(),
        outcome="completed" if state == "completed" else "aborted",
    )  # fmt: skip


def grow_workloads(w: World, k: int) -> None:
    for _ in range(k):
        _vm(w)


def grow_sites(w: World, k: int) -> None:
    for _ in range(k):
        s = factories.site(f"site-{next(_n)}")
        factories.host(factories.cluster(s, f"cl-{next(_n)}"), f"h-{next(_n)}")


def grow_migrations(w: World, k: int) -> None:
    for i in range(k):
        _migration(w, "completed" if i % 2 else "failed")


def grow_containers(w: World, k: int) -> None:
    for i in range(k):
        container_create(
            container_host=w.container_host, name=f"c{next(_n)}", image_ref="nginx:1.27" if i % 2 else "redis:7.4",
            memory_bytes=GIB,
        )  # fmt: skip
    for _ in range(k):
        image_pull(repository=f"app{next(_n)}", tag="1.0")


def grow_plans(w: World, k: int) -> None:
    for _ in range(k):
        p = RecoveryPlan.objects.create(
            name=f"plan {next(_n)}", protected_site=w.topo.ca, recovery_site=w.topo.va, target_rto_s=1800
        )
        g = ProtectionGroup.objects.create(plan=p, name="g", priority=0)
        ProtectedWorkload.objects.create(plan=p, group=g, workload=_vm(w))


def grow_plan_members(w: World, k: int) -> None:
    for _ in range(k):
        ProtectedWorkload.objects.create(plan=w.plan, group=w.group, workload=_vm(w))


def grow_recommendations(w: World, k: int) -> None:
    now = timezone.now()
    for i in range(k):
        Recommendation.objects.create(
            scope="host", site=w.topo.ca, host=w.topo.ca_hosts[i % 2], basis_at=now, threshold_cpu_pct=80,
            threshold_mem_pct=80, summary=f"move {next(_n)}",
        )  # fmt: skip
        Evacuation.objects.create(scope="host", host=w.topo.ca_hosts[i % 2], site=w.topo.ca)


def grow_recommended_moves(w: World, k: int) -> None:
    for _ in range(k):
        RecommendedMove.objects.create(
            recommendation=w.recommendation, workload=_vm(w), source_host=w.topo.ca_hosts[0],
            destination_host=w.topo.ca_hosts[1], predicted_time_s=30, predicted_downtime_s=0.2, cpu_cores=1,
            memory_used_bytes=GIB,
        )  # fmt: skip


def grow_evacuation_items(w: World, k: int) -> None:
    start = w.evacuation.items.count()
    for i in range(k):
        EvacuationItem.objects.create(
            evacuation=w.evacuation, order=start + i, workload=_vm(w), source_host=w.topo.ca_hosts[0],
            destination_host=w.topo.va_hosts[0], migration=_migration(w),
        )  # fmt: skip


def grow_alarms(w: World, k: int) -> None:
    rule = AlarmRule.objects.order_by("pk").first()
    now = timezone.now()
    for i in range(k):
        h = w.topo.ca_hosts[i % 2]
        Alarm.objects.create(
            rule=rule, key=f"host:{h.pk}:{next(_n)}", object_type="host", object_id=h.pk, object_name=h.name,
            object_url=h.get_absolute_url(), severity="warning", message="CPU over 80 %", first_seen=now, last_seen=now,
            state="active" if i % 2 else "cleared",
        )  # fmt: skip


def grow_move_groups(w: World, k: int) -> None:
    for _ in range(k):
        g = MoveGroup.objects.create(
            name=f"wave {next(_n)}", destination_host=w.topo.va_hosts[0], start_at=timezone.now() + timedelta(hours=1)
        )
        MoveGroupMember.objects.create(group=g, workload=_vm(w), position=0)


def grow_move_members(w: World, k: int) -> None:
    start = w.move_group.members.count()
    for i in range(k):
        MoveGroupMember.objects.create(group=w.move_group, workload=_vm(w), position=start + i, migration=_migration(w))


def grow_audit(w: World, k: int) -> None:
    for _ in range(k):
        AuditEntry.objects.create(action="migration.start", actor_label="admin", object_repr=f"wl {next(_n)}")


def grow_assessments(w: World, k: int) -> None:
    for _ in range(k):
        Assessment.objects.create(
            name=f"a{next(_n)}", scope_kind="site", scope_site=w.topo.ca, destination=w.topo.va, bandwidth_mbit=10_000,
            rtt_ms=65, status="done",
        )  # fmt: skip


def grow_imports(w: World, k: int) -> None:
    for _ in range(k):
        EstateImport.objects.create(file_name=f"rvtools-{next(_n)}.xlsx", file_size=1000)


def grow_rules(w: World, k: int) -> None:
    for _ in range(k):
        AlarmRule.objects.create(name=f"rule {next(_n)}", kind="migration_failed", severity="warning")


def _first_site(w: World) -> str:
    return f"/sites/{w.topo.ca.pk}/"


@dataclass(frozen=True)
class Case:
    id: str
    url: Callable[[World], str]
    grow: Callable[[World, int], None]


CASES = [
    Case("overview", lambda w: "/", grow_workloads),
    Case("workloads", lambda w: "/workloads/", grow_workloads),
    Case("workloads-csv", lambda w: "/workloads/export.csv", grow_workloads),
    Case("sites", lambda w: "/sites/", grow_sites),
    Case("site-detail", _first_site, grow_workloads),
    Case("host-detail", lambda w: f"/hosts/{w.topo.ca_hosts[0].pk}/", grow_workloads),
    Case("cluster-detail", lambda w: f"/clusters/{w.topo.ca_cluster.pk}/", grow_workloads),
    Case("segment-detail", lambda w: f"/segments/{w.topo.stretched.pk}/", grow_workloads),
    Case("migrations", lambda w: "/migrations/", grow_migrations),
    Case("migrations-csv", lambda w: "/migrations/export.csv", grow_migrations),
    Case("containers", lambda w: "/containers/", grow_containers),
    Case("container-host", lambda w: f"/containers/hosts/{w.container_host.name}/", grow_containers),
    Case("dr-plans", lambda w: "/dr/", grow_plans),
    Case("dr-plan-detail", lambda w: f"/dr/plans/{w.plan.pk}/", grow_plan_members),
    Case("capacity", lambda w: "/capacity/", grow_recommendations),
    Case("recommendations-csv", lambda w: "/capacity/?recommendations-export=csv", grow_recommendations),
    Case("evacuations-csv", lambda w: "/capacity/?evacuations-export=csv", grow_recommendations),
    Case("images-csv", lambda w: "/containers/?images-export=csv", grow_containers),
    Case("container-vms-csv", lambda w: f"/containers/hosts/{w.container_host.name}/?export=csv", grow_containers),
    Case(
        "recommendation-detail", lambda w: f"/capacity/recommendations/{w.recommendation.pk}/", grow_recommended_moves
    ),
    Case("evacuation-detail", lambda w: f"/capacity/evacuations/{w.evacuation.pk}/", grow_evacuation_items),
    Case("alarms", lambda w: "/alarms/", grow_alarms),
    Case("move-groups", lambda w: "/moves/", grow_move_groups),
    Case("move-group-detail", lambda w: f"/moves/{w.move_group.pk}/", grow_move_members),
    Case("audit", lambda w: "/audit/", grow_audit),
    Case("placement-rules", lambda w: "/placement-rules/", grow_workloads),
    Case("assessments", lambda w: "/assessments/", grow_assessments),
    Case("imports", lambda w: "/imports/", grow_imports),
    Case("alarm-rules", lambda w: "/alarms/rules/", grow_rules),
    Case("capacity-host", lambda w: f"/capacity/hosts/{w.topo.ca_hosts[0].pk}/", grow_workloads),
    Case("api-root", lambda w: "/api/", grow_workloads),
]


def _queries(client, url: str) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
    assert response.status_code == 200, (url, response.status_code)
    return len(ctx), [q["sql"] for q in ctx.captured_queries]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_query_count_does_not_grow_with_rows(case: Case, world: World, admin_client):
    case.grow(world, N)
    url = case.url(world)
    admin_client.get(url)  # warm caches (content types, settings rows) so both renders start equal
    at_n, _ = _queries(admin_client, url)
    case.grow(world, 2 * N)
    at_3n, sql = _queries(admin_client, url)
    assert at_3n <= at_n, f"{url}: {at_n} queries at {N} rows, {at_3n} at {3 * N}:\n" + "\n".join(sql)

"""Evacuations and recommendations honour placement rules: two replicas of one service never land on one host, and
the plan says which rule decided."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from inventory.choices import PlacementRuleKind
from inventory.models import PlacementRule, Tag
from migration.capacity.models import CapacitySettings
from migration.capacity.planning import TargetIndex, next_peak
from migration.capacity.services.evacuations import evacuation_plan, host_evacuate
from migration.capacity.services.recommendations import recommendations_compute
from migration.models import Migration
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def replicas():
    """db-1 on ca-esx-01, db-2 on ca-esx-02, kept apart on hosts; Virginia has room."""
    topo = factories.topology()
    tag = Tag.objects.create(name="db replicas", slug="db-replicas", color="aa1409")
    PlacementRule.objects.create(name="db-replicas", kind=PlacementRuleKind.KEEP_APART, workload_tag=tag)
    db1 = factories.workload(topo.ca_hosts[0], name="db-1", memory_gib=8, segment=topo.stretched)
    db2 = factories.workload(topo.ca_hosts[1], name="db-2", memory_gib=8, segment=topo.stretched)
    db1.tags.add(tag)
    db2.tags.add(tag)
    return topo, db1, db2


def test_evacuation_puts_the_replica_off_the_other_replicas_host_and_names_the_rule(replicas, operator):
    topo, db1, db2 = replicas
    plan = evacuation_plan(host=topo.ca_hosts[0])
    (item,) = plan.items
    # The same site's other host comes first for an evacuation, but db-2 runs there: Virginia instead.
    assert item.target is not None and item.target.pk in {h.pk for h in topo.va_hosts}
    assert item.reason == "keep-apart rule 'db-replicas' puts db-1 off ca-esx-02, where db-2 runs."
    evacuation = host_evacuate(host=topo.ca_hosts[0], user=operator, override_reason="disk copy accepted")
    migration = Migration.objects.get(workload=db1)
    assert migration.destination_host_id != topo.ca_hosts[1].pk
    assert evacuation.items.get(workload=db1).reason == item.reason


def test_evacuation_without_the_rule_would_stack_the_replicas(replicas):
    topo, db1, db2 = replicas
    PlacementRule.objects.update(enabled=False)
    (item,) = evacuation_plan(host=topo.ca_hosts[0]).items
    assert item.target.pk == topo.ca_hosts[1].pk and item.reason == ""


def test_planned_moves_count_for_the_rules_of_later_moves(replicas):
    """Two replicas planned in one proposal: once the first is planned onto a host, the second is kept off it."""
    topo, db1, db2 = replicas
    index = TargetIndex.load(seed=1, at=timezone.now())
    va1 = index.hosts[topo.va_hosts[0].pk]
    assert index.blocker(index.candidate(db2), va1) is None
    index.commit(index.candidate(db1), va1)
    assert index.blocker(index.candidate(db2), va1) == (
        "keep-apart rule 'db-replicas' puts db-2 off va-esx-01, where db-1 runs."
    )


def test_a_recommendation_keeps_the_replica_off_the_other_replicas_host_and_says_why():
    topo = factories.topology()
    CapacitySettings.objects.update_or_create(pk=1, defaults={"seed": 5})
    busy = [
        factories.workload(topo.ca_hosts[0], vcpus=16, memory_gib=16 + 4 * i, segment=topo.stretched) for i in range(8)
    ]
    other = factories.workload(topo.ca_hosts[1], name="db-b", memory_gib=2, segment=topo.stretched)
    rule = PlacementRule.objects.create(name="pair", kind=PlacementRuleKind.KEEP_APART)
    rule.workloads.add(busy[0], other)
    at = next_peak(topo.ca.longitude, datetime(2025, 3, 12, 6, 0, tzinfo=UTC))
    (rec,) = [r for r in recommendations_compute(site=topo.ca, at=at) if r.host_id == topo.ca_hosts[0].pk]
    move = rec.moves.get(workload=busy[0])  # the cheapest relief still moves, but not next to db-b
    assert move.destination_host_id != topo.ca_hosts[1].pk
    assert move.placement_note == f"keep-apart rule 'pair' puts {busy[0].name} off ca-esx-02, where db-b runs."
    assert any(m.destination_host_id == topo.ca_hosts[1].pk for m in rec.moves.all())  # others still go there

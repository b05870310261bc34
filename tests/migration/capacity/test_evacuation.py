"""Evacuation: a host emptied through a real worker goes to maintenance; an immovable workload stays, with why."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.choices import HostState
from inventory.models import Host, Workload
from migration.capacity.choices import EvacuationState, ItemState
from migration.capacity.models import Evacuation
from migration.capacity.services.evacuations import evacuation_plan, host_evacuate
from tests import factories


def _wait_for_end(evacuation: Evacuation, timeout: float = 90.0) -> Evacuation:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        evacuation.refresh_from_db()
        if evacuation.state != EvacuationState.RUNNING:
            return evacuation
        time.sleep(0.5)
    raise AssertionError(f"evacuation still running: {list(evacuation.items.values_list('state', 'reason'))}")


@pytest.mark.django_db
def test_plan_predicts_the_wave_and_names_the_workloads_that_would_run_past_the_window():
    topo = factories.topology()
    for _ in range(6):
        factories.workload(topo.ca_hosts[0], memory_gib=64, segment=topo.stretched)
    now = timezone.now()
    plan = evacuation_plan(host=topo.ca_hosts[0], window_start=now, window_end=now + timedelta(seconds=120))
    assert len(plan.movable) == 6 and not plan.blocked
    assert plan.prediction["makespan_s"] > 120  # 384 GiB over one 10 GbE NIC takes minutes
    assert not plan.fit["fits"] and plan.fit["over"]
    assert all(i.over_window == (n in plan.fit["over"]) for n, i in enumerate(plan.movable))
    roomy = evacuation_plan(host=topo.ca_hosts[0], window_start=now, window_end=now + timedelta(hours=2))
    assert roomy.fit["fits"] and roomy.fit["over"] == []


@pytest.mark.integration
def test_host_evacuation_through_a_real_worker_empties_the_host_and_puts_it_in_maintenance(celery_worker, operator):
    topo = factories.topology()
    source = topo.ca_hosts[0]
    moved = [factories.workload(source, memory_gib=2, segment=topo.stretched) for _ in range(3)]
    evacuation = host_evacuate(host=source, user=operator)
    assert evacuation.prediction["makespan_s"] > 0
    evacuation = _wait_for_end(evacuation)
    assert evacuation.state == EvacuationState.COMPLETED, evacuation.message
    assert not Workload.objects.filter(host=source).exists()
    assert set(Workload.objects.filter(pk__in=[w.pk for w in moved]).values_list("host", flat=True)) == {
        topo.ca_hosts[1].pk
    }
    assert Host.objects.get(pk=source.pk).state == HostState.MAINTENANCE
    assert all(i.migration_id and i.state == ItemState.MOVED for i in evacuation.items.all())


@pytest.mark.integration
def test_an_immovable_workload_is_reported_with_its_reason_and_the_host_stays_connected(celery_worker, operator):
    topo = factories.topology()
    source, other = topo.ca_hosts
    # Its segment exists only in California, and the only other California host has no room for it.
    stuck = factories.workload(source, memory_gib=300, segment=topo.ca_local, name="db-big")
    factories.workload(other, memory_gib=300, segment=topo.ca_local, name="db-other")
    small = factories.workload(source, memory_gib=2, segment=topo.stretched)
    evacuation = _wait_for_end(host_evacuate(host=source, user=operator))
    assert evacuation.state == EvacuationState.PARTIAL
    blocked = evacuation.items.get(workload=stuck)
    assert blocked.state == ItemState.BLOCKED and blocked.migration_id is None
    assert "memory" in blocked.reason and "db-big" in blocked.reason
    assert "segment" in blocked.reason  # and why not another site
    assert Workload.objects.get(pk=stuck.pk).host_id == source.pk
    assert Workload.objects.get(pk=small.pk).host_id == other.pk
    assert Host.objects.get(pk=source.pk).state == HostState.CONNECTED
    assert "keeps its state" in evacuation.message


@pytest.mark.django_db
def test_the_plans_wave_models_the_hosts_transport_and_warns_of_what_it_predicts():
    topo = factories.topology()
    factories.workload(topo.ca_hosts[0], memory_gib=16, segment=topo.stretched, dirty_rate_bps=1_000_000)
    hot = factories.workload(topo.ca_hosts[0], memory_gib=16, segment=topo.stretched, dirty_rate_bps=2_000_000_000)
    fast = evacuation_plan(host=topo.ca_hosts[0])
    # The destination encrypts migrations at 100 MB/s: the cipher, not the 10 GbE NIC, sets the rate.
    Host.objects.filter(pk=topo.ca_hosts[1].pk).update(migration_encrypted=True, migration_cipher_rate_bps=100e6)
    slow = evacuation_plan(host=topo.ca_hosts[0])
    assert [i.target.pk for i in slow.movable] == [topo.ca_hosts[1].pk] * 2
    assert slow.prediction["makespan_s"] > 1.5 * fast.prediction["makespan_s"]
    # A move warns that pre-copy would not converge exactly when the wave's prediction says so.
    for plan in (fast, slow):
        for item in plan.movable:
            warned = any("would not converge" in w for w in item.warnings)
            assert warned == (item.prediction["converged"] is False), (item.workload.name, item.prediction)
    assert {i.workload.name for i in fast.movable} >= {hot.name}


@pytest.mark.django_db
def test_planning_an_evacuation_reads_as_many_queries_for_twelve_workloads_as_for_three():
    """The plan reads the fleet in a fixed number of queries: no query per workload, per move checked or per
    destination host weighed (a site of 100,000 workloads is planned the same way)."""
    topo = factories.topology()
    host = topo.ca_hosts[0]
    for _ in range(3):
        factories.workload(host, memory_gib=2, segment=topo.stretched)
    with CaptureQueriesContext(connection) as few:
        small = evacuation_plan(host=host)
    for _ in range(9):
        factories.workload(host, memory_gib=2, segment=topo.stretched)
    with CaptureQueriesContext(connection) as many:
        large = evacuation_plan(host=host)
    assert len(small.movable) == 3 and len(large.movable) == 12
    assert len(many.captured_queries) == len(few.captured_queries)

"""A host being evacuated takes no new workloads: pre-checks refuse it, placement and the planners skip it."""

from __future__ import annotations

import pytest
from django.utils import timezone

from migration.capacity.choices import EvacuationState
from migration.capacity.models import Evacuation
from migration.capacity.planning import TargetIndex
from migration.capacity.services.evacuations import evacuation_plan, host_evacuate
from migration.models import Migration
from migration.placement import place_workload
from migration.prechecks import PrecheckContext, host_checks, precheck_migration
from migration.services import MigrationRefused, migration_start
from tests import factories


def place(workload, site):
    """Placement as the pre-checks run it: with their host checks and a fresh context."""
    return place_workload(workload=workload, site=site, host_checks=host_checks, context=PrecheckContext())


pytestmark = pytest.mark.django_db


@pytest.fixture
def evacuating(operator):
    """Virginia's first host is being evacuated (a running evacuation; its own workload is still on it)."""
    topo = factories.topology()
    factories.workload(topo.va_hosts[0], memory_gib=8, segment=topo.stretched)
    vm = factories.workload(topo.ca_hosts[0], memory_gib=8, segment=topo.stretched)
    evacuation = host_evacuate(host=topo.va_hosts[0], user=operator)
    assert evacuation.state == EvacuationState.RUNNING
    return topo, vm, evacuation


def test_precheck_refuses_a_move_onto_a_host_being_evacuated(evacuating):
    topo, vm, evacuation = evacuating
    check = precheck_migration(workload=vm, destination_host=topo.va_hosts[0])
    assert (
        f"Host {topo.va_hosts[0].name} is being evacuated (evacuation #{evacuation.pk}); it takes no new workloads."
        in check.errors
    )
    # The other Virginia host still takes it.
    assert precheck_migration(workload=vm, destination_host=topo.va_hosts[1]).errors == []


def test_starting_a_migration_onto_a_host_being_evacuated_is_refused_and_creates_nothing(evacuating, operator):
    topo, vm, evacuation = evacuating
    before = Migration.objects.count()
    with pytest.raises(MigrationRefused) as refused:
        migration_start(workload=vm, destination_host=topo.va_hosts[0], requested_by=operator)
    assert any(f"evacuation #{evacuation.pk}" in e for e in refused.value.errors)
    assert Migration.objects.count() == before


def test_placement_and_the_planners_skip_a_host_being_evacuated(evacuating):
    topo, vm, evacuation = evacuating
    assert place(vm, topo.va).host == topo.va_hosts[1]
    assert precheck_migration(workload=vm, destination_site=topo.va).destination_host == topo.va_hosts[1]
    index = TargetIndex.load(seed=1, at=timezone.now())
    blocked = index.blocker(index.candidate(vm), index.hosts[topo.va_hosts[0].pk])
    assert blocked == f"host {topo.va_hosts[0].name} is being evacuated (evacuation #{evacuation.pk})"
    # Emptying a California host never plans a move onto the Virginia host being emptied.
    plan = evacuation_plan(host=topo.ca_hosts[0])
    assert plan.movable and all(i.target.pk != topo.va_hosts[0].pk for i in plan.movable)


def test_the_guard_ends_with_the_evacuation(evacuating):
    topo, vm, evacuation = evacuating
    Evacuation.objects.filter(pk=evacuation.pk).update(state=EvacuationState.PARTIAL)
    assert precheck_migration(workload=vm, destination_host=topo.va_hosts[0]).errors == []


def test_a_shared_context_gives_the_same_verdicts_as_fresh_checks(evacuating):
    topo, vm, _ = evacuating
    context = PrecheckContext()
    for host in [*topo.ca_hosts, *topo.va_hosts, *topo.far_hosts]:
        shared = precheck_migration(workload=vm, destination_host=host, context=context)
        fresh = precheck_migration(workload=vm, destination_host=host)
        assert (shared.errors, shared.warnings, shared.prediction) == (fresh.errors, fresh.warnings, fresh.prediction)

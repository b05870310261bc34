"""The shared pre-check context reads each fact once and answers as a read of that fact alone would: the datastore
each host sees with the most room (one read per site), each host's refusals (asked once per host)."""

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from inventory.choices import CpuBaseline
from inventory.models import Datastore
from migration.capacity.planning import PlanningWorkloads, workload_rows
from migration.prechecks import PrecheckContext, precheck_migration, register_host_refusal, unregister_host_refusal
from migration.services import migration_start
from tests import factories

pytestmark = pytest.mark.django_db


def best_alone(host):
    """The datastore the host sees with the most room, read for that host alone (what the context did per host)."""
    free = F("capacity_bytes") - F("used_bytes")
    return Datastore.objects.filter(hosts=host).annotate(free=free).order_by("-free", "name").first()


def test_best_datastore_reads_once_per_site_and_answers_as_a_read_per_host():
    topo = factories.topology()
    c = topo.ca_cluster
    extra = [factories.host(c, f"ca-esx-{i:02d}") for i in (3, 4, 5)]
    roomy = factories.datastore(topo.ca, "ca-roomy", [topo.ca_hosts[1], extra[0]], capacity_gib=200_000)
    factories.datastore(topo.ca, "ca-small", [extra[0], extra[1]], capacity_gib=10)
    # as roomy as the vSAN that ca-esx-01 sees too: by name
    tied = factories.datastore(topo.ca, "aa-tied", [topo.ca_hosts[0], extra[1]], capacity_gib=100_000)
    hosts = [*topo.ca_hosts, *extra]
    expected = {h.pk: best_alone(h) for h in hosts}
    assert expected[topo.ca_hosts[1].pk] == roomy and expected[topo.ca_hosts[0].pk] == expected[extra[1].pk] == tied
    assert expected[extra[2].pk] is None  # sees no datastore
    context = PrecheckContext()
    context.site_hosts(topo.ca)  # the hosts as a planner reads them
    with CaptureQueriesContext(connection) as reads:
        answers = {h.pk: context.best_datastore(h) for h in hosts}
    assert answers == expected
    assert len(reads) == 2  # which host sees which datastore on the site, and those datastores
    with CaptureQueriesContext(connection) as again:
        context.best_datastore(topo.va_hosts[0])
        context.best_datastore(topo.va_hosts[1])
    # another site's hosts, not read yet: the first one (its site), then what the site's hosts see, once
    assert len(again) == 3 and context.best_datastore(topo.va_hosts[0]) == topo.va_datastore


def test_host_refusals_are_asked_once_per_host_and_each_answer_is_its_own_list():
    topo = factories.topology()
    asked = []

    def draining():
        def check(host):
            asked.append(host.pk)
            return f"Host {host.name} is draining." if host.pk == topo.va_hosts[0].pk else None

        return check

    register_host_refusal("test.draining", draining)
    try:
        context = PrecheckContext()
        first = context.host_refusals(topo.va_hosts[0])
        first.append("changed by a caller")
        assert context.host_refusals(topo.va_hosts[0]) == [f"Host {topo.va_hosts[0].name} is draining."]
        assert context.host_refusals(topo.va_hosts[1]) == context.host_refusals(topo.va_hosts[1]) == []
        assert asked == [topo.va_hosts[0].pk, topo.va_hosts[1].pk]
    finally:
        unregister_host_refusal("test.draining")


def test_planning_instances_are_what_from_db_makes():
    topo = factories.topology()
    vm = factories.workload(topo.ca_hosts[0], segment=topo.stretched)
    rows = workload_rows(type(vm).objects.filter(pk=vm.pk))
    made = PlanningWorkloads(PrecheckContext(), rows, {topo.ca.pk}).instance(rows[0])
    saved = type(vm).objects.get(pk=vm.pk)
    assert made.pk == vm.pk and not made._state.adding and made._state.db == "default"
    assert made.get_deferred_fields() == {"guest_os", "estate_id", "external_id", "annotation", "disk_used_bytes",
                                          "created_at", "updated_at"}  # fmt: skip
    for name in ("name", "memory_bytes", "vcpus", "power_state", "host_id", "datastore_id", "segment_id"):
        assert getattr(made, name) == getattr(saved, name)
    with CaptureQueriesContext(connection) as reads:
        assert (made.host, made.datastore, made.segment) == (topo.ca_hosts[0], vm.datastore, topo.stretched)
    assert len(reads) == 0
    assert made.guest_os == saved.guest_os  # a deferred field reads on access, as from_db's would


def test_an_empty_hosts_usage_is_made_once_and_a_destination_keeps_its_own_figures():
    topo = factories.topology()
    vm = factories.workload(topo.ca_hosts[0], segment=topo.stretched)
    context = PrecheckContext()
    context.preload_usage()
    empty = context.usage(topo.va_hosts[0].pk)
    assert empty is context.usage(topo.va_hosts[0].pk)
    assert (empty.pk, empty.memory_bytes, empty.vcpus) == (topo.va_hosts[0].pk, 0, 0)
    assert empty.without(vm) is empty  # nothing of it runs or is held there
    source = context.usage(topo.ca_hosts[0].pk)
    assert (source.memory_bytes, source.vcpus) == (vm.memory_bytes, vm.vcpus)
    assert (source.without(vm).memory_bytes, source.without(vm).vcpus) == (0, 0)  # its own host: not counted


def test_a_workloads_migrations_in_flight_are_found_by_workload_as_in_the_whole_list():
    topo = factories.topology()
    moving, other, still = (factories.workload(topo.ca_hosts[0]) for _ in range(3))
    first = migration_start(workload=moving, destination_host=topo.ca_hosts[1])
    second = migration_start(workload=other, destination_host=topo.ca_hosts[1])
    context = PrecheckContext()
    assert sorted(m.pk for m in context.active()) == [first.pk, second.pk]
    for w in (moving, other, still):
        assert context.active_of(w.pk) == [m for m in context.active() if m.workload_id == w.pk]
    assert [m.pk for m in context.active_of(moving.pk)] == [first.pk]
    assert context.active_of(moving.pk, exclude_migration=first.pk) == []  # a queued move re-checked: not itself
    refused = precheck_migration(workload=moving, destination_host=topo.ca_hosts[1], context=context, predict=False)
    assert any(f"migration #{first.pk}" in e for e in refused.errors)
    assert precheck_migration(workload=still, destination_host=topo.ca_hosts[1], context=context).errors == []


def test_a_shared_context_compares_each_pair_of_clusters_once_and_words_each_refusal_for_its_own_move():
    """The CPU check's answer is kept per (source cluster, destination cluster): every move between the same pair
    gets it, in its own words (its workload, its host); another pair, or the reverse one, is asked anew."""
    topo = factories.topology()
    old = factories.cluster(topo.ca, "ca-old", CpuBaseline.INTEL_SKYLAKE)
    old_host = factories.host(old, "ca-old-01")
    amd_host = factories.host(factories.cluster(topo.ca, "ca-amd", CpuBaseline.AMD_ZEN3), "ca-amd-01")
    topo.ca_datastore.hosts.add(old_host, amd_host)
    a, b = factories.workload(topo.ca_hosts[0], name="vm-a"), factories.workload(topo.ca_hosts[1], name="vm-b")
    on_old = factories.workload(old_host, name="vm-old")
    context = PrecheckContext()

    def cpu_errors(vm, host):
        return [e for e in precheck_migration(workload=vm, destination_host=host, context=context, predict=False).errors
                if "CPU" in e]  # fmt: skip

    assert cpu_errors(a, old_host) == [
        f"Cluster ca-old's CPU baseline Intel Skylake is older than {topo.ca_cluster.name}'s Intel Cascade Lake: the "
        "guest uses CPU features host ca-old-01 lacks."
    ]
    assert cpu_errors(b, old_host)[0].endswith("host ca-old-01 lacks.")  # the same pair: the same answer, in words
    assert cpu_errors(b, amd_host) and "vm-b runs on Intel" in cpu_errors(b, amd_host)[0]
    assert cpu_errors(on_old, topo.ca_hosts[0]) == []  # the reverse pair: a newer baseline takes it

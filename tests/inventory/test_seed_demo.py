import ipaddress
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from inventory.choices import PowerState, WorkloadKind
from inventory.models import CloudLink, Datastore, Host, NetworkSegment, Site, Workload

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, "--no-extensions", stdout=out)
    return out.getvalue()


def snapshot() -> list[tuple]:
    return list(
        Workload.objects.order_by("name").values_list(
            "name",
            "kind",
            "vcpus",
            "memory_bytes",
            "host__name",
            "segment__name",
            "ip_address",
            "dirty_rate_bps",
            "disk_write_rate_bps",
        )
    )


def test_default_demo_has_four_sites_with_real_world_links_and_a_few_hundred_workloads():
    output = seed()
    assert "300 workloads" in output
    assert Site.objects.filter(kind="private").count() == 2 and Site.objects.filter(kind="public").count() == 2
    ca, va = Site.objects.get(location__contains="Santa Clara"), Site.objects.get(location__contains="Ashburn")
    ca_va = CloudLink.objects.get(site_a=ca, site_b=va)
    assert ca_va.rtt_ms == 65 and ca_va.bandwidth_mbit == 10_000
    assert Workload.objects.count() == 300
    share = Workload.objects.filter(kind=WorkloadKind.VM).count() / 300
    assert 0.65 < share < 0.85
    assert NetworkSegment.objects.filter(sites=ca).filter(sites=va).exists(), "a segment is stretched CA+VA"
    assert Host.objects.values("migration_nic_gbps").distinct().count() >= 3  # 1, 10 and 25 GbE
    assert Host.objects.values("cluster__cpu_baseline").distinct().count() >= 4
    assert Workload.objects.filter(dirty_rate_bps__gte=100_000_000).exists(), "a few heavy writers"


def test_every_seeded_workload_passes_full_clean():
    seed()
    for workload in Workload.objects.select_related("host__cluster__site", "segment", "datastore"):
        workload.full_clean()
    for datastore in Datastore.objects.prefetch_related("hosts__cluster"):
        datastore.full_clean()
        assert all(host.cluster.site_id == datastore.site_id for host in datastore.hosts.all())
    for segment in NetworkSegment.objects.all():
        segment.full_clean()


def test_same_seed_gives_the_same_cloud_and_another_seed_a_different_one():
    seed("--workloads", "120", "--seed", "7")
    first = snapshot()
    seed("--workloads", "120", "--seed", "7", "--reset")
    assert snapshot() == first
    seed("--workloads", "120", "--seed", "8", "--reset")
    assert snapshot() != first


def test_every_workload_writes_to_its_disk_databases_and_batch_more_than_web_servers():
    seed("--workloads", "400", "--seed", "11")
    assert not Workload.objects.filter(disk_write_rate_bps__lte=0).exists()
    rates = dict(Workload.objects.values_list("name", "disk_write_rate_bps"))
    by_prefix: dict[str, list[int]] = {}
    for name, rate in rates.items():
        by_prefix.setdefault(name.rsplit("-", 1)[0], []).append(rate)
    for prefix in ("pg-primary", "mssql", "kafka-broker", "batch-worker"):
        assert all(5_000_000 <= r <= 80_000_000 for r in by_prefix[prefix]), prefix
    assert all(200_000 <= r <= 5_000_000 for r in by_prefix["web-frontend"])
    assert min(by_prefix["batch-worker"]) > max(by_prefix["web-frontend"])


def test_refuses_to_seed_over_existing_inventory_without_reset():
    seed("--workloads", "20")
    with pytest.raises(CommandError, match="--reset"):
        seed("--workloads", "20")
    assert Workload.objects.count() == 20


def test_two_thousand_workloads_fit_their_hosts_and_segments():
    seed("--workloads", "2000")
    assert Workload.objects.count() == 2000
    for host in Host.objects.prefetch_related("workloads"):
        on = [w for w in host.workloads.all() if w.power_state == PowerState.ON]
        assert sum(w.memory_bytes for w in on) <= host.memory_bytes
        assert sum(w.vcpus for w in on) <= host.vcpu_capacity
    segments = {s.pk: ipaddress.ip_network(s.cidr) for s in NetworkSegment.objects.all()}
    for segment_id, ip in Workload.objects.values_list("segment_id", "ip_address"):
        assert ipaddress.ip_address(ip) in segments[segment_id]


def test_runs_the_seed_hooks_of_other_apps_when_they_exist(monkeypatch):
    from inventory.management.commands import seed_demo

    calls = []
    monkeypatch.setattr(seed_demo, "get_commands", lambda: {"seed_containers": "containers", "seed_demo": "inventory"})
    monkeypatch.setattr(seed_demo, "call_command", lambda name, **kw: calls.append((name, kw["seed"])))
    call_command("seed_demo", "--workloads", "5", "--seed", "3", stdout=StringIO())
    assert calls == [("seed_containers", 3)]


def test_reset_wipes_containers_and_dr_plans_and_seeds_again():
    from containers.models import ContainerHost
    from migration.dr.models import RecoveryPlan

    call_command("seed_demo", workloads=120, seed=3, stdout=StringIO())
    assert ContainerHost.objects.exists() and RecoveryPlan.objects.exists()
    out = StringIO()
    call_command("seed_demo", workloads=120, seed=3, reset=True, stdout=out)
    assert "Wiped the existing inventory." in out.getvalue()
    assert Workload.objects.count() >= 120
    assert RecoveryPlan.objects.count() == 1

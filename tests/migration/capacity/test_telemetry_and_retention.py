"""Telemetry: deterministic with a seed, believable shape, retention (hourly means beyond a week, deletion)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from migration.capacity import sampling, telemetry
from migration.capacity.choices import Scope
from migration.capacity.models import CapacitySettings, UtilisationSample
from migration.capacity.sampling import apply_retention, backfill, sample_tick
from tests import factories

NOW = datetime(2025, 3, 12, 21, 0, tzinfo=UTC)  # a Wednesday: 13:00 in California


def _profile(seed: int = 7, workload_id: int = 1):
    return telemetry.profile_for(
        seed=seed, workload_id=workload_id, host_id=3, vcpus=4, memory_bytes=8 * 2**30, longitude=-122.0
    )


def test_generator_gives_the_same_values_for_the_same_seed_and_different_ones_for_another():
    t = NOW.timestamp()
    a = [telemetry.use_at(_profile(7), 7, t + 300 * k, k) for k in range(50)]
    b = [telemetry.use_at(_profile(7), 7, t + 300 * k, k) for k in range(50)]
    c = [telemetry.use_at(_profile(8), 8, t + 300 * k, k) for k in range(50)]
    assert a == b
    assert a != c


def test_business_hours_are_busier_than_night_and_weekdays_busier_than_weekends():
    california = -122.0 / 15
    wednesday_noon = datetime(2025, 3, 12, 20, 0, tzinfo=UTC).timestamp()
    wednesday_3am = datetime(2025, 3, 12, 11, 0, tzinfo=UTC).timestamp()
    saturday_noon = datetime(2025, 3, 15, 20, 0, tzinfo=UTC).timestamp()
    assert telemetry.activity(wednesday_noon, california) > 0.8
    assert telemetry.activity(wednesday_3am, california) == 0
    assert telemetry.activity(saturday_noon, california) < 0.4
    # Virginia's noon comes three hours earlier in UTC than California's.
    assert telemetry.activity(datetime(2025, 3, 12, 17, 0, tzinfo=UTC).timestamp(), -77.5 / 15) > 0.8
    assert telemetry.activity(datetime(2025, 3, 12, 17, 0, tzinfo=UTC).timestamp(), california) < 0.6


@pytest.mark.django_db
def test_sampler_stores_hosts_and_sites_every_tick_and_is_deterministic_with_a_seed():
    topo = factories.topology()
    for _ in range(3):
        factories.workload(topo.ca_hosts[0], vcpus=8, memory_gib=32)
    CapacitySettings.objects.update_or_create(pk=1, defaults={"seed": 11})
    sample_tick(now=NOW)
    sample_tick(now=NOW)  # the same tick twice writes nothing new
    hosts = UtilisationSample.objects.filter(scope=Scope.HOST)
    assert hosts.count() == 5 and UtilisationSample.objects.filter(scope=Scope.SITE).count() == 3
    first = list(UtilisationSample.objects.values_list("scope", "object_id", "cpu_pct", "mem_pct"))
    busy = hosts.get(object_id=topo.ca_hosts[0].pk)
    assert 0 < busy.cpu_pct <= 100 and 10 < busy.mem_pct < 20  # 96 GiB of 512 GiB, mostly touched
    assert hosts.get(object_id=topo.ca_hosts[1].pk).cpu_pct == 0
    UtilisationSample.objects.all().delete()
    sample_tick(now=NOW)
    assert list(UtilisationSample.objects.values_list("scope", "object_id", "cpu_pct", "mem_pct")) == first


@pytest.mark.django_db
def test_backfill_writes_the_last_day_at_five_minutes_hourly_means_before_and_the_last_day_hourly_for_workloads():
    topo = factories.topology()
    wl = factories.workload(topo.va_hosts[0])
    written = backfill(days=7, seed=3, now=NOW)
    host = UtilisationSample.objects.filter(scope=Scope.HOST, object_id=topo.va_hosts[0].pk)
    assert host.filter(hourly=False).count() == 288 + 1 and host.filter(hourly=True).count() == 6 * 24
    assert not host.filter(hourly=False, at__lt=NOW - timedelta(days=1)).exists()
    # Workloads: hourly, for the workload retention (a day by default) only.
    workload = UtilisationSample.objects.filter(scope=Scope.WORKLOAD, object_id=wl.pk)
    assert workload.count() == 24 and not workload.filter(at__lte=NOW - timedelta(days=1)).exists()
    assert written == UtilisationSample.objects.count()
    assert CapacitySettings.get().seed == 3


def _pure_python_rows(fleet, at, tick, *, workloads: bool) -> list[tuple]:
    """The samples as the generator gives them one workload at a time (`telemetry.use_at`, summed in order)."""
    host_cpu, host_mem = defaultdict(float), defaultdict(float)
    rows = []
    t = at.timestamp()
    for p, host_id in zip(fleet.profiles, fleet.host_of, strict=True):
        cpu, mem = telemetry.use_at(p, fleet.seed, t, tick)
        host_cpu[host_id] += cpu
        host_mem[host_id] += mem
        if workloads:
            rows.append(("workload", p.workload_id, telemetry.pct(cpu, p.vcpus), telemetry.pct(mem, p.memory_bytes)))
    site_cpu, site_mem, site_cores, site_memory = defaultdict(float), defaultdict(float), defaultdict(float), {}
    for host_id, cores in fleet.host_cores.items():
        site = fleet.site_of_host[host_id]
        cpu, mem = min(host_cpu[host_id], cores), host_mem[host_id]
        site_cpu[site] += cpu
        site_mem[site] += mem
        site_cores[site] += cores
        site_memory[site] = site_memory.get(site, 0.0) + fleet.host_memory[host_id]
        rows.append(("host", host_id, telemetry.pct(cpu, cores), telemetry.pct(mem, fleet.host_memory[host_id])))
    for site in site_cores:
        rows.append(("site", site, telemetry.pct(site_cpu[site], site_cores[site]),
                     telemetry.pct(site_mem[site], site_memory[site])))  # fmt: skip
    return rows


@pytest.mark.django_db
def test_the_fleet_at_once_gives_the_generators_figures_to_the_last_bit():
    topo = factories.topology()
    hosts = topo.ca_hosts + topo.va_hosts
    for n in range(300):  # hot hosts, runaways, two sites' local times, every size
        factories.workload(hosts[n % len(hosts)], vcpus=1 + n % 8, memory_gib=1 + n % 16)
    fleet = sampling.load_fleet(5)
    assert len(fleet.profiles) == 300
    for k in range(0, 2016, 97):  # a week of instants, night and day, weekday and weekend
        at = NOW - timedelta(minutes=5 * k)
        tick = sampling.tick_of(at)
        expected = _pure_python_rows(fleet, at, tick, workloads=True)
        got = [(s, pk, c, m) for s, pk, _, _, c, m in sampling.fleet_rows(fleet, [(at, tick)], workloads=[True])]
        assert sorted(got) == sorted(expected)
        use = sampling.fleet_use(fleet, at, tick)
        assert use == [telemetry.use_at(p, 5, at.timestamp(), tick) for p in fleet.profiles]


@pytest.mark.django_db
def test_backfill_leaves_what_the_sampler_and_the_retention_would_have_left():
    topo = factories.topology()
    for n in range(40):
        factories.workload((topo.ca_hosts + topo.va_hosts)[n % 4], vcpus=1 + n % 4, memory_gib=2 + n % 8)
    CapacitySettings.objects.update_or_create(pk=1, defaults={"seed": 9, "raw_retention_days": 3})
    backfill(days=3, now=NOW)  # everything at full resolution, workloads for the last day
    apply_retention(now=NOW + timedelta(days=2))  # two days later: all but the last day become hourly means
    kept = {
        (s, o, at): (c, m)
        for s, o, at, c, m in UtilisationSample.objects.filter(at__lte=NOW)
        .exclude(scope=Scope.WORKLOAD)
        .values_list("scope", "object_id", "at", "cpu_pct", "mem_pct")
    }
    UtilisationSample.objects.all().delete()
    CapacitySettings.objects.filter(pk=1).update(raw_retention_days=1)
    backfill(days=3, now=NOW)  # the same span, hourly means before the last day, straight away
    # The last day of NOW + 2 days' raw span starts after NOW: compare the span both hold, hour by hour.
    written = {
        (s, o, at): (c, m)
        for s, o, at, c, m in UtilisationSample.objects.filter(hourly=True).values_list(
            "scope", "object_id", "at", "cpu_pct", "mem_pct"
        )
    }
    assert written and set(written) <= set(kept)
    assert max(abs(a - b) for k in written for a, b in zip(written[k], kept[k], strict=True)) <= 0.0101
    # The mean of twelve 2-decimal figures often ends in a 5 at the third decimal: which way it rounds depends on the
    # order the sum was taken in (the database's or numpy's), one hundredth either way; all others are equal.
    assert sum(written[k] == kept[k] for k in written) >= 0.9 * len(written)


@pytest.mark.django_db
def test_retention_keeps_a_week_at_full_resolution_downsamples_older_to_hourly_means_and_deletes_the_oldest():
    topo = factories.topology()
    CapacitySettings.objects.update_or_create(pk=1, defaults={"raw_retention_days": 7})
    host = topo.ca_hosts[0].pk
    rows = []
    # 100 days of 30-minute samples: 10 % then 30 % in each hour.
    start = NOW - timedelta(days=100)
    at = start
    while at < NOW:
        rows.append(UtilisationSample(scope=Scope.HOST, object_id=host, at=at, cpu_pct=10 if at.minute == 0 else 30,
                                      mem_pct=50))  # fmt: skip
        at += timedelta(minutes=30)
    UtilisationSample.objects.bulk_create(rows)
    result = apply_retention(now=NOW)
    samples = UtilisationSample.objects.filter(object_id=host)
    assert not samples.filter(at__lt=NOW - timedelta(days=90)).exists()
    recent = samples.filter(at__gte=NOW - timedelta(days=7))
    assert recent.count() == 7 * 48 and not recent.filter(hourly=True).exists()
    old = samples.filter(at__lt=NOW - timedelta(days=7))
    assert old.exists() and not old.filter(hourly=False).exists()
    assert set(old.values_list("cpu_pct", flat=True)) == {20.0}  # the hourly mean of 10 and 30
    assert old.count() == 83 * 24
    assert result["hourly_written"] == 83 * 24
    again = apply_retention(now=NOW)
    assert again == {"downsampled": 0, "hourly_written": 0, "deleted": 0}

"""The drill model without a database: timelines, capacity, networks, links, lag."""

import pytest

from hybridcloud.core.units import GIB
from migration.dr import drills


def spec(i: int, *, memory_gib: float = 4, vcpus: int = 2, rpo_s: int = 900, lag_s: float = 300, **extra):
    values = dict(
        workload_id=i, name=f"wl-{i}", memory_bytes=int(memory_gib * GIB), vcpus=vcpus,
        working_set_bytes=int(memory_gib * GIB) // 4, dirty_rate_bps=20e6, rpo_s=rpo_s, replication_lag_s=lag_s,
        segment_name="web-stretched", segment_on_recovery_site=True, ip_address=f"10.10.0.{i + 10}",
    )  # fmt: skip
    values.update(extra)
    return drills.WorkloadSpec(**values)


LINK = drills.LinkInfo(bandwidth_bps=1.25e9, rtt_s=0.065)


def inputs(groups, *, hosts=None, link=LINK, concurrency=8):
    hosts = hosts if hosts is not None else (drills.HostCapacity("va-esx-01", 512 * GIB, 128, 32),)
    return drills.DrillInputs(
        protected_site="California DC", recovery_site="Virginia DC", test_network="drill-1-bubble", link=link,
        hosts=tuple(hosts), groups=tuple(groups), transfer_concurrency=concurrency,
    )  # fmt: skip


def test_groups_come_up_in_priority_order_and_rto_is_when_the_last_is_up():
    g1 = drills.GroupSpec(1, "databases", 1, (spec(1, memory_gib=16),))
    g2 = drills.GroupSpec(2, "web", 2, (spec(2), spec(3)))
    out = drills.compute_drill(inputs([g2, g1]))
    kinds = [s.kind for s in out.steps]
    assert kinds == ["prepare_network", "bring_up", "bring_up", "verify", "clean_up"]
    assert [s.priority for s in out.steps if s.kind == "bring_up"] == [1, 2]
    db, web = out.results[0], out.results[1:]
    assert all(r.state == "recovered" for r in out.results)
    # Group 2 starts when the database is up.
    assert all(r.start_s == pytest.approx(db.up_at_s) for r in web)
    assert out.measured_rto_s == pytest.approx(max(r.up_at_s for r in web))
    # Boot: 30 s + 5 s/GiB; the catch-up transfer of min(20 MB/s × 300 s, working set) over 1.25 GB/s.
    assert db.boot_s == pytest.approx(30 + 5 * 16)
    assert db.pending_bytes == pytest.approx(min(20e6 * 300, 4 * GIB))
    assert db.transfer_s == pytest.approx(db.pending_bytes / 1.25e9, rel=0.01)


def test_transfers_of_a_group_share_the_link():
    alone = drills.compute_drill(inputs([drills.GroupSpec(1, "g", 1, (spec(1),))])).results[0]
    pair = drills.compute_drill(inputs([drills.GroupSpec(1, "g", 1, (spec(1), spec(2)))])).results
    assert pair[0].transfer_s == pytest.approx(2 * alone.transfer_s, rel=0.01)


def test_compression_shortens_the_catch_up():
    plain = drills.compute_drill(inputs([drills.GroupSpec(1, "g", 1, (spec(1),))])).results[0]
    link = drills.LinkInfo(bandwidth_bps=1.25e9, compression_ratio=2.0)
    packed = drills.compute_drill(inputs([drills.GroupSpec(1, "g", 1, (spec(1),))], link=link)).results[0]
    assert packed.transfer_s == pytest.approx(plain.transfer_s / 2, rel=0.01)


def test_capacity_shortfall_fails_the_workload_with_numbers_and_later_groups_still_run():
    hosts = (drills.HostCapacity("va-esx-01", int(3.2 * GIB), 64, 32),)
    g1 = drills.GroupSpec(1, "databases", 1, (spec(1, memory_gib=16),))
    g2 = drills.GroupSpec(2, "web", 2, (spec(2, memory_gib=2),))
    out = drills.compute_drill(inputs([g1, g2], hosts=hosts))
    db, web = out.results
    assert db.state == "failed"
    assert db.reason.startswith("Needs 16 GiB, 3.2 GiB free on Virginia DC")
    assert out.steps[1].state == "failed"
    assert "wl-1: Needs 16 GiB" in out.steps[1].reason
    assert web.state == "recovered" and out.steps[2].state == "done"
    assert not out.all_recovered


def test_best_fit_takes_the_fullest_host_that_fits():
    hosts = (drills.HostCapacity("roomy", 256 * GIB, 128, 32), drills.HostCapacity("snug", 10 * GIB, 128, 32))
    out = drills.compute_drill(
        inputs([drills.GroupSpec(1, "g", 1, (spec(1, memory_gib=8), spec(2, memory_gib=8)))], hosts=hosts)
    )
    assert sorted(r.recovered_on for r in out.results) == ["roomy", "snug"]


def test_missing_link_fails_every_bring_up_step_without_crashing():
    groups = [drills.GroupSpec(1, "a", 1, (spec(1),)), drills.GroupSpec(2, "b", 2, (spec(2),))]
    out = drills.compute_drill(inputs(groups, link=None))
    bring_ups = [s for s in out.steps if s.kind == "bring_up"]
    assert all(
        s.state == "failed" and s.reason.startswith("No link between California DC and Virginia DC") for s in bring_ups
    )
    assert out.measured_rto_s is None
    assert [s.state for s in out.steps if s.kind == "verify"] == ["skipped"]


def test_segment_not_stretched_without_readdressing_fails_that_workload_only():
    lonely = spec(1, segment_name="ca-db-local", segment_on_recovery_site=False)
    readdressed = spec(2, segment_name="ca-db-local", segment_on_recovery_site=False, recovery_ip="10.30.5.10",
                       recovery_segment_name="va-db-local")  # fmt: skip
    out = drills.compute_drill(inputs([drills.GroupSpec(1, "g", 1, (lonely, readdressed))]))
    assert out.results[0].state == "failed"
    assert "ca-db-local is not stretched to Virginia DC" in out.results[0].reason
    assert out.results[1].state == "recovered" and out.results[1].test_ip == "10.30.5.10"


def test_rpo_met_when_lag_within_rpo():
    out = drills.compute_drill(
        inputs([drills.GroupSpec(1, "g", 1, (spec(1, rpo_s=300, lag_s=299), spec(2, rpo_s=300, lag_s=301)))])
    )
    assert [r.rpo_met for r in out.results] == [True, False]
    assert out.results[1].data_loss_window_s == pytest.approx(301)


def test_modelled_lag_is_deterministic_and_mostly_within_rpo():
    lags = [drills.modelled_lag_s(900, f"7:{i}") for i in range(400)]
    assert lags == [drills.modelled_lag_s(900, f"7:{i}") for i in range(400)]
    assert all(0.25 * 900 <= lag <= 1.15 * 900 for lag in lags)
    within = sum(lag <= 900 for lag in lags) / len(lags)
    assert 0.75 < within < 0.92

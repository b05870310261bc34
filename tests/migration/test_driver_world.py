"""The driver runs migrations through the varying world: the run is the world's (reproducible from the workload,
the link and the start time), not the prediction replayed, and the prediction's range usually holds it."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from migration.choices import RUNNING_STATES
from migration.driver import new_simulation, step_link
from migration.engine.world import run_in_world
from migration.models import Migration
from migration.prechecks import migration_world
from migration.services import migration_start
from tests import factories

pytestmark = pytest.mark.django_db

#: A Wednesday, 17:30 UTC: business hours in both Californa and Virginia.
ANCHOR = datetime(2026, 12, 2, 17, 30, tzinfo=UTC)


@pytest.fixture
def anchored_clock(monkeypatch):
    """The clock runs as usual but from a fixed instant, so the world each test meets is always the same."""
    t0 = time.monotonic()
    monkeypatch.setattr(timezone, "now", lambda: ANCHOR + timedelta(seconds=time.monotonic() - t0))


@pytest.fixture
def topo():
    return factories.topology()


def drive(link_key: str, *, steps: int = 400) -> None:
    """The driver's steps by hand, each one second of wall time after the previous."""
    for _ in range(steps):
        for m in Migration.objects.filter(link_key=link_key, last_step_at__isnull=False):
            Migration.objects.filter(pk=m.pk).update(last_step_at=m.last_step_at - timedelta(seconds=1))
        if not step_link(link_key) and not Migration.objects.filter(link_key=link_key, state__in=RUNNING_STATES):
            return


def world_of(m: Migration) -> dict:
    dirty, link, capacity = migration_world(workload=m.workload, source_host=m.source_host, cloud_link=m.cloud_link)
    return {"dirty": dirty, "link": link, "capacity_bps": capacity}


def test_the_driver_runs_the_world_of_the_workload_the_link_and_the_start_time(topo, anchored_clock, operator):
    vm = factories.workload(topo.ca_hosts[0], segment=topo.stretched, memory_gib=8, dirty_rate_bps=150_000_000)
    m = migration_start(
        workload=vm, destination_host=topo.va_hosts[0], requested_by=operator, override_reason="DC exit."
    )
    drive(m.link_key)
    m = Migration.objects.select_related("workload", "source_host__cluster__site", "cloud_link__site_a").get(pk=m.pk)
    assert m.state == "completed"
    # The same run, recomputed from nothing but the workload, the link and the start time: the world is seeded.
    expected = run_in_world(new_simulation(m).params, origin_s=m.started_at.timestamp(), **world_of(m))
    assert m.total_time_s == pytest.approx(expected.total_time_s, rel=1e-4)
    assert m.rounds_count == len(expected.rounds)
    rates = list(m.rounds.values_list("dirty_rate_bps", flat=True))
    assert rates and all(r != vm.dirty_rate_bps for r in rates), (
        "the guest meets its real rate, not the inventory figure"
    )
    assert m.rate_limit in ("link", "window", "loss", "nic", "codec", "cipher") and m.rate_limit_sentence


def test_actual_runs_differ_from_their_predictions_yet_usually_fall_inside_the_range(topo, anchored_clock):
    migrations = []
    for k in range(8):
        vm = factories.workload(
            topo.ca_hosts[0], memory_gib=[4, 8, 16, 32][k % 4], dirty_rate_bps=40_000_000 + 20_000_000 * k
        )
        m = migration_start(workload=vm, destination_host=topo.ca_hosts[1])
        drive(m.link_key)
        migrations.append(Migration.objects.get(pk=m.pk))
    assert all(m.state == "completed" for m in migrations)
    assert all(m.predicted_p10_s <= m.predicted_total_time_s <= m.predicted_p90_s for m in migrations)
    differ = [m for m in migrations if abs(m.prediction_error) > 1e-3]
    inside = [m for m in migrations if m.within_predicted_range]
    assert len(differ) >= 6, "the actual run is not the prediction replayed"
    assert len(inside) >= 6, [(m.predicted_p10_s, m.total_time_s, m.predicted_p90_s) for m in migrations]
    assert max(abs(m.prediction_error) for m in migrations) < 0.3

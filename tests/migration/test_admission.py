"""Admission: a link admits one move per 250 Mbit/s, the rest wait first come first served, with their place in the
queue and an estimated start; a move is refused only for what waiting cannot fix."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from migration.choices import RUNNING_STATES, MigrationState
from migration.models import Migration
from migration.selectors import migration_queue
from migration.services import MigrationRefused, migration_cancel, migration_start, migrations_admit_queued
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def topo():
    topo = factories.topology()
    topo.ca_link_va.bandwidth_mbit = 1000  # 4 slots at 250 Mbit/s
    topo.ca_link_va.save()
    return topo


def start_wan(topo, n: int, *, host=None) -> list[Migration]:
    """`n` moves California → Virginia (10 GbE hosts: 8 each, so the link's 4 slots bind)."""
    ms = []
    for i in range(n):
        vm = factories.workload(host or topo.ca_hosts[i % 2], segment=topo.stretched, memory_gib=2)
        ms.append(migration_start(workload=vm, destination_host=topo.va_hosts[i % 2], override_reason="test"))
    return ms


def states(ms: list[Migration]) -> list[str]:
    return [Migration.objects.get(pk=m.pk).state for m in ms]


def test_a_busy_link_queues_moves_beyond_its_slots_instead_of_refusing_them(topo):
    ms = start_wan(topo, 7)
    assert states(ms) == ["prechecks"] * 4 + ["queued"] * 3
    queued = Migration.objects.get(pk=ms[4].pk)
    message = queued.events.get(kind="queued").message
    assert "already carries 4 migrations" in message and "1,000 Mbit/s ÷ 250" in message
    # Each move is predicted at the share it will run at: 4 on the link, not 7.
    assert {m.prediction["sharing"] for m in ms[4:]} == {4}


def test_queue_positions_and_estimated_starts_follow_the_running_moves_predicted_remaining_times(topo):
    ms = start_wan(topo, 7)
    now = timezone.now()
    # Give the running moves different predicted remaining times (at their simulation speed): 10, 20, 30, 40 s.
    for i, m in enumerate(ms[:4]):
        Migration.objects.filter(pk=m.pk).update(
            predicted_total_time_s=(i + 1) * 100.0 + 50.0, predicted_p90_s=(i + 1) * 200.0 + 50.0,
            sim_elapsed_s=50.0, simulation_speed=10.0,
        )  # fmt: skip
    for m in ms[4:]:
        Migration.objects.filter(pk=m.pk).update(
            predicted_total_time_s=300.0, predicted_p90_s=600.0, simulation_speed=10.0
        )
    spots = migration_queue(now=now)
    assert set(spots) == {m.pk for m in ms[4:]}
    assert [spots[m.pk].position for m in ms[4:]] == [1, 2, 3]
    # First free slot at 10 s, then 20 s, then the first queued one's own 30 s after 10 s = 40 s (tied with the
    # fourth running move).
    assert [(spots[m.pk].estimated_start_at - now).total_seconds() for m in ms[4:]] == pytest.approx([10, 20, 30])
    # p90: the running moves free at 20, 40, 60, 80 s; the queued take 60 s each.
    assert [(spots[m.pk].latest_start_at - now).total_seconds() for m in ms[4:]] == pytest.approx([20, 40, 60])


def test_the_api_shows_queue_position_and_estimated_start(topo, operator_client):
    ms = start_wan(topo, 6)
    body = operator_client.get(f"/api/migrations/{ms[5].pk}/").json()
    assert body["state"] == "queued" and body["queue_position"] == 2
    assert body["estimated_start_at"] is not None and body["latest_start_at"] >= body["estimated_start_at"]
    listed = {row["id"]: row for row in operator_client.get("/api/migrations/").json()["results"]}
    assert listed[ms[4].pk]["queue_position"] == 1 and listed[ms[5].pk]["queue_position"] == 2
    assert listed[ms[0].pk]["queue_position"] is None and listed[ms[0].pk]["estimated_start_at"] is None


def test_a_freed_slot_goes_to_the_oldest_queued_move_first(topo, operator):
    ms = start_wan(topo, 7)
    # Make the last one older than the other two waiting: request time, not id, sets the order.
    Migration.objects.filter(pk=ms[6].pk).update(created_at=timezone.now() - timedelta(hours=1))
    migration_cancel(migration=ms[0], by=operator)
    assert migrations_admit_queued() == [ms[6].pk]
    assert states(ms)[4:] == ["queued", "queued", "prechecks"]
    assert Migration.objects.get(pk=ms[6].pk).events.filter(kind="admitted").exists()
    assert migrations_admit_queued() == []  # the link is full again


def test_a_new_move_waits_behind_earlier_ones_for_the_same_link(topo, operator):
    ms = start_wan(topo, 5)
    migration_cancel(migration=ms[0], by=operator)  # a slot is free, but ms[4] asked first
    late = start_wan(topo, 1)[0]
    assert late.state == MigrationState.QUEUED
    assert "behind earlier moves" in late.events.get(kind="queued").message
    assert migrations_admit_queued() == [ms[4].pk]
    assert Migration.objects.get(pk=late.pk).state == MigrationState.QUEUED


def test_a_move_blocked_by_its_host_does_not_hold_back_the_link(topo, operator):
    slow = factories.host(topo.ca_cluster, "ca-1g", nic_gbps=1)  # 4 at once
    topo.ca_datastore.hosts.add(slow)
    topo.ca_link_va.bandwidth_mbit = 2500  # 10 slots
    topo.ca_link_va.save()
    on_slow = start_wan(topo, 5, host=slow)
    assert states(on_slow) == ["prechecks"] * 4 + ["queued"]
    other = start_wan(topo, 1, host=topo.ca_hosts[0])[0]
    assert other.state == MigrationState.QUEUED  # behind the earlier one, in order...
    assert migrations_admit_queued() == [other.pk]  # ...which waits for its host, not the link: this one goes
    assert Migration.objects.filter(link_key=other.link_key, state__in=RUNNING_STATES).count() == 5


def test_admission_reads_a_constant_number_of_queries_however_long_the_queue(topo):
    start_wan(topo, 6)
    with CaptureQueriesContext(connection) as short:
        assert migrations_admit_queued() == []
    start_wan(topo, 30)
    assert Migration.objects.filter(state=MigrationState.QUEUED).count() == 32
    with CaptureQueriesContext(connection) as long:
        assert migrations_admit_queued() == []
    assert len(long.captured_queries) == len(short.captured_queries) <= 4


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("slow link", "less than the 250 Mbit/s"),
        ("rtt", "round-trip time of 160 ms"),
        ("no link", "no cloud link between"),
        ("segment", "would change"),
        ("no room", "No host on Virginia DC can take"),
    ],
)
def test_refused_only_for_what_waiting_cannot_fix(topo, case, expected):
    start_wan(topo, 6)  # the link is busy: not a reason to refuse anything
    kwargs = {"destination_host": topo.va_hosts[0]}
    vm = factories.workload(topo.ca_hosts[0], segment=topo.stretched)
    if case == "slow link":
        topo.ca_link_va.bandwidth_mbit = 200
        topo.ca_link_va.save()
    elif case == "rtt":
        kwargs = {"destination_host": topo.far_hosts[0]}
    elif case == "no link":
        vm = factories.workload(topo.va_hosts[0], segment=topo.stretched)
        kwargs = {"destination_host": topo.far_hosts[0]}
    elif case == "segment":
        vm = factories.workload(topo.ca_hosts[0], segment=topo.ca_local)
    else:
        vm = factories.workload(topo.ca_hosts[0], segment=topo.stretched, memory_gib=4096)
        kwargs = {"destination_site": topo.va}
    before = Migration.objects.count()
    with pytest.raises(MigrationRefused) as refused:
        migration_start(workload=vm, override_reason="test", **kwargs)
    assert any(expected in e for e in refused.value.errors), refused.value.errors
    assert not any("Mbit/s a live migration needs" in e and "migrations on it" in e for e in refused.value.errors)
    assert Migration.objects.count() == before


def test_the_list_and_live_pages_show_the_place_in_line_and_estimated_start(topo, operator_client):
    ms = start_wan(topo, 6)
    listing = operator_client.get("/migrations/").content.decode()
    assert "#1 of 2 in line, starts ~" in listing and "#2 of 2 in line" in listing
    live = operator_client.get(ms[5].get_absolute_url()).content.decode()
    assert "Waiting in line: number 2 of 2" in live and "4 moves at once, one per 250 Mbit/s of its 1000 Mbit/s" in live
    assert "at the latest (p90" in live
    running = operator_client.get(ms[0].get_absolute_url()).content.decode()
    assert 'id="queue-box"' not in running

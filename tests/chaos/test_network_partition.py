"""A worker on another machine is cut off in the middle of a step.

Two Celery workers run each in its own network namespace ("machine"), reaching the session's Redis (and, on
PostgreSQL, the database) only through their veth link and a relay in the root namespace; beat runs in the root
namespace. The test waits until one machine takes the step lock (the lease) of the link its migrations cross, lets
it start the step, and takes that machine's link down. The other worker must finish every migration once the
watchdog sees the lease expired; when the link comes back, whatever the cut-off worker still had in flight must be
refused: no migration's state or seq moves backwards, and each has exactly one terminal event.
"""

from __future__ import annotations

import contextlib
import re
import time

import pytest
from django.db import connection
from django.utils import timezone

from migration.models import Migration
from migration.services import migration_start
from tests import conftest as root_conftest
from tests import factories
from tests.chaos.conftest import (
    all_finished,
    assert_nothing_lost,
    ensure_watchdog_schedule,
    require_root_and_netns,
    wait_for,
)
from tests.chaos.netlab import NetLab, takes_step_lock, writes_step
from tests.conftest import start_celery_worker

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

#: What the cut-off worker's log says when something it had in flight is refused or fails for want of its lease.
REFUSALS = re.compile(
    r"step of migration \d+ refused"  # the driver's conditional write found the row stepped by the other worker
    r"|superseded"  # its chain's token was replaced by the watchdog's
    r"|idle-in-transaction timeout"  # PostgreSQL ended its transaction: its row locks went to the other worker
    r"|advance_link\[[^\]]+\] raised unexpected: (?:network:)?(?:TimeoutError|ConnectionError)"  # no lease, no step
)


def machine_env(machine, redis_port: int, db: tuple[str, int] | None) -> dict[str, str]:
    """The machine reaches Redis, and PostgreSQL when that is the database, through relays on its link. On SQLite
    the database is the shared file (no network), so the cut comes as it takes the step lock; on PostgreSQL, as it
    sends a step's write."""
    redis = machine.relay(("127.0.0.1", redis_port), watch=None if db else takes_step_lock)
    env = {"REDIS_URL": f"redis://{machine.host_ip}:{redis.port}/0"}
    if db is not None:
        host, port = db
        relay = machine.relay(db, watch=writes_step)
        env["DATABASE_URL"] = root_conftest.test_database_url().replace(
            f"@{host}:{port}/", f"@{machine.host_ip}:{relay.port}/"
        )
    return env


def test_cut_off_worker_loses_its_lease_and_the_other_finishes_every_migration(transactional_db, settings):
    require_root_and_netns()
    from tests import redis_plugin

    if getattr(redis_plugin, "_redis", None) is None:
        pytest.skip("REDIS_URL points at an outside Redis; the relays need the session's own")
    redis_port = redis_plugin._redis.port
    postgres = connection.vendor == "postgresql"
    db = None
    if postgres:
        settings_dict = connection.settings_dict
        db = (settings_dict.get("HOST") or "127.0.0.1", int(settings_dict.get("PORT") or 5432))

    settings.SIMULATION_SPEED = 4
    ensure_watchdog_schedule()
    topo = factories.topology()
    vms = [
        factories.workload(topo.ca_hosts[0], segment=topo.stretched, memory_gib=8, disk_gib=2) for _ in range(8)
    ]  # the host runs 8 at once

    lab = NetLab()
    workers = []
    try:
        machines = [lab.machine(), lab.machine()]
        for m in machines:
            workers.append(
                start_celery_worker(f"chaos-{m.name}", prefix=m.command([]), env=machine_env(m, redis_port, db))
            )
        workers.append(start_celery_worker("chaos-beat", consume=False, beat=True))

        ids = [
            migration_start(workload=vm, destination_host=topo.va_hosts[0], override_reason="storage moves too").pk
            for vm in vms
        ]
        wait_for(
            lambda: Migration.objects.filter(pk__in=ids, state="precopy", bytes_sent__gt=0).count() == len(ids),
            timeout=30,
            what="every migration under way",
        )
        # Whichever machine next takes the lease (SQLite) or writes a step (PostgreSQL) is cut at that moment.
        lab.trigger.armed = True
        assert lab.trigger.fired.wait(10), "neither machine took the step lease within 10 s"
        holder = lab.trigger.machine
        cut_at = timezone.now()
        cut_worker = workers[machines.index(holder)]
        other_worker = workers[1 - machines.index(holder)]

        # The other machine's worker takes over once the watchdog finds the lease expired, and finishes them all.
        wait_for(lambda: all_finished(ids), timeout=150, interval=0.25, what="every migration finishing")
        assert Migration.objects.filter(pk__in=ids, last_step_at__gt=cut_at).count() == len(ids)
        took_over = re.findall(
            r"migration\.tasks\.watchdog\[[^\]]+\] succeeded in [\d.e-]+s: \['link:", log(other_worker)
        )
        assert took_over, "the watchdog did not restart the link's chain on the other worker"
        settled = {m.pk: (m.state, m.seq, m.bytes_sent) for m in Migration.objects.filter(pk__in=ids)}

        # The link comes back: what the cut-off worker still had in flight is refused, nothing moves.
        holder.mend()
        wait_for(lambda: REFUSALS.search(log(cut_worker)), timeout=30, what="a refusal in the cut-off worker's log")
        time.sleep(3.0)
        assert {m.pk: (m.state, m.seq, m.bytes_sent) for m in Migration.objects.filter(pk__in=ids)} == settled
        migrations = assert_nothing_lost(ids)
        assert [m.state for m in migrations] == ["completed"] * len(ids), [m.outcome_reason for m in migrations]
        assert cut_worker.alive() and other_worker.alive()
        print("refused after the link came back:", sorted(set(REFUSALS.findall(log(cut_worker)))))
    finally:
        for worker in workers:
            worker.kill()
        left = lab.close()
        with contextlib.suppress(Exception):
            connection.close()
        assert not left, f"network namespaces left behind: {left}"


def log(worker) -> str:
    return worker.log_path.read_text(errors="replace")

"""The database fails in the middle of a step's transaction.

On PostgreSQL the worker's own connection is cut from the server side (`pg_terminate_backend`) while it sits
inside a step's transaction (after its conditional UPDATE of the migration, before the rounds, events and the
workload's move are written). SQLite has no connection to cut (the database is a library in the worker), so there
the statements that follow that UPDATE fail instead, as a failing disk would fail them: triggers make the insert
of a pre-copy round and the move of the workload to its new host fail while the test holds them armed.

Either way the step's transaction must be all or nothing, the next step must take it again from the saved state,
and every migration must end with its row, rounds, events and workload agreeing.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections

from migration.models import Migration
from migration.services import migration_start
from tests import factories
from tests.chaos.conftest import all_finished, assert_nothing_lost, ensure_watchdog_schedule, wait_for
from tests.conftest import start_celery_worker

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

ROUND_FAULT = "injected fault: the round could not be written"
MOVE_FAULT = "injected fault: the workload could not be moved"
BOTH_FAULTS = (ROUND_FAULT, MOVE_FAULT)


def worker_log(worker) -> str:
    return worker.log_path.read_text(errors="replace")


def start_migrations(topo) -> list[int]:
    wan = [factories.workload(topo.ca_hosts[0], segment=topo.stretched, memory_gib=12, disk_gib=4) for _ in range(3)]
    local = [factories.workload(topo.ca_hosts[0], memory_gib=12) for _ in range(3)]
    return [
        migration_start(workload=vm, destination_host=topo.va_hosts[0], override_reason="storage moves too").pk
        for vm in wan
    ] + [migration_start(workload=vm, destination_host=topo.ca_hosts[1]).pk for vm in local]


class BackendKiller(threading.Thread):
    """Terminates, on the server, every worker connection caught inside a step's transaction, until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stopping = threading.Event()
        self.killed: list[str] = []

    def run(self) -> None:
        try:
            with connection.cursor() as cursor:
                while not self.stopping.is_set():
                    cursor.execute(
                        """
                        SELECT pid, left(query, 60) FROM pg_stat_activity
                        WHERE datname = current_database() AND pid <> pg_backend_pid()
                          AND xact_start IS NOT NULL AND query NOT ILIKE 'SELECT%%'
                          AND (
                            (state = 'idle in transaction'
                             AND (query ILIKE '%%migration_migration%%' OR query ILIKE '%%inventory_workload%%'))
                            OR (state = 'active' AND query ILIKE 'INSERT INTO "migration_migration%%')
                          )
                        """
                    )
                    for pid, query in cursor.fetchall():
                        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
                        if cursor.fetchone()[0]:
                            self.killed.append(query)
                            self.stopping.wait(0.2)  # let the worker take that step again before the next cut
                    time.sleep(0.001)
        finally:
            connections.close_all()


def arm_sqlite_faults(armed: bool) -> None:
    with connection.cursor() as cursor:
        cursor.execute("UPDATE chaos_fault SET armed = %s", [1 if armed else 0])


def install_sqlite_faults() -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS chaos_fault (armed INTEGER NOT NULL)")
        cursor.execute("DELETE FROM chaos_fault")
        cursor.execute("INSERT INTO chaos_fault (armed) VALUES (0)")
        cursor.execute(
            f"""CREATE TRIGGER IF NOT EXISTS chaos_round_fault BEFORE INSERT ON migration_migrationround
            WHEN (SELECT armed FROM chaos_fault) = 1 BEGIN SELECT RAISE(ABORT, '{ROUND_FAULT}'); END"""
        )
        cursor.execute(
            f"""CREATE TRIGGER IF NOT EXISTS chaos_move_fault BEFORE UPDATE OF host_id ON inventory_workload
            WHEN (SELECT armed FROM chaos_fault) = 1 BEGIN SELECT RAISE(ABORT, '{MOVE_FAULT}'); END"""
        )


def remove_sqlite_faults() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER IF EXISTS chaos_round_fault")
        cursor.execute("DROP TRIGGER IF EXISTS chaos_move_fault")
        cursor.execute("DROP TABLE IF EXISTS chaos_fault")


def test_database_failing_mid_step_is_retried_and_nothing_is_half_applied(transactional_db, settings):
    settings.SIMULATION_SPEED = 3
    ensure_watchdog_schedule()
    topo = factories.topology()
    postgres = connection.vendor == "postgresql"
    if not postgres:
        install_sqlite_faults()
    worker = start_celery_worker("chaos-db", beat=True)
    killer = BackendKiller() if postgres else None
    try:
        ids = start_migrations(topo)
        wait_for(
            lambda: Migration.objects.filter(pk__in=ids, state="precopy", bytes_sent__gt=0).count() == len(ids),
            timeout=30,
            what="every migration under way",
        )
        if postgres:
            killer.start()
            wait_for(lambda: all_finished(ids), timeout=120, interval=0.25, what="every migration finishing")
            killer.stopping.set()
            killer.join(10)
            faults = killer.killed
            assert len(faults) >= 3, f"only {len(faults)} step transactions were cut"
        else:
            arm_sqlite_faults(True)
            # Armed until both kinds of failure have hit a step (a round's insert, a completion's move), or 20 s.
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not all(fault in worker_log(worker) for fault in BOTH_FAULTS):
                time.sleep(0.2)
            arm_sqlite_faults(False)
            log = worker_log(worker)
            faults = [fault for fault in BOTH_FAULTS for _ in range(log.count(fault))]
            assert faults, "no step failed while the faults were armed"
            wait_for(lambda: all_finished(ids), timeout=120, interval=0.25, what="every migration finishing")
        migrations = assert_nothing_lost(ids)
        assert [m.state for m in migrations] == ["completed"] * len(ids), [m.outcome_reason for m in migrations]
        assert worker.alive()
        print(f"database faults injected: {len(faults)}: {sorted(set(faults))}")
    finally:
        if killer is not None:
            killer.stopping.set()
            killer.join(10)
        worker.stop()
        if not postgres:
            remove_sqlite_faults()

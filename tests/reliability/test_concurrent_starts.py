"""20 concurrent starts for one workload give exactly one migration: the workload row is locked
(select_for_update) and a partial unique constraint backs it. Locks are only real on PostgreSQL (SQLite ignores
select_for_update and serialises writers), so this runs in CI's PostgreSQL pass and is skipped on SQLite."""

import threading

import pytest
from django.db import connection

from migration.models import Migration, MigrationEvent
from migration.services import MigrationRefused, migration_start
from tests import factories
from tests.reliability.helpers import drop_queued_work

STARTS = 20


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_starts_for_one_workload_give_exactly_one_migration():
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: SQLite ignores select_for_update and serialises writers, so it cannot show 20 "
            "starts racing (CI's second pass runs this with DATABASE_URL=postgres://...)"
        )
    topo = factories.topology()
    vm = factories.workload(topo.ca_hosts[0])
    barrier = threading.Barrier(STARTS)
    outcomes: list[int | str] = []
    lock = threading.Lock()

    def start() -> None:
        try:
            barrier.wait()
            try:
                result: int | str = migration_start(workload=vm, destination_host=topo.ca_hosts[1]).pk
            except MigrationRefused as exc:
                result = exc.errors[0]
            with lock:
                outcomes.append(result)
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(STARTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    drop_queued_work()  # no worker runs here: drop the one chain the winner enqueued

    assert len(outcomes) == STARTS, f"some starts neither succeeded nor were refused: {outcomes}"
    started = [o for o in outcomes if isinstance(o, int)]
    assert len(started) == 1, outcomes
    assert Migration.objects.filter(workload=vm).count() == 1
    refused = [o for o in outcomes if isinstance(o, str)]
    assert len(refused) == STARTS - 1 and all("already being migrated" in o for o in refused), refused
    assert MigrationEvent.objects.filter(migration__workload=vm, kind="created").count() == 1

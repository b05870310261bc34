"""A transaction that rolls back enqueues nothing: tasks are sent on commit. Checked on the real broker by the
length of the Redis list that is the Celery queue (no worker consumes it during these tests)."""

import pytest
from django.db import transaction

from hybridcloud.celery import app
from hybridcloud.core.events import redis_client
from migration.dr import services as dr_services
from migration.services import migration_start
from tests import factories
from tests.migration.dr.builders import demo_plan
from tests.reliability.helpers import drop_queued_work

pytestmark = pytest.mark.integration


class Rollback(Exception):
    pass


def queue_length() -> int:
    return redis_client().llen(app.conf.task_default_queue)


@pytest.fixture
def empty_queue(transactional_db):
    drop_queued_work()
    assert queue_length() == 0
    yield
    drop_queued_work()


def test_rolled_back_migration_start_enqueues_nothing_and_a_committed_one_does(empty_queue):
    topo = factories.topology()
    vm = factories.workload(topo.ca_hosts[0], segment=topo.stretched)
    with pytest.raises(Rollback), transaction.atomic():
        migration_start(workload=vm, destination_host=topo.ca_hosts[1])
        raise Rollback
    assert queue_length() == 0
    # The same start, committed: its step chain is on the queue (so the check above could see one).
    migration_start(workload=vm, destination_host=topo.ca_hosts[1])
    assert queue_length() >= 1


def test_rolled_back_drill_start_enqueues_nothing_and_a_committed_one_does(empty_queue):
    setup = demo_plan()
    with pytest.raises(Rollback), transaction.atomic():
        dr_services.drill_start(plan=setup.plan)
        raise Rollback
    assert queue_length() == 0
    assert not setup.plan.drills.exists()
    dr_services.drill_start(plan=setup.plan)
    assert queue_length() == 1

"""The migration watchdog restarts only the chains that stopped: a migration the chain admitted from the queue a
moment ago (never stepped yet, created long before) is no stopped chain, and replacing that chain would cost its
migrations a step."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from hybridcloud.core.events import redis_client
from migration.chains import chain_key
from migration.models import Migration
from migration.services import migration_start
from migration.tasks import watchdog
from tests import factories
from tests.reliability.helpers import drop_queued_work


def _admitted_long_after_it_was_created(topo) -> Migration:
    vm = factories.workload(topo.ca_hosts[0])
    migration = migration_start(workload=vm, destination_host=topo.ca_hosts[1])
    Migration.objects.filter(pk=migration.pk).update(
        state="prechecks", last_step_at=None, created_at=timezone.now() - timedelta(minutes=5)
    )
    drop_queued_work()  # no worker here: the chain's message and token are the test's to set
    return Migration.objects.get(pk=migration.pk)


def test_a_just_admitted_migration_on_a_live_chain_is_left_to_that_chain(db):
    migration = _admitted_long_after_it_was_created(factories.topology())
    redis_client().set(chain_key(migration.link_key), "the live chain's token", px=15_000)
    try:
        assert watchdog() == []
        assert redis_client().get(chain_key(migration.link_key)) == b"the live chain's token"
    finally:
        drop_queued_work()


def test_a_never_stepped_migration_without_a_chain_gets_one(db):
    migration = _admitted_long_after_it_was_created(factories.topology())
    try:
        assert watchdog() == [migration.link_key]
        assert redis_client().get(chain_key(migration.link_key)) is not None
    finally:
        drop_queued_work()


def test_a_chain_whose_migration_stopped_stepping_is_replaced_even_while_its_token_lives(db):
    migration = _admitted_long_after_it_was_created(factories.topology())
    Migration.objects.filter(pk=migration.pk).update(last_step_at=timezone.now() - timedelta(seconds=30))
    redis_client().set(chain_key(migration.link_key), "a dead worker's token", px=15_000)
    try:
        assert watchdog() == [migration.link_key]
        assert redis_client().get(chain_key(migration.link_key)) != b"a dead worker's token"
    finally:
        drop_queued_work()

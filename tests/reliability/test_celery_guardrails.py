"""Celery's guardrails, read from the app the workers run: a task is acknowledged after it ran (so a killed worker's
task is redelivered, and our tasks are idempotent for it), one message prefetched per process, and time limits
below the broker's visibility timeout (so a slow task is killed before Redis hands its message to another
worker while it still runs)."""

import pytest

from hybridcloud.celery import app

#: The tasks that carry long-running work in steps; each must be acks_late and safe to deliver twice.
STEP_TASKS = (
    "migration.tasks.advance_link",
    "migration.dr.tasks.run_drill",
    "migration.dr.tasks.drill_step",
    "migration.dr.tasks.planned_migration_step",
    "migration.dr.tasks.scheduled_drill",
)


def test_tasks_are_acknowledged_late_and_requeued_when_their_worker_dies():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    app.loader.import_default_modules()
    for name in STEP_TASKS:
        task = app.tasks[name]
        assert task.acks_late is True, f"{name} is acknowledged before it runs: a killed worker would lose it"


def test_each_worker_process_prefetches_one_message():
    assert app.conf.worker_prefetch_multiplier == 1


def test_time_limits_are_below_the_visibility_timeout():
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    hard, soft = app.conf.task_time_limit, app.conf.task_soft_time_limit
    assert hard is not None and soft is not None, "a task without a time limit could outlive its visibility timeout"
    assert soft < hard < visibility
    # The longest countdown a step chain uses is far below it too, so its messages are never redelivered early.
    from migration.dr.leases import LEASE_S
    from migration.dr.planned import CHECK_MAX_S

    assert visibility > CHECK_MAX_S + LEASE_S


def test_eager_mode_is_off():
    assert app.conf.task_always_eager is False


@pytest.mark.parametrize("name", STEP_TASKS)
def test_step_tasks_are_registered_under_their_names(name):
    app.loader.import_default_modules()
    assert name in app.tasks


def test_a_running_worker_holds_one_message_per_process(celery_worker_process):
    """The worker as it runs (started as the run command and the benchmarks start it: `celery -A hybridcloud worker`
    with 2 prefork processes), not only the app's setting: with acks_late, a message reserved for a busy process
    (a link's next step) would wait while the other process sits idle."""
    node = celery_worker_process.node
    stats = (app.control.inspect(destination=[node], timeout=5).stats() or {})[node]
    assert stats["pool"]["max-concurrency"] == 2
    assert stats["prefetch_count"] == 2 * app.conf.worker_prefetch_multiplier == 2

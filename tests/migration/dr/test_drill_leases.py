"""Leases of drill runs (migration/dr/leases.py), with the database and no processes: a step delivered twice
changes nothing twice, a cut-off worker's late step is refused, the watchdog resumes or fails a run that lost
its worker, and one drill starts per schedule slot."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from hybridcloud.core.models import AuditEntry
from migration.dr import leases, runner, schedules, services
from migration.dr.choices import DrillState, DrillTrigger
from migration.dr.models import DrillRun
from tests.migration.dr.builders import demo_plan


def step_states(run_id: int) -> list[tuple[str, str]]:
    return list(DrillRun.objects.get(pk=run_id).steps.order_by("order").values_list("state", "reason"))


def expire(run_id: int) -> None:
    DrillRun.objects.filter(pk=run_id).update(lease_expires_at=timezone.now() - timedelta(seconds=1))


@pytest.fixture
def begun():
    setup = demo_plan()
    run = services.drill_start(plan=setup.plan, enqueue=False)
    token = runner.drill_begin(run_id=run.pk)
    assert token is not None
    return setup, run, token


@pytest.mark.django_db
def test_a_drill_step_delivered_twice_makes_one_transition(begun):
    _, run, token = begun
    first = runner.drill_step(run_id=run.pk, token=token, pace=False)
    after_first = step_states(run.pk)
    assert first.next_token == token + 1 and after_first[0][0] == "running"
    again = runner.drill_step(run_id=run.pk, token=token, pace=False)  # the same message, redelivered
    assert again.next_token is None and again.finished == []
    assert step_states(run.pk) == after_first
    assert DrillRun.objects.get(pk=run.pk).step_token == token + 1


@pytest.mark.django_db
def test_run_drill_delivered_twice_lays_the_steps_out_once(begun):
    _, run, _ = begun
    assert runner.drill_begin(run_id=run.pk) is None
    assert run.steps.count() == 6


@pytest.mark.django_db
def test_a_step_holds_a_lease_naming_its_process(begun):
    _, run, token = begun
    runner.drill_step(run_id=run.pk, token=token, pace=False)
    run.refresh_from_db()
    assert run.lease_holder == leases.process_name()
    assert run.lease_expires_at > timezone.now()


@pytest.mark.django_db
def test_watchdog_leaves_a_run_with_a_live_lease_alone(begun):
    _, run, token = begun
    runner.drill_step(run_id=run.pk, token=token, pace=False)
    assert runner.drills_watchdog() == []
    assert DrillRun.objects.get(pk=run.pk).step_token == token + 1


@pytest.mark.django_db
def test_a_cut_off_worker_coming_back_cannot_overwrite_the_one_that_took_over(begun):
    _, run, token = begun
    runner.drill_step(run_id=run.pk, token=token, pace=False)  # worker A runs step 1, then is cut off
    expire(run.pk)
    assert runner.drills_watchdog() == [run.pk]  # the watchdog hands the run to a new chain
    taken = DrillRun.objects.get(pk=run.pk)
    assert taken.step_token == token + 2 and taken.resumes == 1
    before = step_states(run.pk)
    late = runner.drill_step(run_id=run.pk, token=token + 1, pace=False)  # A's next step arrives late
    assert late.next_token is None
    assert step_states(run.pk) == before
    resumed = runner.drill_step(run_id=run.pk, token=token + 2, pace=False)  # the new chain goes on
    assert resumed.next_token == token + 3 and [s.order for s in resumed.finished] == [1]
    assert DrillRun.objects.get(pk=run.pk).resumes == 0  # a step that ended clears the takeover count


@pytest.mark.django_db
def test_a_resumed_drill_ends_like_an_uninterrupted_one(begun):
    setup, run, token = begun
    for _ in range(3):  # lose the worker after every one of the first steps
        token = runner.drill_step(run_id=run.pk, token=token, pace=False).next_token
        expire(run.pk)
        runner.drills_watchdog()
        token = DrillRun.objects.get(pk=run.pk).step_token
    while token is not None:
        token = runner.drill_step(run_id=run.pk, token=token, pace=False).next_token
    run.refresh_from_db()
    assert run.state == DrillState.COMPLETED, run.reason
    assert [s for s, _ in step_states(run.pk)] == ["done"] * 6
    assert run.results.count() == len(setup.workloads)
    assert AuditEntry.objects.filter(action="drill.end", object_id=str(run.pk)).count() == 1


@pytest.mark.django_db
def test_watchdog_fails_a_run_that_keeps_losing_its_worker_and_the_plan_is_not_blocked(begun):
    setup, run, token = begun
    runner.drill_step(run_id=run.pk, token=token, pace=False)
    for _ in range(leases.MAX_RESUMES):
        expire(run.pk)
        assert runner.drills_watchdog() == [run.pk]
    expire(run.pk)
    assert runner.drills_watchdog() == [run.pk]
    run.refresh_from_db()
    assert run.state == DrillState.FAILED
    assert f"lost its worker {leases.MAX_RESUMES} times" in run.reason
    assert all(state in ("skipped", "done") for state, _ in step_states(run.pk))
    assert AuditEntry.objects.filter(action="drill.end", object_id=str(run.pk)).count() == 1
    assert runner.drills_watchdog() == []  # ended once, announced once
    # The one-active-drill rule does not wedge: the next drill of the plan starts.
    assert services.drill_start(plan=setup.plan, enqueue=False).state == DrillState.QUEUED


@pytest.mark.django_db
def test_watchdog_reenqueues_a_queued_run_no_worker_claimed():
    setup = demo_plan()
    run = services.drill_start(plan=setup.plan, enqueue=False)
    DrillRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(seconds=leases.LEASE_S + 1))
    assert runner.drills_watchdog() == [run.pk]
    assert runner.drills_watchdog() == []  # its new lease is live
    assert DrillRun.objects.get(pk=run.pk).resumes == 1


@pytest.mark.django_db
def test_one_drill_per_schedule_slot_even_after_the_first_one_ended():
    setup = demo_plan()
    schedules.plan_schedule_set(plan=setup.plan, hour=2, minute=30)
    tz = timezone.get_current_timezone()
    fired = datetime(2026, 12, 1, 2, 30, 1, tzinfo=tz)
    first = schedules.scheduled_drill_run(plan_id=setup.plan.pk, now=fired, in_process=True, pace=False)
    assert first is not None and first.state == DrillState.COMPLETED
    # The beat fires again, or the task is redelivered hours later: the same slot starts nothing.
    for later in (fired + timedelta(seconds=5), fired + timedelta(hours=5)):
        assert schedules.scheduled_drill_run(plan_id=setup.plan.pk, now=later, in_process=True, pace=False) is None
    assert DrillRun.objects.filter(plan=setup.plan, trigger=DrillTrigger.SCHEDULE).count() == 1
    # The next night's slot starts the next drill.
    assert schedules.scheduled_drill_run(
        plan_id=setup.plan.pk, now=fired + timedelta(days=1), in_process=True, pace=False
    )
    assert DrillRun.objects.filter(plan=setup.plan).count() == 2


def test_slot_key_is_the_latest_crontab_time_at_or_before_the_firing(db):
    setup = demo_plan()
    schedules.plan_schedule_set(plan=setup.plan, hour=2, minute=30)
    setup.plan.refresh_from_db()
    tz = timezone.get_current_timezone()
    at = schedules.schedule_slot_key(plan=setup.plan, now=datetime(2026, 12, 1, 2, 30, 0, tzinfo=tz))
    late = schedules.schedule_slot_key(plan=setup.plan, now=datetime(2026, 12, 1, 9, 0, 0, tzinfo=tz))
    before = schedules.schedule_slot_key(plan=setup.plan, now=datetime(2026, 12, 1, 2, 29, 0, tzinfo=tz))
    assert at == late != before
    assert at.startswith(f"plan-{setup.plan.pk}@")

"""Writes of the DR app that start and cancel a run: a test drill, or a planned migration (the real move).

`drill_start` creates a queued DrillRun (at most one active per plan, and one per schedule slot: the database
says so) and, after commit, enqueues `run_drill` (migration/dr/leases.py); the run is then carried by
migration/dr/runner.py. Schedules are in migration/dr/schedules.py.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from hybridcloud.core.audit import audit_record
from hybridcloud.core.refusals import Refused
from hybridcloud.core.roles import is_operator
from migration.dr import leases
from migration.dr.choices import DrillKind, DrillState, DrillTrigger
from migration.dr.models import DrillRun, RecoveryPlan
from migration.dr.planned import cancel_planned_migrations
from migration.dr.runner import drill_end
from migration.dr.selectors import planned_migration_preview


class DrillNotStarted(Refused):
    """The drill could not start (already running, plan disabled, ...); the message says why. The API answers 409:
    another run is in the way."""

    status_code = 409


class PlannedMigrationRefused(Refused):
    """A planned migration was not started: pre-checks found errors that would stop it; `errors` lists them."""


class OverrideReasonRequired(PlannedMigrationRefused):
    """The pre-checks warn about some moves and the operator wrote no reason; `warnings` lists them."""

    def __init__(self, warnings: list[str]) -> None:
        super().__init__(
            [
                f"{len(warnings)} pre-check warning{'s' if len(warnings) != 1 else ''} need a written override reason "
                "before the planned migration can start: " + " ".join(warnings)
            ],
            warnings=warnings,
        )


def drill_start(
    *,
    plan: RecoveryPlan,
    kind: str = DrillKind.TEST,
    trigger: str = DrillTrigger.MANUAL,
    started_by=None,
    enqueue: bool = True,
    slot_key: str = "",
    override_reason: str = "",
    warnings: list[str] | None = None,
) -> DrillRun:
    """Create a queued drill of `plan`; raise DrillNotStarted when one is already queued or running, or when a
    drill already started for `slot_key` (a schedule slot: see `schedule_slot_key`).

    With `enqueue`, `run_drill` is sent to Celery once the row is committed; without, the caller runs
    `drill_execute(run_id=...)` itself (the management command does).
    """
    if kind not in DrillKind.values:
        raise DrillNotStarted(f"Unknown drill kind {kind!r}.")
    planned = kind == DrillKind.PLANNED_MIGRATION
    if planned and (started_by is None or not is_operator(started_by)):
        # A planned migration really moves production: an operator starts it, never the schedule.
        raise DrillNotStarted("Only an operator can start a planned migration.")
    run = _queued_run(
        DrillRun(
            plan=plan,
            kind=kind,
            trigger=trigger,
            started_by=started_by if started_by is not None and started_by.is_authenticated else None,
            state=DrillState.QUEUED,
            target_rto_s=plan.target_rto_s,
            slot_key=slot_key,
            override_reason=override_reason.strip(),
        )
    )
    if not planned:  # a planned migration moves the real workloads: no isolated network
        DrillRun.objects.filter(pk=run.pk).update(test_network=f"drill-{run.pk}-bubble")
        run.test_network = f"drill-{run.pk}-bubble"
    _audit_start(run, warnings=warnings, override_reason=override_reason)
    if enqueue:
        leases.run_enqueue(run_id=run.pk)
    return run


def _queued_run(run: DrillRun) -> DrillRun:
    """Save the queued run, or say why the database refused it (its slot's drill started, or one is active)."""
    plan, slot_key = run.plan, run.slot_key
    try:
        with transaction.atomic():
            run.save()
    except IntegrityError:
        if slot_key and DrillRun.objects.filter(slot_key=slot_key).exists():
            raise DrillNotStarted(
                f"A drill of {plan.name} already started for this schedule slot ({slot_key})."
            ) from None
        # The partial unique constraint: another drill of this plan is queued or running.
        active = plan.drills.filter(state__in=[DrillState.QUEUED, DrillState.RUNNING]).first()
        detail = f" (drill #{active.pk}, {active.get_state_display().lower()})" if active else ""
        raise DrillNotStarted(f"A drill of {plan.name} is already running{detail}.") from None
    return run


def _audit_start(run: DrillRun, *, warnings: list[str] | None, override_reason: str) -> None:
    plan, kind, trigger = run.plan, run.kind, run.trigger
    planned = kind == DrillKind.PLANNED_MIGRATION
    audit_record(
        action="drill.run",
        target=run,
        actor=run.started_by,
        after={
            "plan": plan.pk,
            "plan_name": plan.name,
            "kind": kind,
            "trigger": trigger,
            "drill": run.pk,
            # A planned migration's accepted pre-check warnings and the operator's reason for accepting them.
            **({"warnings": warnings, "override_reason": override_reason} if warnings else {}),
        },  # fmt: skip
        via="schedule" if trigger == DrillTrigger.SCHEDULE else None,
        message=f"{'Planned migration' if planned else 'Test drill'} of {plan.name} ({trigger})"
        + (f" with {len(warnings)} warning(s) overridden: {override_reason}" if warnings else "."),
    )


def planned_migration_start(*, plan: RecoveryPlan, started_by, override_reason: str = "") -> DrillRun:
    """Start the real, live move of the plan's workloads to its recovery site, group by group.

    Refused (PlannedMigrationRefused, nothing moved) when pre-checks against placement on the recovery site
    find an error that would stop it part-way, or (OverrideReasonRequired) when they warn and the operator wrote
    no reason (the reason is audited with the warnings); DrillNotStarted when the caller is not an operator or a
    drill of the plan is already running.
    """
    if started_by is None or not is_operator(started_by):
        raise DrillNotStarted("Only an operator can start a planned migration.")
    if plan.drills.filter(state__in=[DrillState.QUEUED, DrillState.RUNNING]).exists():
        return drill_start(plan=plan, kind=DrillKind.PLANNED_MIGRATION, started_by=started_by)  # says which one
    preview = planned_migration_preview(plan)
    if not preview.workload_count:
        raise PlannedMigrationRefused([f"{plan.name} protects no workload: there is nothing to move."])
    if preview.errors:
        raise PlannedMigrationRefused(preview.errors)
    override_reason = (override_reason or "").strip()
    if preview.warnings and not override_reason:
        raise OverrideReasonRequired(preview.warnings)
    return drill_start(
        plan=plan, kind=DrillKind.PLANNED_MIGRATION, started_by=started_by,
        override_reason=override_reason, warnings=preview.warnings,
    )  # fmt: skip


def drill_cancel(*, run: DrillRun, by=None) -> bool:
    """Cancel a queued or running drill; the runner stops at its next step. True when it was active.

    A planned migration also cancels its live migrations that have not switched over yet: those workloads stay
    on the protected site (the ones already switching over finish their move)."""
    with transaction.atomic():
        cancelled = drill_end(
            run_id=run.pk,
            token=None,
            from_states=(DrillState.QUEUED, DrillState.RUNNING),
            state=DrillState.CANCELLED,
            reason="Cancelled.",
        )
        if cancelled and run.kind == DrillKind.PLANNED_MIGRATION:
            stopped = cancel_planned_migrations(run=run, by=by)
            if stopped:
                DrillRun.objects.filter(pk=run.pk).update(
                    reason=f"Cancelled; {len(stopped)} live migration(s) stopped before their switchover, "
                    "their workloads stay on the protected site."
                )
    if cancelled:
        run.refresh_from_db()
    return cancelled

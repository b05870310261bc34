"""Leases of running drills and planned migrations: how a run survives the worker that was advancing it.

A run (test drill or planned migration) is advanced by step tasks `drill_step(run_id, token)`. The rules:

- **Claim**: a step first moves the row's `step_token` from the token it carries to the next value, records
  who holds the lease (`host:pid`) and until when, in one conditional update
  (`UPDATE ... WHERE id=? AND step_token=? AND state IN (...)`), in the same transaction as its work. A
  duplicate delivery, or a step of a worker that was cut off while the watchdog took over, finds its token
  taken and changes nothing; a worker killed mid-step rolls its transaction back, claim and all.
- **Expiry**: a step leaves the lease valid for its countdown plus `LEASE_S`; a run whose lease expired has
  lost its worker (its next step was held by a dead process).
- **Watchdog** (`drills_watchdog`, beat every 15 s; at every worker start, and again when the leases held then
  have expired): takes over an expired run by
  moving its token on (the dead worker's message, redelivered later, is then stale) and enqueues a step with
  the new token; after `MAX_RESUMES` takeovers in a row with no step finishing in between, it fails the run
  with a reason instead. A queued run that no worker claimed is re-enqueued (the claim is idempotent) or failed
  the same way. So a dead run never keeps the plan's one-active-drill slot.
"""

from __future__ import annotations

from datetime import timedelta

from celery import current_app
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from migration.chains import process_name
from migration.dr.choices import DrillState
from migration.dr.models import DrillRun

#: A lease outlives the countdown to the next step by this many seconds.
LEASE_S = 8.0
#: Takeovers in a row (no step finished in between) before the watchdog fails the run instead.
MAX_RESUMES = 3
STEP_TASK = "migration.dr.tasks.drill_step"
RUN_TASK = "migration.dr.tasks.run_drill"


def lease_claim(*, run_id: int, token: int, states: tuple[str, ...] = (DrillState.RUNNING,)) -> bool:
    """Claim step `token` of the run (token → token + 1) and hold its lease for `LEASE_S`; False when the token is
    no longer current (a duplicate delivery, a replaced chain) or the run is not in `states`. A step that ends
    (its transaction commits) also clears the run's count of takeovers."""
    return bool(
        DrillRun.objects.filter(pk=run_id, step_token=token, state__in=states).update(
            step_token=token + 1,
            lease_holder=process_name(),
            lease_expires_at=timezone.now() + timedelta(seconds=LEASE_S),
            resumes=0,
        )
    )


def lease_hold(*, run_id: int, token: int, seconds: float) -> bool:
    """Keep the lease of the holder of `token` until the next step is due (`seconds`) plus `LEASE_S`."""
    return bool(
        DrillRun.objects.filter(pk=run_id, step_token=token).update(
            lease_expires_at=timezone.now() + timedelta(seconds=seconds + LEASE_S)
        )
    )


def step_enqueue(*, run_id: int, token: int, countdown: float = 0.0) -> None:
    """Send the run's next step (with the token it will claim) once the current transaction commits."""
    transaction.on_commit(lambda: current_app.send_task(STEP_TASK, args=(run_id, token), countdown=max(countdown, 0.0)))


def run_enqueue(*, run_id: int) -> None:
    """Send the task that claims a queued run and lays its steps out, once the current transaction commits."""
    transaction.on_commit(lambda: current_app.send_task(RUN_TASK, args=(run_id,)))


def expired_runs(*, force: bool = False):
    """Runs that lost their worker: running with an expired lease (every running one when `force`), and queued
    ones that no worker claimed within `LEASE_S`."""
    now = timezone.now()
    running = DrillRun.objects.filter(state=DrillState.RUNNING)
    if not force:
        running = running.filter(lease_expires_at__lt=now) | running.filter(
            lease_expires_at__isnull=True, started_at__lt=now - timedelta(seconds=LEASE_S)
        )
    queued = DrillRun.objects.filter(state=DrillState.QUEUED, created_at__lt=now - timedelta(seconds=LEASE_S))
    queued = queued.filter(lease_expires_at__isnull=True) | queued.filter(lease_expires_at__lt=now)
    return list(running.order_by("pk")), list(queued.order_by("pk"))


def latest_lease_expiry():
    """When the last lease of a queued or running run expires (None: no lease is held)."""
    return (
        DrillRun.objects.filter(state__in=[DrillState.QUEUED, DrillState.RUNNING], lease_expires_at__isnull=False)
        .order_by("-lease_expires_at")
        .values_list("lease_expires_at", flat=True)
        .first()
    )


def lease_take_over(*, run: DrillRun) -> int | None:
    """Move an expired run's token on and count the takeover; the new token, or None when the run changed
    meanwhile (a step ran, it ended) and nothing was taken over."""
    taken = DrillRun.objects.filter(pk=run.pk, step_token=run.step_token, state=run.state).update(
        step_token=F("step_token") + 1,
        resumes=F("resumes") + 1,
        lease_holder="",
        lease_expires_at=timezone.now() + timedelta(seconds=LEASE_S),
    )
    return run.step_token + 1 if taken else None

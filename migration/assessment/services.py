"""Writes of the assessment app: create an assessment (queued, computed on commit by a Celery task), compute it
(idempotent, under a lease: `computation.compute` does the work, reads only), re-run it with edited assumptions.
Nothing here starts a migration.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from datetime import timedelta

from celery import current_app
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from hybridcloud.core.audit import audit_record
from hybridcloud.core.refusals import Refused
from inventory.models import Cluster, Estate, Site
from migration.assessment import selectors
from migration.assessment.choices import AssessmentStatus, ScopeKind
from migration.assessment.computation import compute
from migration.assessment.models import Assessment, AssessmentRow

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=120)
COMPUTE_TASK = "migration.assessment.tasks.compute_assessment"
PROGRESS_EVERY_S = 0.5
MB = 1_000_000


class AssessmentRefused(Refused):
    """The assessment cannot be made as asked; `field_errors` maps each field to what is wrong with it, `errors`
    says it as "field: problem" sentences. The API answers 400 with both."""

    def __init__(self, field_errors: dict[str, str]) -> None:
        super().__init__([f"{k}: {v}" for k, v in field_errors.items()])
        self.field_errors = dict(field_errors)

    def body(self) -> dict:
        return {**super().body(), "field_errors": self.field_errors}


# -- create ---------------------------------------------------------------------------------------------------------


def _user(user: AbstractBaseUser | None) -> AbstractBaseUser | None:
    return user if user is not None and user.is_authenticated else None


def _scope_sources(scope: dict, destination: Site) -> list[Site]:
    """The sites the scope's workloads run on; refused when the scope is empty or already at the destination."""
    sources = selectors.scope_source_sites(selectors.scope_workloads(**scope))
    if not sources:
        raise AssessmentRefused({"scope": "The scope has no workloads: there is nothing to assess."})
    if all(s.pk == destination.pk for s in sources):
        raise AssessmentRefused({"destination": f"Every workload of the scope already runs on {destination.name}."})
    return sources


def _scenario(sources: list[Site], destination: Site, scenario: dict, link_note: str | None) -> tuple[dict, str]:
    """The scenario's figures (those given, the rest from the real link) and the note saying where they came from;
    refused when there is no link to take bandwidth or RTT from and they are not given."""
    defaults = selectors.scenario_defaults(sources=sources, destination=destination)
    values = defaults.values | scenario
    missing = [f for f in ("bandwidth_mbit", "rtt_ms") if values.get(f) in (None, "")]
    if missing:
        names = ", ".join(s.name for s in sources)
        raise AssessmentRefused(
            {
                f"scenario.{f}": f"There is no link between {names} and {destination.name} to take it from: give it."
                for f in missing
            }
        )
    given = sorted(set(scenario) & set(selectors.LINK_FIELDS))
    note = f"From {defaults.note}" if defaults.link is not None else f"Entered ({defaults.note})"
    if defaults.link is not None and given:
        note += f"; changed here: {', '.join(f.replace('_', ' ') for f in given)}"
    return values, (link_note if link_note is not None else note)  # a re-run keeps what its original said


def _validated(assessment: Assessment) -> None:
    """The model's own rules, refused under the API's field names."""
    try:
        assessment.full_clean()
    except Exception as exc:  # a ValidationError: keep its field names, under the API's names
        details = getattr(exc, "message_dict", {"__all__": [str(exc)]})
        raise AssessmentRefused(
            {(f"scenario.{k}" if k in selectors.SCENARIO_FIELDS else k): " ".join(v) for k, v in details.items()}
        ) from None


def assessment_create(
    *,
    scope_kind: str,
    destination: Site,
    scope_site: Site | None = None,
    scope_cluster: Cluster | None = None,
    scope_estate: Estate | None = None,
    scope_query: str = "",
    scenario: dict | None = None,
    overrides: dict | None = None,
    name: str = "",
    user: AbstractBaseUser | None = None,
    based_on: Assessment | None = None,
    link_note: str | None = None,
) -> Assessment:
    """Save an assessment (queued) and compute it in the background once the row is committed.

    The scenario's missing figures come from the real link between the scope's site and the destination; when
    there is none, bandwidth and RTT must be given. Refused (nothing saved) with an error per field."""
    scenario = {k: v for k, v in (scenario or {}).items() if v is not None and v != ""}
    if scope_kind == ScopeKind.FILTER and (errors := selectors.scope_query_errors(scope_query)):
        raise AssessmentRefused({f"scope.query.{k}": v for k, v in errors.items()})
    scope = {"kind": scope_kind, "site": scope_site, "cluster": scope_cluster, "estate": scope_estate,
             "query": scope_query}  # fmt: skip
    values, note = _scenario(_scope_sources(scope, destination), destination, scenario, link_note)
    assessment = Assessment(
        name=name, scope_kind=scope_kind, scope_site=scope_site, scope_cluster=scope_cluster,
        scope_estate=scope_estate, scope_query=scope_query, scope_label=selectors.scope_label(**scope),
        destination=destination, link_note=note[:300], overrides=overrides or {}, created_by=_user(user),
        based_on=based_on, **{k: values.get(k) for k in selectors.SCENARIO_FIELDS},
    )  # fmt: skip
    _validated(assessment)
    with transaction.atomic():
        assessment.save()
        audit_record(
            action="assessment.create", target=assessment, actor=_user(user),
            after={"scope": assessment.scope_label, "destination": destination.name,
                   **{k: getattr(assessment, k) for k in selectors.SCENARIO_FIELDS}, "overrides": assessment.overrides},
            message=f"Assessment #{assessment.pk} of {assessment.scope_label} → {destination.name} queued.",
        )  # fmt: skip
        transaction.on_commit(lambda: _enqueue(assessment.pk))
    return assessment


def _enqueue(assessment_id: int) -> None:
    # By name: the tasks module imports this one (a task is an API over a service).
    current_app.send_task(COMPUTE_TASK, args=[assessment_id])


def assessment_rerun(
    *, assessment: Assessment, dirty_rate_mb_s: dict[str, float], user: AbstractBaseUser | None
) -> Assessment:
    """A new assessment with the same scope and scenario and edited dirty-rate assumptions (MB/s per class), so
    that the two can be compared side by side."""
    overrides = dict(assessment.overrides or {})
    rates = dict(overrides.get("dirty_rate_bps", {}))
    for key, mb_s in dirty_rate_mb_s.items():
        if mb_s is None:
            rates.pop(key, None)
        else:
            rates[key] = float(mb_s) * MB
    overrides["dirty_rate_bps"] = rates
    return assessment_create(
        scope_kind=assessment.scope_kind, destination=assessment.destination, scope_site=assessment.scope_site,
        scope_cluster=assessment.scope_cluster, scope_estate=assessment.scope_estate,
        scope_query=assessment.scope_query,
        scenario={k: getattr(assessment, k) for k in selectors.SCENARIO_FIELDS}, overrides=overrides,
        name=assessment.name, user=user, based_on=assessment, link_note=assessment.link_note,
    )  # fmt: skip


# -- compute --------------------------------------------------------------------------------------------------------


def assessment_compute(*, assessment_id: int) -> str:
    """Compute one assessment: claim it (queued, or running with an expired lease), work under the lease, then
    replace its rows and mark it done in one transaction, conditional on still holding the claim. A duplicate or
    late task changes nothing; a computation that raises marks it failed with the reason. Returns the status."""
    now = timezone.now()
    claimable = Q(status=AssessmentStatus.QUEUED) | Q(status=AssessmentStatus.RUNNING, lease_until__lt=now)
    claimed = Assessment.objects.filter(claimable, pk=assessment_id).update(
        status=AssessmentStatus.RUNNING, started_at=now, lease_until=now + LEASE, attempts=F("attempts") + 1,
        progress_done=0, error="", holder=f"{socket.gethostname()}:{os.getpid()}",
    )  # fmt: skip
    if not claimed:
        return Assessment.objects.filter(pk=assessment_id).values_list("status", flat=True).first() or "missing"
    assessment = Assessment.objects.select_related("destination", "scope_site", "scope_cluster").get(pk=assessment_id)
    mine = Assessment.objects.filter(pk=assessment_id, attempts=assessment.attempts, status=AssessmentStatus.RUNNING)
    last = [time.monotonic()]

    def progress(done: int, total: int) -> None:
        if 0 < done < total and time.monotonic() - last[0] < PROGRESS_EVERY_S:
            return
        last[0] = time.monotonic()
        if not mine.update(progress_done=done, progress_total=total, lease_until=timezone.now() + LEASE):
            raise _LostClaim()

    try:
        outcome = compute(assessment, progress=progress)
    except _LostClaim:
        return Assessment.objects.filter(pk=assessment_id).values_list("status", flat=True).first() or "missing"
    except Exception as exc:
        logger.exception("assessment %s failed", assessment_id)
        mine.update(status=AssessmentStatus.FAILED, error=f"{type(exc).__name__}: {exc}", finished_at=timezone.now())
        return AssessmentStatus.FAILED
    with transaction.atomic():
        if not mine.select_for_update().exists():
            return Assessment.objects.filter(pk=assessment_id).values_list("status", flat=True).first() or "missing"
        AssessmentRow.objects.filter(assessment_id=assessment_id).delete()
        for row in outcome.rows:
            row.assessment_id = assessment_id
        AssessmentRow.objects.bulk_create(outcome.rows, batch_size=1000)
        mine.update(
            status=AssessmentStatus.DONE, summary=outcome.summary, assumptions=outcome.assumptions,
            progress_done=len(outcome.rows), progress_total=len(outcome.rows), finished_at=timezone.now(),
            lease_until=None,
        )  # fmt: skip
    return AssessmentStatus.DONE


class _LostClaim(Exception):
    """Another computation took this assessment over (our lease expired): stop without writing."""


def assessments_resume_stale() -> list[int]:
    """The watchdog: re-enqueue assessments queued for more than a lease (their task was lost) or running with an
    expired lease (their worker died). Each computation claims its row, so enqueueing twice runs it once."""
    now = timezone.now()
    stale = Assessment.objects.filter(
        Q(status=AssessmentStatus.QUEUED, created_at__lt=now - LEASE)
        | Q(status=AssessmentStatus.RUNNING, lease_until__lt=now)
    ).values_list("pk", flat=True)
    ids = list(stale)
    for pk in ids:
        _enqueue(pk)
    return ids

"""Builders for alarm tests: rules, telemetry samples, failed migrations and finished drills."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from inventory.models import Host
from migration.alarms.models import AlarmRule
from migration.capacity.choices import Scope
from migration.capacity.models import UtilisationSample
from migration.dr.choices import DrillKind, DrillState, Verdict
from migration.dr.models import DrillRun, RecoveryPlan
from migration.models import Migration
from tests import factories


def only_rules(*rules: AlarmRule) -> None:
    """Disables every other rule (the data migration seeds a default set)."""
    AlarmRule.objects.exclude(pk__in=[r.pk for r in rules]).update(enabled=False)


def rule(kind: str, **extra) -> AlarmRule:
    extra.setdefault("name", f"{kind} rule")
    extra.setdefault("created_at", timezone.now() - timedelta(hours=1))
    r = AlarmRule(kind=kind, **extra)
    r.full_clean()
    r.save()
    return r


def samples(host: Host, now: datetime, cpu: list[float], *, every_s: int = 300, mem: float = 40.0) -> None:
    """CPU samples of a host, the last one at `now`, one every `every_s` seconds before it."""
    n = len(cpu)
    UtilisationSample.objects.bulk_create(
        UtilisationSample(
            scope=Scope.HOST,
            object_id=host.pk,
            at=now - timedelta(seconds=every_s * (n - 1 - i)),
            cpu_pct=c,
            mem_pct=mem,
        )
        for i, c in enumerate(cpu)
    )


def failed_migration(topo, *, finished_at: datetime, reason: str = "the link went down") -> Migration:
    source, destination = topo.ca_hosts[0], topo.va_hosts[0]
    wl = factories.workload(source)
    return Migration.objects.create(
        workload=wl, source_host=source, destination_host=destination, source_datastore=topo.ca_datastore,
        destination_datastore=topo.va_datastore, cloud_link=topo.ca_link_va, link_key=f"link-{topo.ca_link_va.pk}",
        state="failed", finished_at=finished_at, outcome="aborted", outcome_reason=reason,
    )  # fmt: skip


def plan(topo, name: str = "CA → VA", target_rto_s: int = 1800) -> RecoveryPlan:
    return RecoveryPlan.objects.create(
        name=name, protected_site=topo.ca, recovery_site=topo.va, target_rto_s=target_rto_s
    )


def drill(p: RecoveryPlan, *, finished_at: datetime, rto_s: float) -> DrillRun:
    return DrillRun.objects.create(
        plan=p, kind=DrillKind.TEST, state=DrillState.COMPLETED, target_rto_s=p.target_rto_s, measured_rto_s=rto_s,
        verdict=Verdict.MET if rto_s <= p.target_rto_s else Verdict.MISSED, started_at=finished_at - timedelta(
            seconds=rto_s), finished_at=finished_at,
    )  # fmt: skip

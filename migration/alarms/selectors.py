"""Reads of the alarms app: what each rule finds in the world at an instant, and the lists the pages show.

A rule's findings are facts, not alarms: the evaluation service (services.alarms_evaluate) turns them into alarms
once per key. Every check reads a constant number of queries, whatever the number of hosts or links."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Case, IntegerField, Prefetch, QuerySet, Sum, Value, When
from django.urls import reverse

from containers.selectors import container_host_list
from hybridcloud.core.times import format_time
from hybridcloud.core.units import format_bitrate, format_bytes, format_duration, format_mbit
from inventory.models import CloudLink, Host
from migration.alarms.choices import EVENT_KINDS, OPEN_STATES, AlarmState, RuleKind
from migration.alarms.models import Alarm, AlarmEvent, AlarmRule, Delivery, DeliveryAttempt, WebhookEndpoint
from migration.capacity.choices import Scope
from migration.capacity.models import UtilisationSample
from migration.choices import MigrationState
from migration.dr.choices import DrillKind, DrillState, Verdict
from migration.dr.models import DrillRun, DrillWorkloadResult, RecoveryPlan
from migration.models import Migration

#: Telemetry older than this says nothing about now: a host without a fresher sample is left undecided.
TELEMETRY_FRESH_S = 15 * 60
#: Event kinds look back at most this far (and never before the rule was created).
EVENT_LOOKBACK = timedelta(days=7)


@dataclass(frozen=True)
class Finding:
    """A rule's condition seen on one object at the evaluated instant."""

    object_type: str
    object_id: int
    object_name: str
    object_url: str
    message: str
    value: float | None = None


@dataclass
class RuleFindings:
    """What a rule finds: the objects its condition holds for, and, for rules that read telemetry, the objects it
    could decide about (`decided`; None: all of them). An object it could not decide about (no fresh sample, not
    N minutes of history) keeps its open alarm as it is: neither raised nor resolved."""

    findings: list[Finding] = field(default_factory=list)
    decided: set[tuple[str, int]] | None = None


def alarm_key(*, rule_id: int, object_type: str, object_id: int) -> str:
    return f"{rule_id}:{object_type}:{object_id}"


def rule_findings(*, rule: AlarmRule, now: datetime) -> RuleFindings:
    """The objects `rule`'s condition holds for at `now` (see AlarmRule for each kind's rule)."""
    check = {
        RuleKind.HOST_CPU: _host_usage,
        RuleKind.HOST_MEMORY: _host_usage,
        RuleKind.LINK_LOSS: _link_loss,
        RuleKind.LINK_UTILISATION: _link_utilisation,
        RuleKind.MIGRATION_FAILED: _migrations_failed,
        RuleKind.DRILL_RTO_MISSED: _drills_rto_missed,
        RuleKind.RTO_TREND: _rto_trend,
        RuleKind.RPO_VIOLATED: _rpo_violated,
        RuleKind.CONTAINER_HOST_LIMITS: _container_host_limits,
    }[RuleKind(rule.kind)]
    return check(rule, now)


def _host_usage(rule: AlarmRule, now: datetime) -> RuleFindings:
    """Over the threshold for N minutes: the newest sample at or before `now - N` and every later one are all over
    it (samples are instants; between two of them the use is taken to be what the earlier one said)."""
    metric = "cpu_pct" if rule.kind == RuleKind.HOST_CPU else "mem_pct"
    label = "CPU" if rule.kind == RuleKind.HOST_CPU else "memory"
    window_start = now - timedelta(minutes=rule.duration_minutes)
    rows = (
        UtilisationSample.objects.filter(
            scope=Scope.HOST, hourly=False, at__lte=now, at__gte=window_start - timedelta(seconds=TELEMETRY_FRESH_S)
        )
        .order_by("object_id", "at")
        .values_list("object_id", "at", metric)
    )
    by_host: dict[int, list[tuple[datetime, float]]] = defaultdict(list)
    for host_id, at, pct in rows:
        by_host[host_id].append((at, pct))
    names = dict(Host.objects.filter(pk__in=by_host).values_list("pk", "name"))
    result = RuleFindings(decided=set())
    for host_id, samples in by_host.items():
        if host_id not in names or (now - samples[-1][0]).total_seconds() > TELEMETRY_FRESH_S:
            continue
        anchor = next((i for i in range(len(samples) - 1, -1, -1) if samples[i][0] <= window_start), None)
        if anchor is None:
            # Not N minutes of history yet: over for long enough is unknown; under is known if the last one is.
            if samples[-1][1] <= rule.threshold:
                result.decided.add(("host", host_id))
            continue
        result.decided.add(("host", host_id))
        if not all(pct > rule.threshold for _, pct in samples[anchor:]):
            continue
        run_start = samples[anchor][0]
        for at, pct in reversed(samples[:anchor]):
            if pct <= rule.threshold:
                break
            run_start = at
        latest = samples[-1][1]
        result.findings.append(
            Finding(
                "host",
                host_id,
                names[host_id],
                reverse("capacity:host_detail", args=[host_id]),
                f"Host {names[host_id]}: {label} at {latest:.0f} % of capacity, over {rule.threshold:g} % since "
                f"{format_time(run_start)} ({format_duration((now - run_start).total_seconds())}).",
                latest,
            )
        )
    return result


def _link_name(link: CloudLink) -> str:
    return f"{link.site_a.name} ↔ {link.site_b.name}"


def _link_loss(rule: AlarmRule, now: datetime) -> RuleFindings:
    links = CloudLink.objects.select_related("site_a", "site_b").filter(loss_percent__gt=rule.threshold)
    return RuleFindings(
        [
            Finding(
                "link",
                link.pk,
                _link_name(link),
                "",
                f"Link {_link_name(link)}: packet loss {link.loss_percent:g} %, over {rule.threshold:g} %.",
                link.loss_percent,
            )
            for link in links
        ]
    )


def _link_utilisation(rule: AlarmRule, now: datetime) -> RuleFindings:
    """Migration traffic now (the transfer rates of the migrations copying over the link) against its bandwidth."""
    rates = dict(
        Migration.objects.filter(
            state__in=(MigrationState.PRECOPY, MigrationState.SWITCHOVER), cloud_link__isnull=False
        )
        .values("cloud_link")
        .annotate(rate=Sum("transfer_rate_bps"))
        .values_list("cloud_link", "rate")
    )
    result = RuleFindings()
    for link in CloudLink.objects.select_related("site_a", "site_b").filter(pk__in=rates):
        capacity_bps = link.bandwidth_mbit * 125_000
        pct = 100.0 * (rates[link.pk] or 0) / capacity_bps if capacity_bps else 0.0
        if pct > rule.threshold:
            result.findings.append(
                Finding(
                    "link",
                    link.pk,
                    _link_name(link),
                    "",
                    f"Link {_link_name(link)}: migrations use {format_bitrate((rates[link.pk] or 0) * 8)}, "
                    f"{pct:.0f} % of its "
                    f"{format_mbit(link.bandwidth_mbit)}, over {rule.threshold:g} %.",
                    pct,
                )
            )
    return result


def _event_since(rule: AlarmRule, now: datetime) -> datetime:
    return max(rule.created_at, now - EVENT_LOOKBACK)


def _already_raised(rule: AlarmRule, object_type: str) -> set[int]:
    return set(Alarm.objects.filter(rule=rule, object_type=object_type).values_list("object_id", flat=True))


def _migrations_failed(rule: AlarmRule, now: datetime) -> RuleFindings:
    done = _already_raised(rule, "migration")
    rows = (
        Migration.objects.filter(
            state=MigrationState.FAILED, finished_at__gte=_event_since(rule, now), finished_at__lte=now
        )
        .exclude(pk__in=done)
        .select_related("workload", "destination_host")
        .order_by("finished_at")
    )
    return RuleFindings(
        [
            Finding(
                "migration",
                m.pk,
                f"{m.workload.name} → {m.destination_host.name}",
                m.get_absolute_url(),
                f"Migration #{m.pk} of {m.workload.name} to {m.destination_host.name} failed: "
                f"{m.outcome_reason or 'no reason recorded'}",
            )
            for m in rows
        ]
    )


def _finished_drills(rule: AlarmRule, now: datetime) -> QuerySet[DrillRun]:
    return DrillRun.objects.filter(
        kind=DrillKind.TEST, finished_at__gte=_event_since(rule, now), finished_at__lte=now
    ).select_related("plan")


def _drills_rto_missed(rule: AlarmRule, now: datetime) -> RuleFindings:
    rows = _finished_drills(rule, now).filter(verdict=Verdict.MISSED).exclude(pk__in=_already_raised(rule, "drill"))
    return RuleFindings(
        [
            Finding(
                "drill",
                d.pk,
                f"Drill #{d.pk} of {d.plan.name}",
                d.get_absolute_url(),
                f"Drill #{d.pk} of plan {d.plan.name} missed its RTO: "
                + (
                    f"recovered in {format_duration(d.measured_rto_s)} against a target of "
                    f"{format_duration(d.target_rto_s)}."
                    if d.measured_rto_s is not None
                    else f"it did not recover everything ({d.reason or 'no reason recorded'})."
                ),
                d.measured_rto_s,
            )
            for d in rows.order_by("finished_at")
        ]
    )


def _rpo_violated(rule: AlarmRule, now: datetime) -> RuleFindings:
    violated = DrillWorkloadResult.objects.filter(rpo_met=False).order_by("-replication_lag_s")
    rows = (
        _finished_drills(rule, now)
        .filter(results__rpo_met=False)
        .exclude(pk__in=_already_raised(rule, "drill"))
        .distinct()
        .prefetch_related(Prefetch("results", queryset=violated, to_attr="violations"))
        .order_by("finished_at")
    )
    findings = []
    for d in rows:
        worst = ", ".join(
            f"{r.workload_name} {format_duration(r.replication_lag_s)} old, RPO {format_duration(r.rpo_s)}"
            for r in d.violations[:3]
        )
        more = f" and {len(d.violations) - 3} more" if len(d.violations) > 3 else ""
        findings.append(
            Finding(
                "drill",
                d.pk,
                f"Drill #{d.pk} of {d.plan.name}",
                d.get_absolute_url(),
                f"Drill #{d.pk} of plan {d.plan.name}: {len(d.violations)} workload(s) recovered from a replica older "
                f"than their RPO ({worst}{more}).",
                float(len(d.violations)),
            )
        )
    return RuleFindings(findings)


def _rto_trend(rule: AlarmRule, now: datetime) -> RuleFindings:
    """Per plan, the first and the last of its latest K completed test drills: an alarm when the RTO grew by more
    than the threshold (percent of the first)."""
    rows = (
        DrillRun.objects.filter(
            kind=DrillKind.TEST, state=DrillState.COMPLETED, measured_rto_s__isnull=False, finished_at__lte=now
        )
        .order_by("plan_id", "-finished_at")
        .values_list("plan_id", "measured_rto_s")
    )
    latest: dict[int, list[float]] = defaultdict(list)
    for plan_id, rto in rows:
        if len(latest[plan_id]) < rule.drills_count:
            latest[plan_id].append(rto)
    names = dict(RecoveryPlan.objects.filter(pk__in=latest).values_list("pk", "name"))
    result = RuleFindings()
    for plan_id, rtos in latest.items():
        if len(rtos) < rule.drills_count or rtos[-1] <= 0:
            continue
        first, last = rtos[-1], rtos[0]
        growth = 100.0 * (last - first) / first
        if growth > rule.threshold:
            result.findings.append(
                Finding(
                    "plan",
                    plan_id,
                    names[plan_id],
                    reverse("dr:plan_detail", args=[plan_id]),
                    f"Plan {names[plan_id]}: RTO went from {format_duration(first)} to {format_duration(last)} "
                    f"over the last "
                    f"{rule.drills_count} drills (+{growth:.0f} %, more than {rule.threshold:g} %).",
                    growth,
                )
            )
    return result


def _container_host_limits(rule: AlarmRule, now: datetime) -> RuleFindings:
    """CPUs and memory of the running containers against the host's limits; the message names the one that binds."""
    result = RuleFindings()
    for host in container_host_list():
        cpu_pct = 100.0 * float(host.cpus_used) / float(host.cpu_limit)
        mem_pct = 100.0 * host.memory_used / host.memory_limit_bytes
        pct = max(cpu_pct, mem_pct)
        if pct <= rule.threshold:
            continue
        if mem_pct >= cpu_pct:
            limit = format_bytes(host.memory_limit_bytes)
            binding = f"memory {format_bytes(host.memory_used)} of its {limit} limit ({mem_pct:.0f} %)"
        else:
            binding = f"CPUs {float(host.cpus_used):g} of its {float(host.cpu_limit):g} limit ({cpu_pct:.0f} %)"
        result.findings.append(
            Finding(
                "container host",
                host.pk,
                host.name,
                host.get_absolute_url(),
                f"Container host {host.name}: {binding}, over {rule.threshold:g} %.",
                pct,
            )
        )
    return result


def rule_is_event(rule: AlarmRule) -> bool:
    return rule.kind in EVENT_KINDS


# -- lists for the pages and the API -----------------------------------------------------------------------------


def _severity_rank() -> Case:
    """Critical 0, warning 1, info 2: the most severe sorts first."""
    return Case(
        When(severity="critical", then=Value(0)),
        When(severity="warning", then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )


def alarm_list(*, state: str | None = None, severity: str | None = None) -> QuerySet[Alarm]:
    """Alarms, open first (active, then acknowledged; the most severe first), then the cleared ones, newest first."""
    queryset = Alarm.objects.select_related("rule", "acknowledged_by", "cleared_by").annotate(
        state_rank=Case(
            When(state=AlarmState.ACTIVE, then=Value(0)),
            When(state=AlarmState.ACKNOWLEDGED, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        ),
        severity_rank=_severity_rank(),
    )
    if state == "open":
        queryset = queryset.filter(state__in=OPEN_STATES)
    elif state:
        queryset = queryset.filter(state=state)
    if severity:
        queryset = queryset.filter(severity=severity)
    return queryset.order_by("state_rank", "severity_rank", "-last_seen", "-pk")


def alarm_detail(pk: int) -> Alarm:
    events = AlarmEvent.objects.select_related("actor")
    deliveries = Delivery.objects.select_related("endpoint").prefetch_related("attempt_log")
    return (
        Alarm.objects.select_related("rule", "acknowledged_by", "cleared_by")
        .prefetch_related(Prefetch("events", queryset=events), Prefetch("deliveries", queryset=deliveries))
        .get(pk=pk)
    )


def open_alarm_counts() -> dict[str, int]:
    """Open alarms per severity (the alarm page's header)."""
    counts = {"critical": 0, "warning": 0, "info": 0}
    for severity, n in (
        Alarm.objects.filter(state__in=OPEN_STATES)
        .values("severity")
        .annotate(n=Sum(Value(1)))
        .values_list("severity", "n")
    ):
        counts[severity] = n
    return counts


def rule_list() -> QuerySet[AlarmRule]:
    return AlarmRule.objects.prefetch_related("webhooks").annotate(severity_rank=_severity_rank()).order_by("name")


def endpoint_list() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.prefetch_related("rules").order_by("name")


def delivery_list() -> QuerySet[Delivery]:
    attempts = DeliveryAttempt.objects.order_by("number")
    return Delivery.objects.select_related("alarm", "endpoint").prefetch_related(
        Prefetch("attempt_log", queryset=attempts)
    )


#: The activity panel shows at most this many active alarms (the newest); the alarm page lists them all.
PANEL_ALARMS = 20


def activity_item(alarm: Alarm) -> dict:
    """An alarm as the activity panel shows it (static/js/app.js): there while it is active."""
    return {
        "key": f"alarm-{alarm.pk}",
        "id": alarm.pk,
        "title": f"{alarm.get_severity_display()} alarm: {alarm.message}",
        "url": alarm.get_absolute_url(),
        "state": alarm.state,
        "severity": alarm.severity,
        "active": alarm.state == AlarmState.ACTIVE,
    }


def active_alarm_items() -> list[dict]:
    """Active alarms as activity items, for the activity snapshot (the same items the pushes carry)."""
    alarms = Alarm.objects.filter(state=AlarmState.ACTIVE).select_related("rule").order_by("-first_seen", "-pk")
    return [activity_item(a) for a in alarms[:PANEL_ALARMS]]

"""Evacuations: emptying a host (maintenance intent) or a whole site onto another (a mass migration). The plan
places every workload (`TargetChooser`), pre-checks each move with one shared context and predicts the wave with
the engine; starting it records the items and starts as many moves as the links admit, and a watch task refreshes
it until every item has ended."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from celery import current_app
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from hybridcloud.core.audit import audit_record
from inventory.choices import HostState
from inventory.models import CloudLink, Host, Site, Workload
from inventory.selectors import link_between
from migration.capacity.choices import ITEM_FINAL_STATES, EvacuationState, ItemState, Scope
from migration.capacity.destinations import TargetChooser
from migration.capacity.models import CapacitySettings, Evacuation, EvacuationItem
from migration.capacity.planning import (
    PlanningWorkloads,
    TargetHost,
    TargetIndex,
    WorkloadRow,
    cyclic_gc_paused,
    workload_rows,
)
from migration.capacity.services.refusals import CapacityActionRefused, OverrideReasonRequired, acting_user
from migration.capacity.waves import predict_wave, wave_warnings, window_fit
from migration.choices import ACTIVE_STATES, MigrationState
from migration.models import Migration
from migration.prechecks import PrecheckContext, precheck_migration
from migration.services import MigrationRefused, migration_start

WATCH_EVACUATION_TASK = "migration.capacity.tasks.watch_evacuation"
#: Host checks spent on the pre-checks' own sentences for blocked workloads (a placement over every destination
#: host each): 200 blocked workloads on a 100-host site; beyond it, the in-memory mirror's reasons (the same checks).
BLOCKED_PRECHECK_BUDGET = 20_000


@dataclass
class PlannedItem:
    workload: Workload
    target: TargetHost | None
    reason: str = ""
    prediction: dict = field(default_factory=dict)
    over_window: bool = False
    warnings: list[str] = field(default_factory=list)  # the pre-checks' warnings for its move to `target`


@dataclass
class EvacuationPlan:
    """What an evacuation would do: each workload's destination (or why it has none) and the wave's prediction."""

    scope: str
    site: Site
    host: Host | None
    destination_site: Site | None
    items: list[PlannedItem]
    prediction: dict
    fit: dict
    starts_at: datetime

    @property
    def movable(self) -> list[PlannedItem]:
        return [i for i in self.items if i.target is not None]

    @property
    def blocked(self) -> list[PlannedItem]:
        return [i for i in self.items if i.target is None]

    @property
    def warnings(self) -> list[str]:
        """Every movable item's pre-check warnings, each naming its workload; starting needs a reason when any."""
        return [w if i.workload.name in w else f"{i.workload.name}: {w}" for i in self.movable for w in i.warnings]


def evacuation_plan(
    *,
    host: Host | None = None,
    site: Site | None = None,
    destination_site: Site | None = None,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
) -> EvacuationPlan:
    """Plan emptying `host` (other hosts of its site first, else other sites) or `site` (onto `destination_site`),
    with the engine's wave prediction and whether it fits the window. Reads only."""
    if (host is None) == (site is None):
        raise CapacityActionRefused("Evacuate either a host or a site.")
    if site is not None and (destination_site is None or destination_site.pk == site.pk):
        raise CapacityActionRefused("Choose another site to move the site's workloads to.")
    now = timezone.now()
    with cyclic_gc_paused():  # from the reads on (100,000 rows are as many objects for the collector to scan)
        index = TargetIndex.load(seed=CapacitySettings.get().seed, at=now)
        site, rows, tiers = _subject(index, host=host, site=site, destination_site=destination_site)
        # Reads only: every pre-check shares what it reads (every host's usage in one aggregate), and the planned
        # moves (the rules).
        context = PrecheckContext(rule_book=index.rules)
        context.preload_usage()
        made = PlanningWorkloads(context, rows, {t.site_id for tier in tiers for t in tier} | {site.pk})
        items = _place(index, tiers, rows, made, blocked_site=destination_site or site)
        prediction, fit = _predict(index, items, start=now, window_start=window_start, window_end=window_end)
    scope = Scope.HOST if host is not None else Scope.SITE
    return EvacuationPlan(scope, site, host, destination_site, items, prediction, fit, max(now, window_start or now))


def _subject(
    index: TargetIndex, *, host: Host | None, site: Site | None, destination_site: Site | None
) -> tuple[Site, list[WorkloadRow], list[list[TargetHost]]]:
    """The evacuated site, its workloads to move (largest first) and the tiers of destination hosts."""
    if host is not None:
        site = host.cluster.site
        workloads = Workload.objects.filter(host=host)
        same = [h for h in index.hosts.values() if h.site_id == site.pk and h.pk != host.pk]
        other = [h for h in index.hosts.values() if h.site_id != site.pk]
        tiers = [same, other]
    else:
        workloads = Workload.objects.filter(host__cluster__site=site)
        tiers = [[h for h in index.hosts.values() if h.site_id == destination_site.pk]]
    return site, workload_rows(workloads.order_by("-memory_bytes", "name")), tiers


def _place(
    index: TargetIndex, tiers: list[list[TargetHost]], rows: list[WorkloadRow], made: PlanningWorkloads, *,
    blocked_site: Site,
) -> list[PlannedItem]:  # fmt: skip
    """Each workload's destination (`TargetChooser`), its move pre-checked; or why it has none."""
    chooser = TargetChooser(index, tiers)
    context = made.context
    blocked_checked = 0
    # The pre-checks' own sentences for the first blocked workloads; beyond those, the in-memory mirror's reasons
    # (the same checks: a placement over every host per blocked workload costs seconds).
    blocked_prechecked = max(1, BLOCKED_PRECHECK_BUDGET // max(1, len(context.site_hosts(blocked_site))))
    items: list[PlannedItem] = []
    for row in rows:
        c = index.candidate(row)
        w = made.instance(row)
        reasons: list[str] = []
        decided: list[str] = []  # the placement rules that turned a better host down, shown beside the destination
        target = chooser.choose(c, reasons, decided)
        if target is None:
            checked = blocked_checked < blocked_prechecked
            blocked_checked += 1
            items.append(PlannedItem(w, None, _blocked_reason(w, blocked_site, reasons, context, checked)))
            continue
        chooser.commit(c, target)
        # The engine's figures come from the wave (each move with the others it shares its link with), not from a
        # forecast of each move alone: the checks here predict nothing.
        check = precheck_migration(workload=w, destination_host=context.host(target.pk), context=context, predict=False)
        items.append(PlannedItem(w, target, reason=" ".join(decided[:3]) if decided else "", warnings=check.warnings))
    return items


def _predict(
    index: TargetIndex, items: list[PlannedItem], *, start: datetime, window_start: datetime | None,
    window_end: datetime | None,
) -> tuple[dict, dict]:  # fmt: skip
    """The engine's plan of the movable items as one wave (each item gets its prediction and the wave's warnings)
    and whether it fits the window (the items that would run over are marked)."""
    movable = [i for i in items if i.target is not None]
    prediction = predict_wave(index, [(i.workload, i.target) for i in movable]) if movable else {
        "makespan_s": 0.0, "items": [], "groups": 0}  # fmt: skip
    for item, p in zip(movable, prediction["items"], strict=True):
        item.prediction = p
        item.warnings.extend(wave_warnings(item.workload, p))
    fit = window_fit(prediction, start=start, window_start=window_start, window_end=window_end)
    for i in fit["over"]:
        movable[i].over_window = True
    return prediction, fit


def _blocked_reason(
    w: Workload, site: Site, reasons: list[str], context: PrecheckContext, precheck: bool = True
) -> str:
    """Why a workload has nowhere to go: the pre-checks' own sentences for placement on `site` (the destination
    site, or a host's own site), then the rest."""
    first = ""
    if precheck:
        check = precheck_migration(workload=w, destination_site=site, context=context, predict=False)
        first = " ".join(check.errors) if check.errors else ""
    others = sorted(set(r for r in reasons if r != "its own host"))[:6]
    text = first or f"No host can take {w.name}."
    if others:
        text += " Elsewhere: " + "; ".join(others) + "."
    return text


def _evacuation_start(
    plan: EvacuationPlan, *, user: AbstractBaseUser | None, window_start: datetime | None,
    window_end: datetime | None, override_reason: str,
) -> Evacuation:  # fmt: skip
    """Rule: when the plan's moves have pre-check warnings, an operator's written reason is required (refused with
    OverrideReasonRequired, nothing created); it is stored, audited with the warnings, and each migration carries
    it."""
    override_reason = (override_reason or "").strip()
    warnings = plan.warnings  # worded once (every movable item's, each naming its workload)
    if warnings and not override_reason:
        raise OverrideReasonRequired(warnings)
    with transaction.atomic():
        evacuation = Evacuation(
            scope=plan.scope, host=plan.host, site=plan.site, destination_site=plan.destination_site,
            created_by=acting_user(user), window_start=window_start, window_end=window_end,
            prediction={**plan.prediction, "fit": plan.fit, "items": None},
            override_reason=override_reason if warnings else "",
        )  # fmt: skip
        evacuation.full_clean()
        evacuation.save()
        audit_record(
            action="evacuation.start", target=evacuation, actor=acting_user(user),
            after={"scope": plan.scope, "subject": evacuation.subject_name, "moves": len(plan.movable),
                   "blocked": len(plan.blocked), "warnings": warnings,
                   "override_reason": evacuation.override_reason},
            message=f"{evacuation} started"
            + (f" with {len(warnings)} warning(s) overridden: {evacuation.override_reason}" if warnings
               else "."),
        )  # fmt: skip
        rows = []
        for order, item in enumerate(plan.items):
            p = item.prediction
            rows.append(
                EvacuationItem(
                    evacuation=evacuation, order=order, workload=item.workload, source_host_id=item.workload.host_id,
                    destination_host_id=item.target.pk if item.target else None,
                    state=ItemState.PENDING if item.target else ItemState.BLOCKED, reason=item.reason,
                    predicted_start_s=p.get("start_s"), predicted_end_s=p.get("end_s"),
                    predicted_downtime_s=p.get("downtime_s"), over_window=item.over_window,
                )
            )  # fmt: skip
        EvacuationItem.objects.bulk_create(rows)
        _start_waiting(evacuation)
        transaction.on_commit(lambda: _watch(evacuation.pk))
    return evacuation


def _watch(evacuation_id: int) -> None:
    """Start the evacuation's watch (by task name: the tasks sit above the services they call)."""
    current_app.send_task(WATCH_EVACUATION_TASK, args=(evacuation_id,))


def host_evacuate(
    *, host: Host, user: AbstractBaseUser | None, window_start: datetime | None = None,
    window_end: datetime | None = None, override_reason: str = "",
) -> Evacuation:  # fmt: skip
    """Put `host` in maintenance intent: move every workload off it (pre-checked, through `migration_start`, queued
    under the hosts' concurrency limits). The host goes to maintenance when it is empty; workloads that cannot
    move are listed with the reason and stay, and then so does the host's state."""
    if Evacuation.objects.filter(host=host, state=EvacuationState.RUNNING).exists():
        raise CapacityActionRefused(f"Host {host.name} is already being evacuated.")
    if host.state != HostState.CONNECTED:
        raise CapacityActionRefused(f"Host {host.name} is {host.get_state_display().lower()}: nothing to evacuate.")
    plan = evacuation_plan(host=host, window_start=window_start, window_end=window_end)
    return _evacuation_start(
        plan, user=user, window_start=window_start, window_end=window_end, override_reason=override_reason
    )


def site_evacuate(
    *, site: Site, destination_site: Site, user: AbstractBaseUser | None, window_start: datetime | None = None,
    window_end: datetime | None = None, override_reason: str = "",
) -> Evacuation:  # fmt: skip
    """Move every workload of `site` to `destination_site` (a mass migration); emptied hosts go to maintenance."""
    if Evacuation.objects.filter(site=site, scope=Scope.SITE, state=EvacuationState.RUNNING).exists():
        raise CapacityActionRefused(f"{site.name} is already being evacuated.")
    plan = evacuation_plan(site=site, destination_site=destination_site, window_start=window_start,
                           window_end=window_end)  # fmt: skip
    return _evacuation_start(
        plan, user=user, window_start=window_start, window_end=window_end, override_reason=override_reason
    )


def _link_slots_free(migration_link_ids: set[int]) -> dict[int, int]:
    active = defaultdict(int)
    for link_id in Migration.objects.filter(state__in=ACTIVE_STATES, cloud_link_id__in=migration_link_ids).values_list(
        "cloud_link_id", flat=True
    ):
        active[link_id] += 1
    return {
        link.pk: link.migration_slots - active[link.pk] for link in CloudLink.objects.filter(pk__in=migration_link_ids)
    }


def _start_waiting(evacuation: Evacuation) -> int:
    """Start the evacuation's waiting items, in order, as far as the WAN links have slots (the pre-checks refuse a
    link shared by more migrations than 250 Mbit/s each); the rest wait for the next refresh."""
    pending = list(
        evacuation.items.filter(state=ItemState.PENDING).select_related(
            "workload", "source_host__cluster__site", "destination_host__cluster__site"
        )
    )
    if not pending:
        return 0
    links = {}
    for item in pending:
        a, b = item.source_host.cluster.site, item.destination_host.cluster.site
        if a.pk != b.pk and (a.pk, b.pk) not in links:
            links[(a.pk, b.pk)] = link_between(a, b)
    slots = _link_slots_free({link.pk for link in links.values() if link is not None})
    started = 0
    for item in pending:
        a, b = item.source_host.cluster.site_id, item.destination_host.cluster.site_id
        link = links.get((a, b)) if a != b else None
        if link is not None and slots.get(link.pk, 0) <= 0:
            continue
        try:
            migration = migration_start(
                workload=item.workload, destination_host=item.destination_host, requested_by=evacuation.created_by,
                # The operator's own words; with none, a move whose pre-checks warn is refused (never a canned one).
                override_reason=evacuation.override_reason,
                reason=f"Evacuation #{evacuation.pk} of {evacuation.subject_name}",
            )  # fmt: skip
        except MigrationRefused as exc:
            EvacuationItem.objects.filter(pk=item.pk, state=ItemState.PENDING).update(
                state=ItemState.FAILED, reason="Refused at the start: " + " ".join(exc.errors)
            )
            continue
        EvacuationItem.objects.filter(pk=item.pk, state=ItemState.PENDING).update(
            state=ItemState.MIGRATING, migration=migration, warnings=migration.warnings
        )
        if link is not None:
            slots[link.pk] -= 1
        started += 1
    return started


def evacuation_refresh(*, evacuation_id: int) -> str:
    """Record the outcome of the evacuation's migrations, start waiting items, and finish the evacuation when every
    item has ended: hosts left empty go to maintenance; the others keep their state. Idempotent."""
    evacuation = Evacuation.objects.select_related("host", "site", "created_by").filter(pk=evacuation_id).first()
    if evacuation is None or evacuation.state != EvacuationState.RUNNING:
        return evacuation.state if evacuation else "missing"
    for item in evacuation.items.filter(state=ItemState.MIGRATING).select_related("migration"):
        m = item.migration
        if m is None:
            continue
        if m.state == MigrationState.COMPLETED:
            EvacuationItem.objects.filter(pk=item.pk, state=ItemState.MIGRATING).update(state=ItemState.MOVED)
        elif m.state in (MigrationState.FAILED, MigrationState.CANCELLED):
            EvacuationItem.objects.filter(pk=item.pk, state=ItemState.MIGRATING).update(
                state=ItemState.FAILED, reason=m.outcome_reason or f"Migration #{m.pk} {m.state}."
            )
    _start_waiting(evacuation)
    states = list(evacuation.items.values_list("state", flat=True))
    if any(s not in ITEM_FINAL_STATES for s in states):
        return EvacuationState.RUNNING
    return _finish(evacuation, states)


def _finish(evacuation: Evacuation, states: list[str]) -> str:
    hosts = [evacuation.host] if evacuation.host_id else list(Host.objects.filter(cluster__site=evacuation.site))
    emptied = []
    for host in hosts:
        busy = (
            Workload.objects.filter(host=host).exists()
            or Migration.objects.filter(destination_host=host, state__in=ACTIVE_STATES).exists()
        )
        if not busy and Host.objects.filter(pk=host.pk, state=HostState.CONNECTED).update(state=HostState.MAINTENANCE):
            emptied.append(host.name)
    moved = states.count(ItemState.MOVED)
    stuck = len(states) - moved
    if stuck == 0:
        state = EvacuationState.COMPLETED
    elif moved == 0:
        state = EvacuationState.FAILED
    else:
        state = EvacuationState.PARTIAL
    message = f"{moved} of {len(states)} workloads moved."
    if stuck:
        message += f" {stuck} could not move and stay where they are (see the reasons)."
    if emptied:
        message += f" In maintenance now: {', '.join(emptied)}."
    elif evacuation.host_id:
        message += f" Host {evacuation.host.name} keeps its state ({evacuation.host.state}): it is not empty."
    Evacuation.objects.filter(pk=evacuation.pk, state=EvacuationState.RUNNING).update(
        state=state, finished_at=timezone.now(), message=message
    )
    return state


def evacuations_refresh_running() -> list[str]:
    return [
        evacuation_refresh(evacuation_id=pk)
        for pk in Evacuation.objects.filter(state=EvacuationState.RUNNING).values_list("pk", flat=True)
    ]

"""Writes of the capacity app: recommendations (compute, apply, dismiss) and evacuations (start, refresh).

Telemetry writes live in `migration.capacity.sampling`. Every move goes through `migration_start` (pre-checks,
admission, queueing); nothing here moves a workload by itself.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from hybridcloud.core.audit import audit_record
from inventory.choices import HostState, PowerState
from inventory.models import Datastore, Host, NetworkSegment, Site, Workload
from migration.capacity import telemetry
from migration.capacity.choices import (
    ITEM_FINAL_STATES,
    EvacuationState,
    ItemState,
    RecommendationState,
    Scope,
)
from migration.capacity.models import (
    CapacitySettings,
    Evacuation,
    EvacuationItem,
    Recommendation,
    RecommendedMove,
)
from migration.capacity.planning import (
    CANDIDATE_FIELDS,
    Candidate,
    TargetChooser,
    TargetHost,
    TargetIndex,
    cost_of_moving,
    next_peak,
    predict_wave,
    window_fit,
)
from migration.choices import ACTIVE_STATES, MigrationState
from migration.engine.placement_rules import Spot
from migration.models import Migration
from migration.prechecks import MIN_MBIT_PER_MIGRATION, PrecheckContext, precheck_migration
from migration.services import MigrationRefused, migration_start

MAX_MOVES_PER_PROPOSAL = 60
#: Blocked workloads of one evacuation whose reason comes from the pre-checks' placement (the rest: the mirror's).
MAX_BLOCKED_PRECHECKED = 200
MOVE_OVERHEAD_BYTES = 8 * 2**30


class CapacityActionRefused(ValidationError):
    """The action cannot be done; the message says why."""


class OverrideReasonRequired(CapacityActionRefused):
    """The pre-checks warn about some moves and nobody wrote why they are acceptable; `warnings` lists them."""

    def __init__(self, warnings: list[str], *, action: str = "the evacuation can start") -> None:
        super().__init__(
            f"{len(warnings)} pre-check warning{'s' if len(warnings) != 1 else ''} need a written override reason "
            f"before {action}: " + " ".join(warnings)
        )
        self.warnings = list(warnings)


def _user(user: AbstractBaseUser | None) -> AbstractBaseUser | None:
    return user if user is not None and user.is_authenticated else None


# -- recommendations ------------------------------------------------------------------------------------------------


@dataclass
class _Chosen:
    candidate: Candidate
    target: TargetHost
    prediction: dict
    warnings: list[str]
    placement_note: str = ""  # the placement rules that turned a host down for it


def _choose_moves(
    index: TargetIndex,
    candidates: list[Candidate],
    tiers: list[list[TargetHost]],
    *,
    is_over,
    excess: tuple[float, float],
    thr_cpu: float,
    thr_mem: float,
    context: PrecheckContext,
) -> list[_Chosen]:
    """Greedy: cheapest relief first (memory to copy, dirty rate, over how much of the excess it removes); each to
    the target of the earliest tier with the most room after the move, under the thresholds; each pre-checked."""
    excess_cpu, excess_mem = excess

    def relief(c: Candidate) -> float:
        r = 0.0
        if excess_cpu > 0:
            r = max(r, c.busy_cores / excess_cpu)
        if excess_mem > 0:
            r = max(r, c.used_memory / excess_mem)
        return min(1.0, r)

    # Only targets with room under the thresholds, dropped as they fill up: a hot fleet costs no wasted checks.
    tiers = [
        [
            t
            for t in tier
            if t.state == HostState.CONNECTED and t.evacuation is None and t.cpu_pct < thr_cpu and t.mem_pct < thr_mem
        ]
        for tier in tiers
    ]
    # Each migration also has a fixed cost (a switchover, an operator's attention): fewer, meatier moves win ties.
    ordered = sorted(
        candidates,
        key=lambda c: ((cost_of_moving(c.workload) + MOVE_OVERHEAD_BYTES) / max(relief(c), 1e-3), c.workload.pk),
    )
    chosen: list[_Chosen] = []
    refused = 0
    for c in ordered:
        if not any(tiers) or not is_over() or len(chosen) >= MAX_MOVES_PER_PROPOSAL or refused > 50:
            break
        best: tuple | None = None
        ruled = bool(index.rules.rules_of(c.workload.pk))
        decided: list[str] = []
        for tier in tiers:
            for t in tier:
                why = index.blocker(c, t)
                if why:
                    if ruled and why in index.rules.broken_on(
                        c.workload.pk, c.workload.name, Spot(t.name, t.site_name)
                    ):
                        decided.append(why)
                    continue
                cpu_after = telemetry.pct(min(t.busy_cores + c.busy_cores, t.cores), t.cores)
                mem_after = telemetry.pct(t.used_memory + c.used_memory, t.memory_bytes)
                if cpu_after > thr_cpu or mem_after > thr_mem:
                    continue
                score = (max(cpu_after / thr_cpu, mem_after / thr_mem), t.name)
                if best is None or score < best[1]:
                    best = (t, score)
            if best is not None:
                break
        if best is None:
            continue
        target = best[0]
        # The real pre-checks, sharing what they read across the proposal (nothing is written while planning).
        # The engine's figures come from the proposal's wave (`_proposal_wave`), not a forecast of each move alone.
        check = precheck_migration(
            workload=c.workload, destination_host=Host(pk=target.pk), context=context, predict=False
        )
        if check.errors:
            refused += 1
            continue
        index.commit(c, target)
        chosen.append(_Chosen(c, target, {}, list(check.warnings), " ".join(decided[:3])))
        if target.cpu_pct >= thr_cpu - 1 or target.mem_pct >= thr_mem - 1:
            tiers = [[t for t in tier if t is not target] for tier in tiers]
    return chosen


def _load(h: TargetHost) -> dict:
    return {"name": h.name, "site": h.site_name, "cpu_pct": h.cpu_pct, "mem_pct": h.mem_pct}


def recommendations_compute(*, site: Site, at: datetime | None = None, persist: bool = True) -> list[Recommendation]:
    """Proposals for `site` at its next business-hours peak (or at `at`): one per host above the thresholds (moves
    to other hosts of the site first, else other sites), then one for the site as a whole when it is above them
    (bursting to other sites, public cloud regions included). Open proposals of the site are replaced."""
    config = CapacitySettings.get()
    thr_cpu, thr_mem = config.threshold_cpu_pct, config.threshold_mem_pct
    basis = at or next_peak(site.longitude, timezone.now())
    index = TargetIndex.load(seed=config.seed, at=basis)
    context = PrecheckContext(rule_book=index.rules)  # the rules see the moves planned so far
    workloads = Workload.objects.filter(host__cluster__site=site, power_state=PowerState.ON).only(*CANDIDATE_FIELDS)
    workloads = list(workloads)
    _preload(context, workloads, {h.site_id for h in index.hosts.values()})
    by_host: dict[int, list[Candidate]] = defaultdict(list)
    for w in workloads:
        by_host[w.host_id].append(index.candidate(w))
    site_hosts = sorted(
        (h for h in index.hosts.values() if h.site_id == site.pk), key=lambda h: (-max(h.cpu_pct, h.mem_pct), h.name)
    )
    elsewhere = sorted(
        (h for h in index.hosts.values() if h.site_id != site.pk),
        key=lambda h: (h.site_kind != "private", h.site_name, h.name),
    )
    proposals: list[tuple[dict, list[_Chosen]]] = []
    for host in site_hosts:
        if host.state != HostState.CONNECTED or (host.cpu_pct <= thr_cpu and host.mem_pct <= thr_mem):
            continue
        before = _load(host)
        targets_before = {t.pk: _load(t) for t in index.hosts.values()}
        excess = (host.busy_cores - thr_cpu / 100 * host.cores, host.used_memory - thr_mem / 100 * host.memory_bytes)
        same_site = [h for h in site_hosts if h.pk != host.pk]
        chosen = _choose_moves(
            index, by_host[host.pk], [same_site, elsewhere],
            is_over=lambda h=host: h.cpu_pct > thr_cpu or h.mem_pct > thr_mem,
            excess=excess, thr_cpu=thr_cpu, thr_mem=thr_mem, context=context,
        )  # fmt: skip
        for ch in chosen:
            by_host[host.pk].remove(ch.candidate)
        proposals.append(
            ({"scope": Scope.HOST, "host": host, "before": before, "after": _load(host),
              "targets_before": targets_before, "under": host.cpu_pct <= thr_cpu and host.mem_pct <= thr_mem}, chosen)
        )  # fmt: skip
    cpu, mem = index.site_load(site.pk)
    if cpu > thr_cpu or mem > thr_mem:
        cores = sum(h.cores for h in site_hosts)
        memory = sum(h.memory_bytes for h in site_hosts)
        targets_before = {t.pk: _load(t) for t in index.hosts.values()}
        excess = ((cpu - thr_cpu) / 100 * cores, (mem - thr_mem) / 100 * memory)

        def site_over() -> bool:
            c, m = index.site_load(site.pk)
            return c > thr_cpu or m > thr_mem

        candidates = [c for cs in by_host.values() for c in cs]
        chosen = _choose_moves(
            index, candidates, [elsewhere], is_over=site_over, excess=excess, thr_cpu=thr_cpu, thr_mem=thr_mem,
            context=context,
        )  # fmt: skip
        after_cpu, after_mem = index.site_load(site.pk)
        proposals.append(
            ({"scope": Scope.SITE, "host": None, "before": {"name": site.name, "cpu_pct": cpu, "mem_pct": mem},
              "after": {"name": site.name, "cpu_pct": after_cpu, "mem_pct": after_mem},
              "targets_before": targets_before, "under": not site_over()}, chosen)
        )  # fmt: skip
    for _, chosen in proposals:
        _proposal_wave(index, chosen)
    if not persist:
        return [_recommendation(site, basis, thr_cpu, thr_mem, index, meta, chosen) for meta, chosen in proposals]
    with transaction.atomic():
        Recommendation.objects.filter(site=site, state=RecommendationState.OPEN).delete()
        saved = []
        for meta, chosen in proposals:
            rec = _recommendation(site, basis, thr_cpu, thr_mem, index, meta, chosen)
            rec.full_clean()
            rec.save()
            moves = [
                RecommendedMove(
                    recommendation=rec, workload=ch.candidate.workload, source_host_id=ch.candidate.workload.host_id,
                    destination_host_id=ch.target.pk,
                    predicted_time_s=float(ch.prediction.get("end_s", 0) - ch.prediction.get("start_s", 0)),
                    predicted_downtime_s=float(ch.prediction.get("downtime_s") or 0),
                    cpu_cores=round(ch.candidate.busy_cores, 3), memory_used_bytes=ch.candidate.used_memory,
                    warnings=ch.warnings, placement_note=ch.placement_note,
                )
                for ch in chosen
            ]  # fmt: skip
            RecommendedMove.objects.bulk_create(moves)
            saved.append(rec)
    return saved


def _proposal_wave(index: TargetIndex, chosen: list[_Chosen]) -> dict | None:
    """The engine's plan of a proposal's moves as one wave (each link's moves sharing it, under its admission and the
    hosts' limits): each move's prediction and the wave's warnings (disk copied first, no convergence)."""
    if not chosen:
        return None
    wave = predict_wave(index, [(ch.candidate.workload, ch.target) for ch in chosen])
    for ch, p in zip(chosen, wave["items"], strict=True):
        ch.prediction = p
        ch.warnings.extend(_wave_warnings(ch.candidate.workload, p))
    return wave


def _recommendation(site, basis, thr_cpu, thr_mem, index: TargetIndex, meta: dict, chosen: list[_Chosen]):
    touched = {ch.target.pk for ch in chosen}
    targets = [
        {**meta["targets_before"][pk], "cpu_after": index.hosts[pk].cpu_pct, "mem_after": index.hosts[pk].mem_pct}
        for pk in sorted(touched, key=lambda pk: index.hosts[pk].name)
    ]
    ends = [ch.prediction["end_s"] for ch in chosen if ch.prediction]
    wave = {"makespan_s": round(max(ends), 2)} if ends else None
    before, after = meta["before"], meta["after"]
    when = basis.strftime("%a %H:%M UTC")
    if not chosen:
        summary = (
            f"{before['name']} would run at CPU {before['cpu_pct']:.0f} % / memory {before['mem_pct']:.0f} % at the "
            f"peak ({when}), above the threshold, and no move passes the pre-checks with room at its target."
        )
    else:
        summary = (
            f"{before['name']} would run at CPU {before['cpu_pct']:.0f} % / memory {before['mem_pct']:.0f} % at the "
            f"peak ({when}); {len(chosen)} move{'s' if len(chosen) != 1 else ''} bring it to CPU "
            f"{after['cpu_pct']:.0f} % / memory {after['mem_pct']:.0f} %"
            + ("." if meta["under"] else ", still above the threshold (no more room or link slots).")
        )
    return Recommendation(
        scope=meta["scope"], site=site, host_id=meta["host"].pk if meta["host"] else None, basis_at=basis,
        threshold_cpu_pct=thr_cpu, threshold_mem_pct=thr_mem, before={"subject": before},
        after={"subject": after, "targets": targets, "wave": {"makespan_s": wave["makespan_s"]} if wave else None},
        summary=summary, brings_under=meta["under"],
    )  # fmt: skip


def recommendation_apply(
    *, recommendation: Recommendation, user: AbstractBaseUser, override_reason: str = ""
) -> list[dict]:
    """Start every move of an open proposal (each through `migration_start`: pre-checks again, admission, queue).
    Returns, per move, whether it started, was queued or was refused and why. Applying twice is refused.

    When any move carries pre-check warnings, the operator's written `override_reason` is required (no canned text:
    the reason is theirs, kept on each migration and in the audit trail)."""
    override_reason = (override_reason or "").strip()
    warnings = [
        f"{name}: {w}"
        for name, move_warnings in recommendation.moves.values_list("workload__name", "warnings")
        for w in move_warnings or []
    ]
    if warnings and not override_reason and recommendation.state == RecommendationState.OPEN:
        raise OverrideReasonRequired(warnings, action="the recommendation can be applied")
    with transaction.atomic():
        done = Recommendation.objects.filter(pk=recommendation.pk, state=RecommendationState.OPEN).update(
            state=RecommendationState.APPLIED, decided_by=_user(user), decided_at=timezone.now()
        )
    if not done:
        recommendation.refresh_from_db()
        raise CapacityActionRefused(f"Recommendation #{recommendation.pk} is already {recommendation.state}.")
    results = []
    for move in recommendation.moves.select_related("workload", "destination_host"):
        override = override_reason if move.warnings else ""
        try:
            migration = migration_start(
                workload=move.workload, destination_host=move.destination_host, requested_by=_user(user),
                override_reason=override, reason=f"Capacity recommendation #{recommendation.pk}",
            )  # fmt: skip
            outcome = "queued" if migration.state == MigrationState.QUEUED else "started"
            move.migration = migration
            move.outcome = outcome
            results.append({"workload": move.workload.name, "outcome": outcome, "migration": migration.pk})
        except MigrationRefused as exc:
            move.outcome = "refused: " + " ".join(exc.errors)
            results.append({"workload": move.workload.name, "outcome": "refused", "errors": exc.errors})
        move.save(update_fields=["migration", "outcome"])
    Recommendation.objects.filter(pk=recommendation.pk).update(result=results)
    recommendation.refresh_from_db()
    return results


def recommendation_dismiss(*, recommendation: Recommendation, user: AbstractBaseUser) -> Recommendation:
    if not Recommendation.objects.filter(pk=recommendation.pk, state=RecommendationState.OPEN).update(
        state=RecommendationState.DISMISSED, decided_by=_user(user), decided_at=timezone.now()
    ):
        recommendation.refresh_from_db()
        raise CapacityActionRefused(f"Recommendation #{recommendation.pk} is already {recommendation.state}.")
    recommendation.refresh_from_db()
    return recommendation


# -- evacuations ----------------------------------------------------------------------------------------------------


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
    config = CapacitySettings.get()
    now = timezone.now()
    index = TargetIndex.load(seed=config.seed, at=now)
    if host is not None:
        site = host.cluster.site
        workloads = Workload.objects.filter(host=host)
        same = [h for h in index.hosts.values() if h.site_id == site.pk and h.pk != host.pk]
        other = [h for h in index.hosts.values() if h.site_id != site.pk]
        tiers = [same, other]
    else:
        workloads = Workload.objects.filter(host__cluster__site=site)
        tiers = [[h for h in index.hosts.values() if h.site_id == destination_site.pk]]
    workloads = list(workloads.only(*CANDIDATE_FIELDS).order_by("-memory_bytes", "name"))
    items: list[PlannedItem] = []
    # Reads only: every blocked workload's pre-checks share what they read, and the planned moves (the rules).
    context = PrecheckContext(rule_book=index.rules)
    _preload(context, workloads, {t.site_id for tier in tiers for t in tier} | {site.pk})
    chooser = TargetChooser(index, tiers)
    blocked_checked = 0
    for w in workloads:
        c = index.candidate(w)
        reasons: list[str] = []
        decided: list[str] = []  # the placement rules that turned a better host down, shown beside the destination
        target = chooser.choose(c, reasons, decided)
        if target is None:
            # The pre-checks' own sentences for the first blocked workloads; beyond those, the in-memory mirror's
            # reasons (the same checks: a placement over every host per blocked workload costs seconds).
            checked = blocked_checked < MAX_BLOCKED_PRECHECKED
            blocked_checked += 1
            items.append(PlannedItem(w, None, _blocked_reason(w, destination_site or site, reasons, context, checked)))
            continue
        chooser.commit(c, target)
        # The engine's figures come from the wave below (each move with the others it shares its link with), not from
        # a forecast of each move alone: the checks here predict nothing.
        check = precheck_migration(workload=w, destination_host=Host(pk=target.pk), context=context, predict=False)
        items.append(PlannedItem(w, target, reason=" ".join(decided[:3]), warnings=list(check.warnings)))
    movable = [i for i in items if i.target is not None]
    prediction = predict_wave(index, [(i.workload, i.target) for i in movable]) if movable else {
        "makespan_s": 0.0, "items": [], "groups": 0}  # fmt: skip
    for item, p in zip(movable, prediction["items"], strict=True):
        item.prediction = p
        item.warnings.extend(_wave_warnings(item.workload, p))
    fit = window_fit(prediction, start=now, window_start=window_start, window_end=window_end)
    for i in fit["over"]:
        movable[i].over_window = True
    scope = Scope.HOST if host is not None else Scope.SITE
    return EvacuationPlan(scope, site, host, destination_site, items, prediction, fit, max(now, window_start or now))


def _preload(context: PrecheckContext, workloads: list[Workload], site_ids: set[int]) -> None:
    """Give the pre-checks the planned workloads with their host (cluster, site), datastore and segment, and the
    hosts of `site_ids` (the destinations), each read once for all of them (not once per workload)."""
    hosts = {h.pk: h for site_id in sorted(site_ids) for h in context.site_hosts(Site(pk=site_id))}
    for host_id in {w.host_id for w in workloads} - set(hosts):
        hosts[host_id] = context.host(host_id)
    datastores = Datastore.objects.in_bulk({w.datastore_id for w in workloads if w.datastore_id})
    segments = NetworkSegment.objects.in_bulk({w.segment_id for w in workloads if w.segment_id})
    cache_host, cache_ds = Workload.host.field.set_cached_value, Workload.datastore.field.set_cached_value
    cache_segment = Workload.segment.field.set_cached_value
    for w in workloads:
        cache_host(w, hosts[w.host_id])
        cache_ds(w, datastores.get(w.datastore_id))
        cache_segment(w, segments.get(w.segment_id))
    context.preload_workloads(workloads)


def _wave_warnings(w: Workload, p: dict) -> list[str]:
    """What the wave's own prediction of a move warns about: a disk copied first, pre-copy that does not converge
    within the downtime budget (with the others sharing its link, as it will run)."""
    out = []
    if p.get("storage_time_s"):
        out.append(
            f"{w.name}'s destination cannot see its datastore, so its disk ({w.disk_bytes / 2**30:,.0f} GiB) is "
            f"copied first: about {p['storage_time_s']:,.0f} s of disk transfer before the memory pre-copy (wave "
            f"prediction)."
        )
    if p.get("converged") is False:
        out.append(
            f"{w.name}: in the wave's prediction pre-copy would not converge within the 0.3 s downtime budget: "
            f"{p.get('reason', '')}"
        )
    return out


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
    if plan.warnings and not override_reason:
        raise OverrideReasonRequired(plan.warnings)
    with transaction.atomic():
        evacuation = Evacuation(
            scope=plan.scope, host=plan.host, site=plan.site, destination_site=plan.destination_site,
            created_by=_user(user), window_start=window_start, window_end=window_end,
            prediction={**plan.prediction, "fit": plan.fit, "items": None},
            override_reason=override_reason if plan.warnings else "",
        )  # fmt: skip
        evacuation.full_clean()
        evacuation.save()
        audit_record(
            action="evacuation.start", target=evacuation, actor=_user(user),
            after={"scope": plan.scope, "subject": evacuation.subject_name, "moves": len(plan.movable),
                   "blocked": len(plan.blocked), "warnings": plan.warnings,
                   "override_reason": evacuation.override_reason},
            message=f"{evacuation} started"
            + (f" with {len(plan.warnings)} warning(s) overridden: {evacuation.override_reason}" if plan.warnings
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
    from migration.capacity.tasks import watch_evacuation

    watch_evacuation.delay(evacuation_id)


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
    from inventory.models import CloudLink

    active = defaultdict(int)
    for link_id in Migration.objects.filter(state__in=ACTIVE_STATES, cloud_link_id__in=migration_link_ids).values_list(
        "cloud_link_id", flat=True
    ):
        active[link_id] += 1
    return {
        link.pk: int(link.bandwidth_mbit // MIN_MBIT_PER_MIGRATION) - active[link.pk]
        for link in CloudLink.objects.filter(pk__in=migration_link_ids)
    }


def _start_waiting(evacuation: Evacuation) -> int:
    """Start the evacuation's waiting items, in order, as far as the WAN links have slots (the pre-checks refuse a
    link shared by more migrations than 250 Mbit/s each); the rest wait for the next refresh."""
    from migration.prechecks import link_between

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

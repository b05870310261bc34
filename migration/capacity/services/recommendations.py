"""Recommendations: proposals that relieve a site's hot hosts (and the site as a whole) at its next peak by moving
workloads elsewhere, each move pre-checked and predicted by the engine as one wave; applying one starts its moves
through `migration_start`, dismissing it records the decision."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from inventory.choices import HostState, PowerState
from inventory.models import Site, Workload
from migration.capacity import telemetry
from migration.capacity.choices import RecommendationState, Scope
from migration.capacity.models import CapacitySettings, Recommendation, RecommendedMove
from migration.capacity.planning import (
    Candidate,
    PlanningWorkloads,
    TargetHost,
    TargetIndex,
    cost_of_moving,
    cyclic_gc_paused,
    next_peak,
    workload_rows,
)
from migration.capacity.services.refusals import CapacityActionRefused, OverrideReasonRequired, acting_user
from migration.capacity.waves import predict_wave, wave_warnings
from migration.choices import MigrationState
from migration.engine.placement_rules import Spot
from migration.prechecks import PrecheckContext, precheck_migration
from migration.services import MigrationRefused, migration_start

MAX_MOVES_PER_PROPOSAL = 60
#: Each migration also has a fixed cost (a switchover, an operator's attention): fewer, meatier moves win ties.
MOVE_OVERHEAD_BYTES = 8 * 2**30
#: Candidates whose pre-checks refuse the chosen target before a proposal gives up.
MAX_REFUSED_PER_PROPOSAL = 50


@dataclass
class _Chosen:
    candidate: Candidate
    target: TargetHost
    prediction: dict
    warnings: list[str]
    placement_note: str = ""  # the placement rules that turned a host down for it


@dataclass
class _Planner:
    """What one computation shares: the index (planned moves accounted as they are chosen), the pre-check context,
    the workloads' instances made on demand, and the thresholds."""

    index: TargetIndex
    context: PrecheckContext
    workloads: PlanningWorkloads
    thr_cpu: float
    thr_mem: float

    def under(self, h: TargetHost) -> bool:
        return h.cpu_pct <= self.thr_cpu and h.mem_pct <= self.thr_mem


def _open_tiers(planner: _Planner, tiers: list[list[TargetHost]]) -> list[list[TargetHost]]:
    """Only targets with room under the thresholds (dropped as they fill up): a hot fleet costs no wasted checks."""
    thr_cpu, thr_mem = planner.thr_cpu, planner.thr_mem
    return [
        [
            t
            for t in tier
            if t.state == HostState.CONNECTED and t.evacuation is None and t.cpu_pct < thr_cpu and t.mem_pct < thr_mem
        ]
        for tier in tiers
    ]


def _by_relief(candidates: list[Candidate], excess: tuple[float, float]) -> list[Candidate]:
    """Cheapest relief first: memory to copy (inflated by the dirty rate) over how much of the excess it removes."""
    excess_cpu, excess_mem = excess

    def relief(c: Candidate) -> float:
        r = 0.0
        if excess_cpu > 0:
            r = max(r, c.busy_cores / excess_cpu)
        if excess_mem > 0:
            r = max(r, c.used_memory / excess_mem)
        return min(1.0, r)

    return sorted(
        candidates,
        key=lambda c: ((cost_of_moving(c.workload) + MOVE_OVERHEAD_BYTES) / max(relief(c), 1e-3), c.workload.pk),
    )


def _best_target(planner: _Planner, c: Candidate, tiers: list[list[TargetHost]]) -> tuple[TargetHost | None, list]:
    """The target of the earliest tier with the most room after the move, under the thresholds, that the in-memory
    pre-checks allow; and the placement rules that turned a host down for it."""
    index = planner.index
    w = c.workload
    ruled = bool(index.rules.rules_of(w.pk))
    decided: list[str] = []
    for tier in tiers:
        scored: list[tuple[tuple[float, str], TargetHost]] = []
        for t in tier:
            score = _score_after(planner, c, t)
            if ruled:  # every host's blocker: the rules that turned one down are named beside the destination
                why = index.blocker(c, t)
                if why and why in index.rules.broken_on(w.pk, w.name, Spot(t.name, t.site_name)):
                    decided.append(why)
                if why or score is None:
                    continue
            elif score is None:
                continue
            scored.append((score, t))
        scored.sort(key=lambda st: st[0])
        for _, t in scored:
            # Without a rule, only the best-scored hosts need the blocker (the first that passes is the choice).
            if ruled or index.blocker(c, t) is None:
                return t, decided
    return None, decided


def _score_after(planner: _Planner, c: Candidate, t: TargetHost) -> tuple[float, str] | None:
    """How full `t` would be after taking the candidate (the higher of CPU and memory over their thresholds; ties
    by name), or None when it would be above a threshold."""
    cpu_after = telemetry.pct(min(t.busy_cores + c.busy_cores, t.cores), t.cores)
    mem_after = telemetry.pct(t.used_memory + c.used_memory, t.memory_bytes)
    if cpu_after > planner.thr_cpu or mem_after > planner.thr_mem:
        return None
    return max(cpu_after / planner.thr_cpu, mem_after / planner.thr_mem), t.name


def _choose_moves(
    planner: _Planner,
    candidates: list[Candidate],
    tiers: list[list[TargetHost]],
    *,
    is_over: Callable[[], bool],
    excess: tuple[float, float],
) -> list[_Chosen]:
    """Greedy: cheapest relief first, each to its best target (`_best_target`), each pre-checked for real (sharing
    what the checks read across the proposal; nothing is written while planning)."""
    tiers = _open_tiers(planner, tiers)
    chosen: list[_Chosen] = []
    refused = 0
    for c in _by_relief(candidates, excess):
        full = len(chosen) >= MAX_MOVES_PER_PROPOSAL or refused > MAX_REFUSED_PER_PROPOSAL
        if full or not any(tiers) or not is_over():
            break
        target, decided = _best_target(planner, c, tiers)
        if target is None:
            continue
        # The engine's figures come from the proposal's wave (`_proposal_wave`), not a forecast of each move alone.
        check = precheck_migration(
            workload=planner.workloads.instance(c.workload), destination_host=planner.context.host(target.pk),
            context=planner.context, predict=False,
        )  # fmt: skip
        if check.errors:
            refused += 1
            continue
        planner.index.commit(c, target)
        chosen.append(_Chosen(c, target, {}, list(check.warnings), " ".join(decided[:3])))
        if target.cpu_pct >= planner.thr_cpu - 1 or target.mem_pct >= planner.thr_mem - 1:
            tiers = [[t for t in tier if t is not target] for tier in tiers]
    return chosen


def _load(h: TargetHost) -> dict:
    return {"name": h.name, "site": h.site_name, "cpu_pct": h.cpu_pct, "mem_pct": h.mem_pct}


def _host_proposals(
    planner: _Planner, site_hosts: list[TargetHost], elsewhere: list[TargetHost], by_host: dict[int, list[Candidate]]
) -> list[tuple[dict, list[_Chosen]]]:
    """One proposal per connected host of the site above the thresholds: moves to other hosts of the site first,
    else other sites. The moves chosen leave `by_host`."""
    index, thr_cpu, thr_mem = planner.index, planner.thr_cpu, planner.thr_mem
    proposals = []
    for host in site_hosts:
        if host.state != HostState.CONNECTED or planner.under(host):
            continue
        before = _load(host)
        targets_before = {t.pk: _load(t) for t in index.hosts.values()}
        excess = (host.busy_cores - thr_cpu / 100 * host.cores, host.used_memory - thr_mem / 100 * host.memory_bytes)
        same_site = [h for h in site_hosts if h.pk != host.pk]
        chosen = _choose_moves(
            planner, by_host[host.pk], [same_site, elsewhere], is_over=lambda h=host: not planner.under(h),
            excess=excess,
        )  # fmt: skip
        moved = {id(ch.candidate) for ch in chosen}
        by_host[host.pk] = [c for c in by_host[host.pk] if id(c) not in moved]
        meta = {"scope": Scope.HOST, "host": host, "before": before, "after": _load(host),
                "targets_before": targets_before, "under": planner.under(host)}  # fmt: skip
        proposals.append((meta, chosen))
    return proposals


def _site_proposal(
    planner: _Planner, site: Site, site_hosts: list[TargetHost], elsewhere: list[TargetHost], candidates: list
) -> tuple[dict, list[_Chosen]] | None:
    """A proposal for the site as a whole when it is above the thresholds (bursting to other sites, public cloud
    regions included), or None."""
    index, thr_cpu, thr_mem = planner.index, planner.thr_cpu, planner.thr_mem
    cpu, mem = index.site_load(site.pk)
    if cpu <= thr_cpu and mem <= thr_mem:
        return None
    cores = sum(h.cores for h in site_hosts)
    memory = sum(h.memory_bytes for h in site_hosts)
    targets_before = {t.pk: _load(t) for t in index.hosts.values()}
    excess = ((cpu - thr_cpu) / 100 * cores, (mem - thr_mem) / 100 * memory)

    def site_over() -> bool:
        c, m = index.site_load(site.pk)
        return c > thr_cpu or m > thr_mem

    chosen = _choose_moves(planner, candidates, [elsewhere], is_over=site_over, excess=excess)
    after_cpu, after_mem = index.site_load(site.pk)
    meta = {"scope": Scope.SITE, "host": None, "before": {"name": site.name, "cpu_pct": cpu, "mem_pct": mem},
            "after": {"name": site.name, "cpu_pct": after_cpu, "mem_pct": after_mem},
            "targets_before": targets_before, "under": not site_over()}  # fmt: skip
    return meta, chosen


def _planner_for(site: Site, basis: datetime, config: CapacitySettings) -> tuple[_Planner, list[Candidate]]:
    """The index at `basis`, a shared pre-check context (the rules see the moves planned so far; every host's usage
    in one aggregate) and the site's powered-on workloads as candidates (plain rows)."""
    index = TargetIndex.load(seed=config.seed, at=basis)
    context = PrecheckContext(rule_book=index.rules)
    context.preload_usage()
    rows = workload_rows(Workload.objects.filter(host__cluster__site=site, power_state=PowerState.ON))
    made = PlanningWorkloads(context, rows, {h.site_id for h in index.hosts.values()})
    planner = _Planner(index, context, made, config.threshold_cpu_pct, config.threshold_mem_pct)
    return planner, [index.candidate(w) for w in rows]


def recommendations_compute(*, site: Site, at: datetime | None = None, persist: bool = True) -> list[Recommendation]:
    """Proposals for `site` at its next business-hours peak (or at `at`): one per host above the thresholds (moves
    to other hosts of the site first, else other sites), then one for the site as a whole when it is above them
    (bursting to other sites, public cloud regions included). Open proposals of the site are replaced."""
    config = CapacitySettings.get()
    basis = at or next_peak(site.longitude, timezone.now())
    with cyclic_gc_paused():
        planner, candidates = _planner_for(site, basis, config)
        index = planner.index
        by_host: dict[int, list[Candidate]] = defaultdict(list)
        for c in candidates:
            by_host[c.workload.host_id].append(c)
        site_hosts = sorted(
            (h for h in index.hosts.values() if h.site_id == site.pk),
            key=lambda h: (-max(h.cpu_pct, h.mem_pct), h.name),
        )
        elsewhere = sorted(
            (h for h in index.hosts.values() if h.site_id != site.pk),
            key=lambda h: (h.site_kind != "private", h.site_name, h.name),
        )
        proposals = _host_proposals(planner, site_hosts, elsewhere, by_host)
        whole = _site_proposal(planner, site, site_hosts, elsewhere, [c for cs in by_host.values() for c in cs])
        if whole is not None:
            proposals.append(whole)
        for _, chosen in proposals:
            _proposal_wave(planner, chosen)
        recs = [(_recommendation(site, basis, planner, meta, chosen), chosen) for meta, chosen in proposals]
    if not persist:
        return [rec for rec, _ in recs]
    return _replace_open(site, recs)


def _replace_open(site: Site, recs: list[tuple[Recommendation, list[_Chosen]]]) -> list[Recommendation]:
    """Save the proposals and their moves in place of the site's open ones."""
    with transaction.atomic():
        Recommendation.objects.filter(site=site, state=RecommendationState.OPEN).delete()
        for rec, chosen in recs:
            rec.full_clean()
            rec.save()
            moves = [
                RecommendedMove(
                    recommendation=rec, workload_id=ch.candidate.workload.pk,
                    source_host_id=ch.candidate.workload.host_id, destination_host_id=ch.target.pk,
                    predicted_time_s=float(ch.prediction.get("end_s", 0) - ch.prediction.get("start_s", 0)),
                    predicted_downtime_s=float(ch.prediction.get("downtime_s") or 0),
                    cpu_cores=round(ch.candidate.busy_cores, 3), memory_used_bytes=ch.candidate.used_memory,
                    warnings=ch.warnings, placement_note=ch.placement_note,
                )
                for ch in chosen
            ]  # fmt: skip
            RecommendedMove.objects.bulk_create(moves)
    return [rec for rec, _ in recs]


def _proposal_wave(planner: _Planner, chosen: list[_Chosen]) -> dict | None:
    """The engine's plan of a proposal's moves as one wave (each link's moves sharing it, under its admission and the
    hosts' limits): each move's prediction and the wave's warnings (disk copied first, no convergence)."""
    if not chosen:
        return None
    moves = [(planner.workloads.instance(ch.candidate.workload), ch.target) for ch in chosen]
    wave = predict_wave(planner.index, moves)
    for ch, (w, _), p in zip(chosen, moves, wave["items"], strict=True):
        ch.prediction = p
        ch.warnings.extend(wave_warnings(w, p))
    return wave


def _recommendation(site: Site, basis: datetime, planner: _Planner, meta: dict, chosen: list[_Chosen]):
    index = planner.index
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
        threshold_cpu_pct=planner.thr_cpu, threshold_mem_pct=planner.thr_mem, before={"subject": before},
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
            state=RecommendationState.APPLIED, decided_by=acting_user(user), decided_at=timezone.now()
        )
    if not done:
        recommendation.refresh_from_db()
        raise CapacityActionRefused(f"Recommendation #{recommendation.pk} is already {recommendation.state}.")
    results = []
    for move in recommendation.moves.select_related("workload", "destination_host"):
        override = override_reason if move.warnings else ""
        try:
            migration = migration_start(
                workload=move.workload, destination_host=move.destination_host, requested_by=acting_user(user),
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
    """Record that the operator turned an open proposal down; deciding twice is refused."""
    if not Recommendation.objects.filter(pk=recommendation.pk, state=RecommendationState.OPEN).update(
        state=RecommendationState.DISMISSED, decided_by=acting_user(user), decided_at=timezone.now()
    ):
        recommendation.refresh_from_db()
        raise CapacityActionRefused(f"Recommendation #{recommendation.pk} is already {recommendation.state}.")
    recommendation.refresh_from_db()
    return recommendation

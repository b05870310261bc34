"""The engine's plan of a wave of planned moves (`predict_wave`: moves grouped by what their bandwidth is shared on,
each group planned by `plan_wave`), what its prediction warns about, and whether it fits a maintenance window."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from functools import lru_cache

from hybridcloud.core.units import format_bytes, format_duration
from inventory.links import migration_slots
from inventory.models import CloudLink, Host, Workload
from migration.capacity.planning import LinkInfo, TargetHost, TargetIndex
from migration.engine import LinkSpec, PrecopyParams, plan_wave
from migration.prechecks import HostStack, LinkStack, engine_params, transport_between


def link_key(index: TargetIndex, source: TargetHost, target: TargetHost) -> tuple[str, LinkInfo | None]:
    if source.site_id == target.site_id:
        return f"host:{source.pk}", None
    link = index.link(source.site_id, target.site_id)
    return f"link:{link.pk}", link


def _link_model(index: TargetIndex, link: LinkInfo | None) -> CloudLink | None:
    return index.link_models.get(link.pk) if link is not None else None


def _host_facts(
    index: TargetIndex, hosts: dict[int, tuple[Host | None, HostStack | None, float]], host: TargetHost
) -> tuple[Host | None, HostStack | None, float]:
    model = index.host_models.get(host.pk)
    facts = hosts[host.pk] = (model, HostStack.of(model) if model is not None else None, host.nic_bps)
    return facts


def _engine_inputs(
    index: TargetIndex, moves: list[tuple[Workload, TargetHost]], *, max_downtime_s: float, policy: str
) -> tuple[dict[str, list[int]], dict[str, tuple[LinkSpec, int]], list[PrecopyParams]]:
    """Each move's engine inputs, the moves grouped by what their bandwidth is shared on (a WAN link, or the source
    host's migration NIC), and each group's link and concurrency limit."""
    groups: dict[str, list[int]] = defaultdict(list)
    specs: dict[str, tuple[LinkSpec, int]] = {}
    params = []
    # By source host and destination site: the link key, the link, its transport facts, its ratio, the key's moves.
    keys: dict[tuple[int, int], tuple[str, LinkInfo | None, LinkStack | None, float, list[int]]] = {}
    hosts: dict[int, tuple[Host | None, HostStack | None, float]] = {}  # each host's model, stack and NIC, read once
    for i, (w, target) in enumerate(moves):
        source_id = w.host_id
        source = index.hosts[source_id]
        known = keys.get((source_id, target.site_id))
        if known is None:
            key, link = link_key(index, source, target)
            known = keys[(source_id, target.site_id)] = (
                key, link, LinkStack.of(_link_model(index, link)), float(link.compression_ratio) if link else 1.0,
                groups[key],
            )  # fmt: skip
            if key not in specs:
                if link is None:
                    specs[key] = (LinkSpec(bandwidth_bps=source.nic_bps), source.max_concurrent)
                else:
                    specs[key] = (link.spec(), max(1, migration_slots(link.bandwidth_mbit) - link.active))
        key, link, link_stack, ratio, members = known
        members.append(i)
        source_model, source_stack, source_nic = hosts.get(source_id) or _host_facts(index, hosts, source)
        destination_model, destination_stack, destination_nic = hosts.get(target.pk) or _host_facts(
            index, hosts, target
        )
        transport = None
        if source_model is not None and destination_model is not None:
            transport = transport_between(source_stack, destination_stack, link_stack, ratio)
        params.append(
            engine_params(
                workload=w, bandwidth_bps=min(source_nic, destination_nic), max_downtime_s=max_downtime_s,
                policy=policy, compression_ratio=ratio,
                disk_bytes=0 if w.datastore_id in target.datastores else w.disk_bytes, source_host=source_model,
                destination_host=destination_model, transport=transport,
            )
        )  # fmt: skip
    return groups, specs, params


def predict_wave(index: TargetIndex, moves: list[tuple[Workload, TargetHost]], *, max_downtime_s: float = 0.3,
                 policy: str = "throttle") -> dict:  # fmt: skip
    """The engine's plan of a wave: moves grouped by what their bandwidth is shared on (a WAN link, or the source
    host's migration NIC), each group planned by `plan_wave` under its concurrency limit, groups side by side.
    Returns the makespan and, per move (in input order), start, end and downtime in simulated seconds."""
    groups, specs, params = _engine_inputs(index, moves, max_downtime_s=max_downtime_s, policy=policy)
    items: list[dict] = [{} for _ in moves]
    makespan = 0.0
    for key, members in groups.items():
        spec, limit = specs[key]
        if key.startswith("link:"):
            sources = {moves[i][0].host_id for i in members}
            targets = {moves[i][1].pk for i in members}
            limit = min(
                limit,
                sum(index.hosts[s].max_concurrent for s in sources),
                sum(index.hosts[t].max_concurrent for t in targets),
            )
        wave = plan_wave(spec, [params[i] for i in members], max_concurrent=max(1, limit))
        makespan = max(makespan, wave.makespan_s)
        for i, item in zip(members, wave.items, strict=True):
            converged = item.converged
            p = items[i] = {
                "start_s": round(item.start_s, 2),
                "end_s": round(item.end_s, 2),
                "downtime_s": round(item.downtime_s, 4),
                "outcome": item.outcome,
                "converged": converged,
                "group": key,
                "max_concurrent": limit,
            }
            if not converged or params[i].disk_bytes > 0:  # the details, only where a warning needs them
                p["storage_time_s"] = round(item.storage_time_s, 1)
                if not converged:  # the result (its sentences) only for these
                    p["reason"] = item.result.reason
    return {"makespan_s": round(makespan, 2), "items": items, "groups": len(groups)}


def window_fit(prediction: dict, *, start: datetime, window_start: datetime | None,
               window_end: datetime | None) -> dict:  # fmt: skip
    """Whether a predicted wave fits a maintenance window; which moves would run over (indexes)."""
    begin = max(start, window_start) if window_start else start
    if window_end is None:
        return {"has_window": False, "fits": True, "over": [], "ends_at": (begin + timedelta(
            seconds=prediction["makespan_s"])).isoformat()}  # fmt: skip
    over = [
        i for i, item in enumerate(prediction["items"])
        if item and begin + timedelta(seconds=item["end_s"]) > window_end
    ]  # fmt: skip
    available = (window_end - begin).total_seconds()
    return {
        "has_window": True,
        "fits": not over and available >= 0,
        "over": over,
        "available_s": round(available, 1),
        "ends_at": (begin + timedelta(seconds=prediction["makespan_s"])).isoformat(),
    }


#: The sizes and durations in the warnings, each worded once (a wave of 100,000 moves has a handful of distinct ones).
_size = lru_cache(maxsize=4096, typed=True)(format_bytes)
_duration = lru_cache(maxsize=4096, typed=True)(format_duration)


def wave_warnings(w: Workload, p: dict) -> list[str]:
    """What the wave's own prediction of a move warns about: a disk copied first, pre-copy that does not converge
    within the downtime budget (with the others sharing its link, as it will run)."""
    out = []
    if p.get("storage_time_s"):
        out.append(
            f"{w.name}'s destination cannot see its datastore, so its disk ({_size(w.disk_bytes)}) is "
            f"copied first: about {_duration(p['storage_time_s'])} of disk transfer before the memory pre-copy "
            f"(wave prediction)."
        )
    if p.get("converged") is False:
        out.append(
            f"{w.name}: in the wave's prediction pre-copy would not converge within the 0.3 s downtime budget: "
            f"{p.get('reason', '')}"
        )
    return out

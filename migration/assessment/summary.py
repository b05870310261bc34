"""An assessment's summary (counts, timings, the destination's capacity, what blocks and what limits) and the
list of what it assumed, as the page shows them: reads of computed rows, no query but the destination's capacity."""

from __future__ import annotations

from collections import defaultdict

from inventory.assumptions import DIRTY_RULES
from inventory.choices import PowerState
from inventory.links import MIN_MBIT_PER_MIGRATION
from inventory.selectors import site_capacities
from migration.assessment.choices import DirtySource, MoveMode
from migration.assessment.models import Assessment, AssessmentRow
from migration.prechecks import LIMIT_LABELS

MB = 1_000_000
DIRTY_RULE_LABELS = {rule.role: rule.label for rule in DIRTY_RULES}


def _pick(values: list[float], q: float) -> float | None:
    """The `q` quantile of sorted `values` (None when empty)."""
    return round(values[min(len(values) - 1, int(q * len(values)))], 3) if values else None


def destination_capacity(a: Assessment, live: list[AssessmentRow], movable: list[AssessmentRow]) -> dict:
    """What the destination site has, uses and would need (vCPUs and memory of the live moves, the storage of all),
    and whether each fits in what is free."""
    capacity = site_capacities(site_id=a.destination_id)[0]
    dest = {
        "vcpus": {"capacity": capacity.vcpu_capacity, "used": capacity.vcpus_used,
                  "needed": sum(r.vcpus for r in live)},
        "memory_bytes": {"capacity": capacity.memory_bytes, "used": capacity.memory_used_bytes,
                         "needed": sum(r.memory_bytes for r in live)},
        "storage_bytes": {"capacity": capacity.storage_bytes, "used": capacity.storage_used_bytes,
                          "needed": sum(r.disk_bytes for r in movable)},
    }  # fmt: skip
    for item in dest.values():
        item["free"] = item["capacity"] - item["used"]
        item["fits"] = item["needed"] <= item["free"]
    return dest


def _reasons(rows: list[AssessmentRow], movable: list[AssessmentRow]) -> tuple[dict[str, int], dict[str, int]]:
    """How many workloads each kind of pre-check error blocks (by its first error), and how many moves each limit
    sets the rate of."""
    errors: dict[str, int] = defaultdict(int)
    for row in rows:
        for message in row.errors[:1]:
            errors[error_kind(message)] += 1
    limits: dict[str, int] = defaultdict(int)
    for r in movable:
        if r.limit:
            limits[LIMIT_LABELS.get(r.limit, r.limit)] += 1
    return dict(sorted(errors.items(), key=lambda kv: -kv[1])), dict(limits)


def _timings(movable: list[AssessmentRow], live: list[AssessmentRow]) -> dict:
    durations = sorted(r.end_s - r.start_s for r in movable if r.end_s is not None)
    downtimes = sorted(r.downtime_s for r in live if r.downtime_s is not None)
    return {
        "duration_median_s": _pick(durations, 0.5),
        "duration_p95_s": _pick(durations, 0.95),
        "duration_max_s": durations[-1] if durations else None,
        "downtime_median_s": _pick(downtimes, 0.5),
        "downtime_max_s": downtimes[-1] if downtimes else None,
    }


def _waves(waves: list[dict], movable: list[AssessmentRow], window_s: float | None) -> dict:
    fits = (
        None if window_s is None else all(not w["over_window"] for w in waves) and len({w["wave"] for w in waves}) <= 1
    )
    return {
        "waves": waves,
        "wave_count": max((w["wave"] for w in waves), default=0),
        "window_s": window_s,
        "fits_window": fits,
        "over_window": sum(1 for r in movable if r.over_window),
    }


def summary(a, rows, movable, waves, makespan, bound, concurrency, window_s) -> dict:
    """The assessment's summary, from its rows (`movable`: those of the moves planned) and its waves."""
    counts = defaultdict(int)
    for row in rows:
        counts[row.mode] += 1
    live = [r for r in movable if r.power_state == PowerState.ON]
    converged = sum(1 for r in live if r.converged)
    throttled = sum(1 for r in live if r.converged and r.throttle > 0)
    dest = destination_capacity(a, live, movable)
    blocked_by, limits = _reasons(rows, movable)
    return {
        "workloads": len(rows),
        "movable": len(movable),
        "blocked": counts[MoveMode.BLOCKED],
        "modes": dict(counts),
        "live": len(live),
        "converged": converged,
        "converged_alone": converged - throttled,
        "throttled": throttled,
        "not_converged": len(live) - converged,
        "makespan_s": round(makespan, 3),
        "physical_bound_s": round(bound, 3),
        "bound_ratio": round(makespan / bound, 2) if bound > 0 else None,
        "bytes_to_copy": sum(r.memory_bytes + r.disk_bytes for r in movable),
        "bytes_sent": sum(r.bytes_sent or 0 for r in movable),
        "concurrency": concurrency,
        **_waves(waves, movable, window_s),
        **_timings(movable, live),
        "destination_capacity": dest,
        "capacity_fits": all(item["fits"] for item in dest.values()),
        "blocked_by": blocked_by,
        "limits": limits,
    }


def error_kind(message: str) -> str:
    """A pre-check error's gist, to count how many workloads each kind of reason blocks."""
    text = message.lower()
    for needle, label in (
        ("already runs on", "already at the destination"), ("cpu", "CPU not compatible"),
        ("segment", "network segment not at the destination"), ("memory free", "no host with the memory"),
        ("vcpus", "no host with the vCPUs"), ("round-trip", "RTT above the live-migration limit"),
        ("mbit/s", "bandwidth per migration below the minimum"), ("no cloud link", "no link"),
        ("datastore", "no datastore with room"), ("already being migrated", "already migrating"),
        ("no host", "no host can take it"), ("evacuat", "hosts being evacuated"),
    ):  # fmt: skip
        if needle in text:
            return label
    return "other"


def assumptions(a: Assessment, classes: dict, concurrency: int, overrides: dict[str, float]) -> list[dict]:
    """Every figure the computation assumed, as the page lists it; the dirty-rate ones are editable."""
    out: list[dict] = []
    by_class: dict[str, dict] = {}
    for (klass, source), (count, total) in sorted(classes.items()):
        entry = by_class.setdefault(
            klass,
            {"kind": "dirty_rate", "key": klass, "label": f"Dirty rate: {DIRTY_RULE_LABELS.get(klass, klass)}",
             "workloads": 0, "sources": {}, "editable": True,
             "override_mb_s": overrides[klass] / MB if klass in overrides else None},
        )  # fmt: skip
        entry["workloads"] += count
        entry["sources"][DirtySource(source).label] = {"workloads": count, "mean_mb_s": round(total / count / MB, 2)}
    for entry in by_class.values():
        rule = next((r for r in DIRTY_RULES if r.role == entry["key"]), None)
        entry["default_mb_s"] = rule.dirty_mb_s if rule else None
        out.append(entry)
    out += [
        {"kind": "link", "key": "link", "label": "Link figures", "value": a.link_note, "editable": False},
        {"kind": "concurrency", "key": "concurrency", "editable": False,
         "label": "Migrations at once on the link", "value": concurrency,
         "note": f"asked {a.max_concurrent}; at most one per {MIN_MBIT_PER_MIGRATION:g} Mbit/s of the link"},
        {"kind": "policy", "key": "policy", "editable": False, "label": "When pre-copy does not converge",
         "value": "throttle the guest (auto-converge), as migrations do by default"},
        {"kind": "placement", "key": "placement", "editable": False, "label": "Destination host",
         "value": "placement's choice, in scope order, each live move counted against its host for the next ones"},
        {"kind": "readdressing", "key": "readdressing", "editable": False, "label": "Re-addressing",
         "value": "accepted: a workload whose segment is not at the destination gets a new address there"
         if a.accept_readdressing else "not accepted: a workload whose segment is not at the destination cannot move"},
        {"kind": "transport", "key": "transport", "editable": False, "label": "Transport",
         "value": "each host's migration stack (streams, socket buffers, cipher and codec rates) with the scenario's "
         "RTT, loss and encryption, and the real link's MTU (1500 bytes without one)"},
        {"kind": "working_set", "key": "working_set", "editable": False, "label": "Writable working set",
         "value": "the inventory's figure per workload (at most its memory)"},
    ]  # fmt: skip
    return out

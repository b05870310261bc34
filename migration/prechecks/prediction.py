"""The prediction of a move that passes its checks: the engine's inputs for it (transport, profile: `engine_params`),
the world it runs in (`migration_world`), the forecast with its range and the limit that sets the rate
(`predict_move`, `prediction_dict`), and what would make it faster or converge (`suggestions`).

It knows only the recent past of the workload's dirty rate and of the link's other traffic, so it gives a best
estimate and a p10-p90 range, names the limit that sets the rate and says what would lift it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache
from types import MappingProxyType
from typing import Any, NamedTuple

from django.utils import timezone

from hybridcloud.core.units import format_bitrate, format_bytes, format_duration
from inventory.choices import Hypervisor, PowerState
from inventory.links import DEFAULT_MTU_BYTES, IP_TCP_HEADER_BYTES
from inventory.models import CloudLink, Host, Workload
from migration.engine import PrecopyParams, PrecopyResult, PrecopySimulation, simulate_precopy
from migration.engine.forecast import Forecast, forecast_precopy
from migration.engine.world import (
    DEFAULT_SEED,
    DirtyPattern,
    LinkPattern,
    dirty_pattern_for,
    last_telemetry_s,
    link_pattern_for,
)
from migration.prechecks.context import link_key_limit
from migration.prechecks.move import Move

#: Limits of the migration's own transport, which a change of its hosts' stack can lift.
TRANSPORT_LIMITS = ("window", "loss", "codec", "cipher")


class HostStack(NamedTuple):
    """What the transport rules read of one host's migration stack (`transport_fields`): plain values, so that a
    planner reads each host's once and the moves between hosts of the same stacks share one computation."""

    mtu_bytes: int | None
    socket_buffer_bytes: int | None
    encrypted: bool
    codec_rate_bps: int | None
    streams: int
    cipher_rate_bps: int

    @classmethod
    def of(cls, host: Host) -> HostStack:
        return cls(
            host.migration_mtu_bytes, host.migration_socket_buffer_bytes, host.migration_encrypted,
            host.migration_codec_rate_bps, host.migration_streams, host.migration_cipher_rate_bps,
        )  # fmt: skip


class LinkStack(NamedTuple):
    """What the transport rules read of a cloud link (`transport_fields`)."""

    rtt_s: float
    loss: float
    mtu_bytes: int
    encrypted: bool

    @classmethod
    def of(cls, link: CloudLink | None) -> LinkStack | None:
        return None if link is None else cls(link.rtt_s, link.loss, link.mtu_bytes, link.encrypted)


def _path_mss(hosts: tuple[HostStack, HostStack], link: LinkStack | None) -> int:
    mtus = [h.mtu_bytes or DEFAULT_MTU_BYTES for h in hosts]
    if link is not None:
        mtus.append(link.mtu_bytes)
    return min(mtus) - IP_TCP_HEADER_BYTES


def path_mss_bytes(*, source_host: Host, destination_host: Host, cloud_link: CloudLink | None) -> int:
    """TCP payload per segment on the path: the smallest MTU on it (the link's, each host's migration port; a port
    of unknown MTU counts as 1500) less the IPv4 and TCP headers."""
    return _path_mss((HostStack.of(source_host), HostStack.of(destination_host)), LinkStack.of(cloud_link))


def transport_fields(
    *, source_host: Host, destination_host: Host, cloud_link: CloudLink | None, compression_ratio: float
) -> dict[str, Any]:
    """The engine's transport inputs for a move between two hosts, over a link or inside a site
    (`transport_between` of their stacks)."""
    return dict(
        transport_between(
            HostStack.of(source_host), HostStack.of(destination_host), LinkStack.of(cloud_link),
            float(compression_ratio),
        )
    )  # fmt: skip


@lru_cache(maxsize=1024)
def transport_between(
    source: HostStack, destination: HostStack, link: LinkStack | None, compression_ratio: float
) -> Mapping[str, Any]:
    """The engine's transport inputs for a move from a host of stack `source` to one of stack `destination`, over
    `link` or inside a site (None); computed once per distinct combination (a wave of 100,000 moves has a handful),
    read-only (`transport_fields` returns a copy).

    Rules: the link's RTT and loss (none inside a site); the path's MSS; the lower stream count of the two hosts
    and the smaller socket buffer (empty = tuned to the path, so a host with a fixed buffer binds); the move is
    encrypted when the link or either host encrypts, at the slower host's cipher rate; with WAN compression on
    (ratio > 1), the slower codec of the hosts that compress themselves (none: an optimiser on the link)."""
    hosts = (source, destination)
    buffers = [h.socket_buffer_bytes for h in hosts if h.socket_buffer_bytes is not None]
    encrypted = any(h.encrypted for h in hosts) or bool(link is not None and link.encrypted)
    codecs = [h.codec_rate_bps for h in hosts if h.codec_rate_bps is not None]
    return MappingProxyType(
        {
            "rtt_s": link.rtt_s if link is not None else 0.0,
            "loss": link.loss if link is not None else 0.0,
            "mss_bytes": float(_path_mss(hosts, link)),
            "streams": min(h.streams for h in hosts),
            "socket_buffer_bytes": float(min(buffers)) if buffers else None,
            "cipher_rate_bps": float(min(h.cipher_rate_bps for h in hosts)) if encrypted else None,
            "codec_rate_bps": float(min(codecs)) if codecs and compression_ratio > 1.0 else None,
        }
    )


def engine_params(
    *,
    workload: Workload,
    bandwidth_bps: float,
    max_downtime_s: float,
    policy: str,
    compression_ratio: float = 1.0,
    disk_bytes: float = 0,
    source_host: Host | None = None,
    destination_host: Host | None = None,
    cloud_link: CloudLink | None = None,
    transport: Mapping[str, Any] | None = None,
) -> PrecopyParams:
    """The engine's inputs for this workload. A powered-off workload dirties nothing and writes nothing to its disk
    (a cold move); a live one's disk writes are mirrored while a storage move (``disk_bytes > 0``) copies the disk.
    With both hosts given, the transport (RTT, loss, MSS, streams, buffers, cipher, codec) comes from them and the
    link (`transport_fields`; a planner of many moves passes `transport`, `transport_between` of the same hosts'
    stacks and link, worked out once per kind of move); without, the move is modelled as a LAN with no transport
    limit. The source host's hypervisor picks the engine's profile: a KVM source migrates by QEMU's own rules
    (``profile="qemu"``, calibrated against real QEMU, docs/engine.md), any other by the generic model."""
    live = workload.power_state == PowerState.ON
    if transport is None and source_host is not None and destination_host is not None:
        transport = transport_between(
            HostStack.of(source_host), HostStack.of(destination_host), LinkStack.of(cloud_link),
            float(compression_ratio),
        )  # fmt: skip
    return PrecopyParams(
        memory_bytes=float(workload.memory_bytes),
        bandwidth_bps=float(bandwidth_bps),
        dirty_rate_bps=float(workload.dirty_rate_bps) if live else 0.0,
        working_set_bytes=float(min(workload.working_set_bytes, workload.memory_bytes)) if live else None,
        max_downtime_s=float(max_downtime_s),
        compression_ratio=float(compression_ratio),
        on_no_convergence=policy,
        disk_bytes=float(disk_bytes),
        disk_write_rate_bps=float(workload.disk_write_rate_bps) if live and disk_bytes else 0.0,
        profile="qemu" if source_host is not None and source_host.hypervisor == Hypervisor.KVM else "generic",
        **(transport or {}),
    )


def migration_world(
    *, workload: Workload, source_host: Host, cloud_link: CloudLink | None, seed: int = DEFAULT_SEED
) -> tuple[DirtyPattern, LinkPattern | None, float]:
    """The world a move of `workload` runs in: its dirty-rate pattern (its busy-hour rate is the inventory's, its
    business day its site's), the link's background traffic (the business day of the link's two sites) and the
    capacity that traffic shares: the link's bandwidth, or inside a site the source host's migration NIC (no
    background there: a dedicated migration network)."""
    dirty = dirty_pattern_for(
        seed=seed,
        workload_id=workload.pk,
        base_bps=float(workload.dirty_rate_bps),
        longitude=source_host.cluster.site.longitude,
    )
    if cloud_link is None:
        return dirty, None, source_host.migration_bandwidth_bps
    longitude = (cloud_link.site_a.longitude + cloud_link.site_b.longitude) / 2
    return dirty, link_pattern_for(seed=seed, link_id=cloud_link.pk, longitude=longitude), cloud_link.bandwidth_bps


#: The limit that sets a migration's rate, in words (keys: the engine's `rate_limits().binding`).
LIMIT_LABELS = {
    "link": "the link's bandwidth (its share for this move)",
    "nic": "the hosts' migration NIC",
    "window": "the TCP window (socket buffers / RTT)",
    "loss": "packet loss (TCP over a lossy path)",
    "codec": "the WAN compression codec",
    "cipher": "the encryption cipher",
}


def prediction_dict(
    outcome: PrecopyResult, params: PrecopyParams, *, sharing: int = 1, forecast: Forecast | None = None
) -> dict[str, Any]:
    """The prediction as stored on the migration and shown: the engine's figures, the limit that sets the rate
    (with its arithmetic and what would lift it) and, with a forecast, its range and what it was based on."""
    share = outcome.share_bps if outcome.share_bps is not None else params.bandwidth_bps
    explained = outcome.params is not None
    prediction = {
        "rounds": len(outcome.rounds),
        "total_time_s": round(outcome.total_time_s, 3),
        "p10_total_time_s": round(forecast.p10_s, 3) if forecast else round(outcome.total_time_s, 3),
        "p90_total_time_s": round(forecast.p90_s, 3) if forecast else round(outcome.total_time_s, 3),
        "downtime_s": round(outcome.downtime_s, 4),
        "bytes_sent": outcome.bytes_sent,
        "storage_time_s": round(outcome.storage_time_s, 3),
        "outcome": outcome.outcome,
        "converged": outcome.converged,
        "reason": outcome.reason,
        "bandwidth_bps": share,
        "rate_bps": outcome.rate_bps,
        "limit": outcome.limit,
        "limit_label": LIMIT_LABELS.get(outcome.limit, outcome.limit),
        "limit_sentence": outcome.limit_sentence if explained else "",
        "advice": list(outcome.limit_advice) if explained else [],
        "sharing": sharing,
        "round_bytes": [r.bytes for r in outcome.rounds],
    }
    if forecast is not None:
        prediction |= {
            "dirty_rate_bps": round(forecast.dirty_rate_bps),
            "link_background": round(forecast.background, 4),
            "basis": forecast.basis,
            "analogues": forecast.analogues,
        }
    return prediction


def _short(outcome) -> dict[str, Any]:
    return {
        "rounds": len(outcome.rounds),
        "total_time_s": round(outcome.total_time_s, 3),
        "downtime_s": round(outcome.downtime_s, 4),
        "outcome": outcome.outcome,
        "converged": outcome.converged and outcome.ended_by == "converged",
    }


def _run(params: PrecopyParams, share_bps: float | None) -> PrecopyResult:
    """The engine alone at `params.bandwidth_bps`, or given `share_bps` of a link (the NIC then being a cap)."""
    if share_bps is None:
        return simulate_precopy(params)
    return PrecopySimulation(params, shared=True).run_to_end(share_bps)


def _transport_changes(params: PrecopyParams, limit: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Changes of the hosts' migration stack that lift `limit`: (kind, label, changed engine fields)."""
    changes: list[tuple[str, str, dict[str, Any]]] = []
    if limit == "window":
        changes.append(
            (
                "buffers",
                "Socket buffers tuned to the path (the bandwidth-delay product), as long-distance vMotion does",
                {"socket_buffer_bytes": None},
            )
        )
    if limit in ("window", "loss") and params.streams < 64:
        more = min(64, params.streams * 4)
        changes.append(("streams", f"{more} migration streams instead of {params.streams}", {"streams": more}))
    if limit == "codec":
        changes.append(
            ("codec", "Compression by a WAN optimiser on the link (not the hosts' CPU)", {"codec_rate_bps": None})
        )
    if limit == "cipher":
        faster = (params.cipher_rate_bps or 0.0) * 2
        changes.append(
            ("cipher", "A cipher twice as fast (AES-NI, more cores for encryption)", {"cipher_rate_bps": faster})
        )
    return changes


def suggestions(params: PrecopyParams, outcome: PrecopyResult) -> list[dict[str, Any]]:
    """What would make a move faster or make it converge within its budget, each with the engine's predicted
    outcome: a change of the hosts' migration stack when the transport sets the rate (window, loss, codec,
    cipher); a larger downtime budget, throttling or a faster link when pre-copy does not converge."""
    share = outcome.share_bps
    found: list[dict[str, Any]] = []
    # Lift the limit that sets the rate, when it is the transport's.
    for kind, label, change in _transport_changes(params, outcome.limit):
        r = _run(replace(params, **change), share)
        if r.total_time_s < outcome.total_time_s * 0.95:
            found.append({"kind": kind, "label": label, "change": change, "prediction": _short(r)})
    if outcome.converged and outcome.ended_by == "converged":
        return found
    # A larger downtime budget (the smallest that converges without slowing the guest).
    for budget in (0.5, 1.0, 2.0, 5.0, 10.0, 30.0):
        if budget <= params.max_downtime_s:
            continue
        r = _run(replace(params, max_downtime_s=budget, on_no_convergence="abort"), share)
        if r.converged:
            found.append(
                {
                    "kind": "budget",
                    "label": f"Raise the downtime budget to {format_duration(budget)}",
                    "change": {"max_downtime_s": budget},
                    "prediction": _short(r),
                }
            )
            break
    # Throttle the guest (auto-converge).
    if params.on_no_convergence != "throttle":
        r = _run(replace(params, on_no_convergence="throttle"), share)
        found.append(
            {
                "kind": "throttle",
                "label": "Throttle the guest when pre-copy stalls (policy 'throttle')",
                "change": {"policy": "throttle"},
                "prediction": _short(r) | {"converged": r.converged, "throttle": r.throttle},
            }
        )
    # A faster link (more bandwidth for this move).
    base = share if share is not None else params.bandwidth_bps
    for factor in (2, 4, 10):
        bigger = replace(params, bandwidth_bps=params.bandwidth_bps * factor, on_no_convergence="abort")
        r = _run(bigger, base * factor if share is not None else None)
        if r.converged:
            found.append(
                {
                    "kind": "link",
                    "label": f"A link {factor}× as fast ({format_bitrate(base * factor * 8)} for this move)",
                    "change": {"bandwidth_bps": base * factor},
                    "prediction": _short(r),
                }
            )
            break
    return found


def predict_move(move: Move, *, max_downtime_s: float, policy: str) -> None:
    """The engine's prediction for a move that passed its checks, with this move's share of the link in the world
    as the recent past shows it; warnings when the disk must be copied first or pre-copy would not converge, and
    suggestions when something would make it faster."""
    workload, source, destination, result = move.workload, move.source, move.destination, move.result
    sharing = [
        m
        for m in move.context.active(move.exclude_migration)
        if m.link_key == result.link_key and m.workload_id != workload.pk
    ]
    # Moves beyond the admission limit wait: the share is that of the moves that run at once.
    n = min(len(sharing) + 1, max(link_key_limit(source_host=source, cloud_link=move.link), 1))
    params = engine_params(
        workload=workload,
        bandwidth_bps=min(source.migration_bandwidth_bps, destination.migration_bandwidth_bps),
        max_downtime_s=max_downtime_s,
        policy=policy,
        compression_ratio=move.link.compression_ratio if move.link is not None else 1.0,
        disk_bytes=move.disk_bytes,
        source_host=source,
        destination_host=destination,
        cloud_link=move.link,
    )
    dirty, link_pattern, capacity = migration_world(workload=workload, source_host=source, cloud_link=move.link)
    forecast = forecast_precopy(
        params,
        start_s=last_telemetry_s(timezone.now().timestamp()),  # what is known ends at the last sample
        dirty=dirty if move.live else None,
        link=link_pattern,
        capacity_bps=capacity,
        sharing=n,
    )
    outcome = forecast.result
    result.bandwidth_bps = forecast.share_bps
    result.prediction = prediction_dict(outcome, params, sharing=n, forecast=forecast)
    if result.prediction["storage_time_s"] > 0:
        result.warnings.append(
            f"Host {destination.name} cannot see datastore {workload.datastore.name}, so the disk "
            f"({format_bytes(move.disk_bytes)}) is copied to {result.destination_datastore.name} first: about "
            f"{format_duration(result.prediction['storage_time_s'])} of disk transfer before the memory pre-copy."
        )
    if move.live and (not outcome.converged or outcome.ended_by != "converged" or outcome.limit in TRANSPORT_LIMITS):
        result.suggestions = suggestions(outcome.params, outcome)
        if not outcome.converged:
            result.warnings.append(
                f"Pre-copy would not converge within the {format_duration(max_downtime_s)} downtime budget: "
                f"{outcome.reason}"
            )

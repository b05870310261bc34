"""Simulated telemetry: CPU and memory use of workloads over time. Pure Python, deterministic for a seed.

Each workload gets a profile from hashes of (seed, its id, its host's id): a base load and a business-hours swing
for CPU, a resident share of memory with a smaller swing. The swing follows the local time of the workload's
site (longitude / 15 hours from UTC): a smooth peak from 08:00 to 19:00 on weekdays, a third of it at weekends.
Noise is a hash of (seed, workload, tick), so the same instant always gives the same value. A few hosts run hot
(every workload on them busier), and a few workloads are runaways (CPU-bound most of the day).

A host's CPU use is the sum of its workloads' busy vCPUs over its cores (capped at 100 %); its memory use is the
memory its workloads touch over its memory. A site adds its hosts up the same way.

The generator itself (the hash, the business day) is `migration.engine.world`'s, which also draws the dirty rates
and link traffic that migrations meet: one generator for the whole simulated world.
"""

from __future__ import annotations

from dataclasses import dataclass

from migration.engine.world import activity, unit

__all__ = ["activity", "host_is_hot", "pct", "profile_for", "unit", "use_at", "Profile"]

HOT_HOST_SHARE = 0.12
HOT_HOST_FACTOR = 1.45
RUNAWAY_SHARE = 0.03

SALT_PROFILE, SALT_HOST, SALT_NOISE, SALT_MEM = 1, 2, 3, 4


@dataclass(frozen=True, slots=True)
class Profile:
    """How one workload behaves: CPU base and swing (fractions of its vCPUs), memory base and swing (fractions of
    its memory), the hour offset of its site, and its multiplier (hot host, runaway)."""

    workload_id: int
    vcpus: int
    memory_bytes: float
    utc_offset_h: float
    cpu_base: float
    cpu_swing: float
    mem_base: float
    mem_swing: float
    factor: float


def host_is_hot(seed: int, host_id: int) -> bool:
    return unit(seed, SALT_HOST, host_id) < HOT_HOST_SHARE


def profile_for(
    *, seed: int, workload_id: int, host_id: int, vcpus: int, memory_bytes: float, longitude: float
) -> Profile:
    a, b, c, d = (unit(seed, SALT_PROFILE, workload_id, k) for k in range(4))
    runaway = unit(seed, SALT_PROFILE, workload_id, 9) < RUNAWAY_SHARE
    factor = (HOT_HOST_FACTOR if host_is_hot(seed, host_id) else 1.0) * (1.6 if runaway else 1.0)
    return Profile(
        workload_id=workload_id,
        vcpus=vcpus,
        memory_bytes=float(memory_bytes),
        utc_offset_h=longitude / 15.0,
        cpu_base=0.08 + 0.12 * a,
        cpu_swing=0.12 + 0.30 * b,
        mem_base=0.55 + 0.25 * c,
        mem_swing=0.04 + 0.12 * d,
        factor=factor,
    )


def use_at(profile: Profile, seed: int, t: float, tick: int, *, act: float | None = None) -> tuple[float, float]:
    """(busy vCPUs, memory bytes in use) of the workload at epoch second `t` (`tick` keys the noise)."""
    if act is None:
        act = activity(t, profile.utc_offset_h)
    noise = unit(seed, SALT_NOISE, profile.workload_id, tick) - 0.5
    cpu = (profile.cpu_base + profile.cpu_swing * act) * profile.factor * (1 + 0.35 * noise)
    cpu = min(1.0, max(0.01, cpu))
    mem_noise = unit(seed, SALT_MEM, profile.workload_id, tick // 6) - 0.5
    mem = profile.mem_base + profile.mem_swing * act + 0.04 * mem_noise
    mem = min(0.98, max(0.05, mem * (1.0 + (profile.factor - 1.0) * 0.4)))
    return cpu * profile.vcpus, mem * profile.memory_bytes


def pct(used: float, capacity: float) -> float:
    return round(min(100.0, 100.0 * used / capacity), 2) if capacity > 0 else 0.0

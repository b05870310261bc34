"""HybridCloud live-migration engine: pure Python, deterministic, standard library only.

Public API (benchmarks and outside validation call exactly this)::

    from migration.engine import PrecopyParams, simulate_precopy, LinkSpec, plan_wave
    from migration.engine import transport_rate_bps, rate_limits, RateLimits
    from migration.engine import DEFAULT_DOWNTIME_LIMIT_S  # the one downtime default (0.3 s)

plus the steppable core used by the Celery driver: :class:`PrecopySimulation` (``advance``,
``time_to_next_boundary``, ``to_state`` / ``from_state``). See docs/engine.md for the model.
"""

from .params import DEFAULT_DOWNTIME_LIMIT_S, POLICIES, PROFILES, LinkSpec, PrecopyParams
from .precopy import PrecopySimulation, simulate_precopy
from .results import Event, PrecopyResult, Round
from .transport import RateLimits, rate_limits, slow_start_s, transport_rate_bps
from .wave import WaveItem, WaveResult, fair_shares, plan_wave

__all__ = [
    "DEFAULT_DOWNTIME_LIMIT_S",
    "POLICIES",
    "PROFILES",
    "Event",
    "LinkSpec",
    "PrecopyParams",
    "PrecopyResult",
    "PrecopySimulation",
    "RateLimits",
    "Round",
    "WaveItem",
    "WaveResult",
    "fair_shares",
    "plan_wave",
    "rate_limits",
    "simulate_precopy",
    "slow_start_s",
    "transport_rate_bps",
]

"""Predicting a migration from the past only: the best estimate from recent telemetry, its range learnt from how wrong
the same estimate was at earlier start times (the last hours, the same hours yesterday).

The world (dirty rates, link traffic) is :mod:`migration.engine.world`'s; the engine run at constant rates is
:class:`~migration.engine.PrecopySimulation`. Used by the pre-checks (``migration.prechecks.prediction``) and
``bench/prediction_accuracy.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from .params import PrecopyParams
from .precopy import PrecopySimulation
from .results import PrecopyResult
from .world import SLOT_S, DirtyPattern, LinkPattern, background_at, dirty_rate_at


@dataclass(frozen=True, slots=True)
class Forecast:
    """A prediction made before the start from the recent past only.

    ``result`` is the engine's run at the best estimate (the means of the last ``window_s`` seconds: dirty rate
    ``dirty_rate_bps``, link background ``background``); ``p10_s`` / ``p90_s`` bound its total time; ``analogues``
    is how many earlier start times the range was learnt from; ``basis`` says all that in words.
    """

    result: PrecopyResult
    share_bps: float
    dirty_rate_bps: float
    background: float
    window_s: float
    p10_s: float
    p90_s: float
    analogues: int
    basis: str

    @property
    def total_time_s(self) -> float:
        return self.result.total_time_s


#: Earlier start times the range is learnt from: every 15 minutes over the last 4 hours, and the same hours a day
#: earlier (2 hours either side), each judged against what happened next.
ANALOGUE_STEP_S = 900.0
ANALOGUE_RECENT = 16
ANALOGUE_YESTERDAY = 16
#: Windows longer than this are read one minute in five (`_Series` stride).
COARSE_WINDOW_S = 1800.0
#: The range is never narrower than this either side of the best estimate: the analogues are judged at constant
#: (mean) rates, while the real run meets the minute-by-minute changes, which move a round boundary or two.
MODEL_ERROR = 0.025
#: The longest window the estimate averages over (and the longest horizon its range is judged on).
MAX_WINDOW_S = 4 * 3600.0


def _quantile(values: list[float], q: float) -> float:
    """Linear-interpolated quantile of a non-empty list."""
    xs = sorted(values)
    pos = q * (len(xs) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


class _Series:
    """A slot-wise constant function of time read once over [a, b) with prefix sums: any window mean in O(1).

    With ``stride`` k > 1 it reads one slot in k and lets it stand for the k slots of its block: long windows
    (hours) need their mean, not every minute, and cost k times less to read."""

    __slots__ = ("fn", "pattern", "block", "first", "prefix")

    def __init__(self, fn, pattern, a: float, b: float, stride: int = 1) -> None:
        self.fn, self.pattern = fn, pattern
        self.block = stride * SLOT_S
        self.first = math.floor(a / self.block + 1e-9)
        self.prefix = [0.0]
        for k in range(self.first, math.floor(b / self.block + 1e-9) + 1):
            self.prefix.append(self.prefix[-1] + fn(pattern, k * self.block))

    def _integral(self, t: float) -> float:
        """Integral from the first block's start to `t`."""
        k = math.floor(t / self.block + 1e-9) - self.first
        if k < 0 or k + 1 >= len(self.prefix):
            raise ValueError("outside the series")
        value = self.prefix[k + 1] - self.prefix[k]
        return self.prefix[k] * self.block + value * (t - (self.first + k) * self.block)

    def mean(self, a: float, b: float) -> float:
        if b - a <= 1e-9:
            return self.fn(self.pattern, a)
        return (self._integral(b) - self._integral(a)) / (b - a)


def _at(
    params: PrecopyParams,
    *,
    dirty: _Series | None,
    link: _Series | None,
    capacity_bps: float,
    sharing: int,
    a: float,
    b: float,
) -> tuple[PrecopyResult, float, float, float]:
    """The engine at constant rates: the means over epoch seconds [a, b]. Returns (result, share, dirty, bg)."""
    bg = link.mean(a, b) if link is not None else 0.0
    p = params if dirty is None else replace(params, dirty_rate_bps=dirty.mean(a, b))
    share = capacity_bps * (1.0 - bg) / max(1, sharing)
    result = PrecopySimulation(p, shared=True).run_to_end(share)
    return result, share, p.dirty_rate_bps, bg


#: A first guess of the duration is made from this many seconds of the recent past.
FIRST_GUESS_S = 900.0
#: The estimate averages at least this long a window (a few samples of telemetry).
MIN_WINDOW_S = 600.0
#: ... and judges the analogues on at least this long a horizon.
MIN_HORIZON_S = 60.0
DAY_S = 86_400.0

_Known = dict[str, "_Series | None"]


def _series(dirty: DirtyPattern | None, link: LinkPattern | None, a: float, b: float, stride: int = 1) -> _Known:
    """The dirty rate and the link background over epoch seconds [a, b], each read once (None: not varying)."""
    return {
        "dirty": _Series(dirty_rate_at, dirty, a, b, stride) if dirty is not None else None,
        "link": _Series(background_at, link, a, b, stride) if link is not None else None,
    }


def _analogue_ratios(
    params: PrecopyParams, start_s: float, window: float, horizon: float, known: dict[str, _Known], common: dict
) -> list[float]:
    """At each earlier start time s (``ANALOGUE_*``): the time the estimate gives from what came after s over the
    time it gives from what came before s."""
    half = ANALOGUE_YESTERDAY // 2
    starts = [(start_s - horizon - k * ANALOGUE_STEP_S, known["recent"]) for k in range(ANALOGUE_RECENT)]
    starts += [(start_s - DAY_S + k * ANALOGUE_STEP_S, known["yesterday"]) for k in range(-half, half)]
    ratios: list[float] = []
    for s, series in starts:
        before, *_ = _at(params, **series, **common, a=s - window, b=s)
        after, *_ = _at(params, **series, **common, a=s, b=s + horizon)
        if before.total_time_s > 0:
            ratios.append(after.total_time_s / before.total_time_s)
    return ratios


def _basis(window: float, rate: float, bg: float, analogues: int, *, dirty: bool, link: bool) -> str:
    """What the forecast rests on, in words."""
    parts = []
    if dirty:
        parts.append(f"the guest dirtied {rate / 1e6:,.1f} MB/s on average")
    if link:
        parts.append(f"other traffic took {bg:.0%} of the link")
    return (
        f"From the last {window / 60:,.0f} min of telemetry: " + (" and ".join(parts) or "nothing varies") + "; "
        f"the range is how far that estimate was off at {analogues} earlier start times (the last hours and "
        f"the same hours yesterday)."
    )


def forecast_precopy(
    params: PrecopyParams,
    *,
    start_s: float,
    dirty: DirtyPattern | None,
    link: LinkPattern | None,
    capacity_bps: float,
    sharing: int = 1,
) -> Forecast:
    """Predict a migration starting at epoch second `start_s`, knowing only the world before `start_s`.

    Best estimate: the engine run at the mean dirty rate and link background of the last W seconds, W the
    expected duration (at least ten minutes: a few samples of telemetry), the link shared by `sharing`
    migrations. Range: at each earlier start time s (``ANALOGUE_*``), the ratio of the time the same estimate
    would have given using what came *after* s to what it gave using what came before s; the 10th and 90th
    percentiles of those ratios, times the best estimate, are p10 and p90. Only times before `start_s` are read.
    """
    common = {"capacity_bps": capacity_bps, "sharing": sharing}
    # A first guess of the duration, from the last 15 minutes, sets how far back the estimate looks.
    last = _series(dirty, link, start_s - FIRST_GUESS_S, start_s)
    first, *_ = _at(params, **last, **common, a=start_s - FIRST_GUESS_S, b=start_s)
    window = min(max(first.total_time_s, MIN_WINDOW_S), MAX_WINDOW_S)
    horizon = min(max(first.total_time_s, MIN_HORIZON_S), MAX_WINDOW_S)
    half = ANALOGUE_YESTERDAY // 2
    stride = 5 if window > COARSE_WINDOW_S else 1
    known = {
        "recent": _series(dirty, link, start_s - horizon - ANALOGUE_RECENT * ANALOGUE_STEP_S - window, start_s, stride),
        "yesterday": _series(
            dirty,
            link,
            start_s - DAY_S - half * ANALOGUE_STEP_S - window,
            start_s - DAY_S + half * ANALOGUE_STEP_S + horizon,
            stride,
        ),
    }
    best, share, rate, bg = _at(params, **known["recent"], **common, a=start_s - window, b=start_s)
    ratios = _analogue_ratios(params, start_s, window, horizon, known, common)
    total = best.total_time_s
    low = _quantile(ratios, 0.10) if ratios else 1.0
    high = _quantile(ratios, 0.90) if ratios else 1.0
    p10 = total * min(low, 1.0 - MODEL_ERROR)
    p90 = total * max(high, 1.0 + MODEL_ERROR)
    basis = _basis(window, rate, bg, len(ratios), dirty=dirty is not None, link=link is not None)
    return Forecast(best, share, rate, bg, window, p10, p90, len(ratios), basis)

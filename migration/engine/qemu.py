"""The ``"qemu"`` engine profile: QEMU's own pre-copy rules where they differ from the textbook model.

Read in QEMU 7.2's source: the ``qemu_7.2+dfsg`` Debian source package these machines run
(``apt-get source qemu=1:7.2+dfsg-7+deb12u18``: upstream v7.2.0, whose stable patches v7.2.1-v7.2.22
do not touch any function cited here), files ``migration/migration.c``, ``migration/ram.c``,
``migration/qemu-file.c`` and ``softmmu/cpu-throttle.c``; checked against real migrations
(``bench/qemu``, docs/engine.md "Calibration against real QEMU"):

1. **A pass ends before it is empty.** ``migration.c: migration_iteration_run`` asks
   ``qemu_savevm_state_pending(threshold_size)``; ``ram.c: ram_save_pending`` syncs the dirty bitmap
   (``migration_bitmap_sync_precopy``) as soon as what is pending (``migration_dirty_pages x page
   size``, zero pages included) is below ``threshold_size``, so the unsent tail of the pass merges
   with the pages dirtied meanwhile into the next pass. The pending test is made once per call of
   ``migration_iteration_run``: ``ram.c: ram_save_iterate`` sends until ``qemu_file_rate_limit`` says
   the window's ``max-bandwidth / XFER_LIMIT_RATIO`` bytes are used (then ``migration.c:
   migration_rate_limit`` sleeps to the end of the ``BUFFER_DELAY`` = 100 ms window) or until
   ``MAX_WAIT`` = 50 ms have passed (checked every 64 pages; no sleep follows, the rate limit was not
   reached). So the step between two tests is one window of ``max-bandwidth`` when the rate limiter
   binds (:data:`ITERATION_STEP_S`) and :data:`MAX_WAIT_S` of the path's rate when the path is slower
   (TCP window, a shared link): the tail is what the fewest whole steps leave below the threshold, and
   a short pass near the end keeps most of itself as tail, so QEMU syncs again. One pass = one bitmap
   sync: ``dirty-sync-count`` = passes + 2 (``ram.c: ram_init_bitmaps`` at setup, ``ram_save_complete``).
2. **The completion test uses the bandwidth measured in the last window** (``migration.c:
   migration_update_counters``, at most once per ``BUFFER_DELAY``: ``threshold_size = bandwidth x
   downtime-limit`` with bandwidth = bytes written in the window / its length). Windows run across
   pass boundaries (a pass that empties mid-window is followed at once by the sync and the next
   pass), so the measured bandwidth is the pass rate, whatever the length of the pass; not the rate of
   the stop-and-copy. Stop-and-copy when pending (memory bytes, zero pages included) < threshold.
3. **The stop-and-copy is not held to max-bandwidth** (``migration.c: migration_completion`` calls
   ``qemu_file_set_rate_limit(INT64_MAX)`` before ``qemu_savevm_state_complete_precopy``): it runs at
   ``switchover_bandwidth_bps`` (the path's line rate; QEMU 8.2 calls its estimate
   ``avail-switchover-bandwidth``) capped by the transport's TCP limits, when that is given.
4. **Auto-converge has its own trigger** (``ram.c: migration_bitmap_sync`` ->
   ``migration_trigger_throttle`` -> ``mig_throttle_guest_down``): at a bitmap sync more than 1 s
   (``end_time > time_last_bitmap_sync + 1000``) after the start of the current period, if the bytes
   dirtied in the period (``num_dirty_pages_period``: pages *newly* set in the migration bitmap by
   ``ramblock_sync_dirty_bitmap``, so pages of the unsent tail dirtied again do not count) exceed
   ``throttle-trigger-threshold`` (50 %) of the bytes transferred in it (``ram_counters.transferred``),
   ``dirty_rate_high_cnt`` is incremented (never reset by a quiet period); when it reaches 2 it is
   reset and the throttle starts at ``cpu-throttle-initial`` (20 %) or grows by
   ``cpu-throttle-increment`` (10 %), at most ``max-cpu-throttle`` (99 %; ``cpu_throttle_set`` clamps
   to 1-99). ``cpu-throttle-tailslow`` (off by default, not modelled) would shrink the last steps.
   The period's counters restart whenever the 1 s test passes. No round or volume cap is involved;
   the throttle holds until the end (``migration_iteration_finish`` -> ``cpu_throttle_stop``). The
   vCPU then runs (1 - throttle) of the time (``softmmu/cpu-throttle.c: cpu_throttle_thread`` sleeps
   ``pct / (1 - pct) x 10 ms`` per tick, ``cpu_throttle_timer_tick`` ticks every ``10 ms / (1 - pct)``),
   so a CPU-bound guest dirties at ``rate x (1 - throttle)``. The first period starts at the setup's
   sync (``ram_init_bitmaps``), here at the end of setup, where that sync is.
5. **Setup** (``migration_thread`` up to the first pass: ``qemu_savevm_state_setup`` ->
   ``ram_save_setup``: dirty-log start, first bitmap sync) costs :data:`SETUP_S` before any byte of
   memory moves (the ``setup-time`` QEMU reports: median of the committed calibration runs,
   0.10-0.45 s on this shared 2-core TCG host).

Without auto-converge QEMU iterates for ever on a guest that does not converge; the engine then
applies ``on_no_convergence`` (``"force"`` / ``"abort"``) at the generic caps (``max_rounds``,
``max_total_factor``). With auto-converge, ``max_rounds + max_throttle_rounds`` passes are a hard
bound after which the stop-and-copy is forced.

These functions are the profile's half of :class:`~migration.engine.precopy.PrecopySimulation`;
they read and write its state and are called only from its hooks.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING

from .params import PrecopyParams
from .transport import own_wire_limits

if TYPE_CHECKING:
    from .precopy import Event, PrecopySimulation

#: ``BUFFER_DELAY`` (100 ms, migration/migration.c): the rate limiter's window. When ``max-bandwidth``
#: binds, one iteration step sends one window of it and sleeps to the window's end
#: (``migration_rate_limit``); the pending test is made between steps, so a pass's tail is what its
#: whole steps leave below ``threshold_size`` (:func:`start_pass`).
ITERATION_STEP_S = 0.1
#: ``MAX_WAIT`` (50 ms, migration/ram.c: ``ram_save_iterate``): when the path is slower than
#: ``max-bandwidth`` the rate limit is never reached, and a step ends after this long instead.
MAX_WAIT_S = 0.05
#: QEMU's setup-time before the first pass (seconds): median of bench/qemu/results (0.10-0.45 s).
SETUP_S = 0.26
#: ``throttle-trigger-threshold`` (percent of the bytes transferred in a period), QEMU's default.
THROTTLE_TRIGGER_THRESHOLD = 0.50
#: ``migration_bitmap_sync`` evaluates the trigger only once a period is longer than this.
SYNC_PERIOD_S = 1.0
#: A period counts as longer than :data:`SYNC_PERIOD_S` only beyond this margin: a pass that ends exactly one period
#: after the last sync (a round number of bytes at a round rate) must not have its trigger decided by the last bit of
#: a float, which differs between stepping a migration and timing it in a wave's virtual time (found by
#: tests/migration/test_engine_shared_link.py: 15 ms of difference in a move's end).
SYNC_PERIOD_MARGIN_S = 1e-9
#: Over-threshold periods needed for each throttle step (``dirty_rate_high_cnt >= 2``).
HIGH_PERIODS_PER_STEP = 2


@functools.lru_cache(maxsize=4096)
def switchover_rate_bps(params: PrecopyParams) -> float | None:
    """Wire bytes/s of QEMU's stop-and-copy: ``switchover_bandwidth_bps`` capped by the TCP limits
    (window, loss), the codec and the cipher; None when ``switchover_bandwidth_bps`` is not given."""
    if params.switchover_bandwidth_bps is None:
        return None
    limits = own_wire_limits(params)
    limits.pop("nic", None)  # max-bandwidth (the NIC cap here) is lifted for the stop-and-copy
    return min([float(params.switchover_bandwidth_bps), *limits.values()])


def pass_rate(sim: PrecopySimulation, bw: float) -> float:
    """Memory bytes/s of a pass at share ``bw`` (what QEMU measures as its bandwidth)."""
    return (bw if bw < sim._cap else sim._cap) * sim._c


def threshold_bytes(sim: PrecopySimulation, bw: float) -> float:
    """``threshold_size`` (``migration_update_counters``): the bandwidth QEMU measured in its last
    window, i.e. the pass rate (:func:`pass_rate`), x ``downtime-limit``."""
    return pass_rate(sim, bw) * sim.params.max_downtime_s


def step_bytes(sim: PrecopySimulation, bw: float) -> float:
    """What one iteration step sends between two pending tests: a window of ``max-bandwidth`` when
    the rate limiter binds, else :data:`MAX_WAIT_S` at the (slower) pass rate (rule 1)."""
    rate = pass_rate(sim, bw)
    if rate < sim._given.bandwidth_bps * sim._c:
        return rate * MAX_WAIT_S
    return rate * ITERATION_STEP_S


def stop_rate(sim: PrecopySimulation, bw: float) -> float:
    """Memory bytes/s of the stop-and-copy (rule 3); the generic rate when no line rate is given or
    the migration has less than its own bandwidth (a shared link)."""
    line = switchover_rate_bps(sim.params)
    if line is None or bw < sim.params.bandwidth_bps:
        return pass_rate(sim, bw)
    return line * sim._c


def fits(sim: PrecopySimulation, bw: float) -> bool:
    """Completion test (rule 2): pending memory bytes, zero pages included, below ``threshold_size``."""
    return sim._dirty < threshold_bytes(sim, bw)


def start_pass(sim: PrecopySimulation) -> None:
    """Rule 1: the pass that starts sends until what is left of it is below ``threshold_size``;
    that tail waits for the next bitmap sync. The pending test is made once per iteration step
    (:func:`step_bytes`), so the tail is what the fewest whole steps leave below the threshold (a
    pass already below it on entry keeps all of it).

    The tail is made of written pages (the guest's working set is where a pass ends: measured, the
    first pass's tail and the working set overlapped): in the first pass the zero pages all fall in
    the part sent, so its wire cost per byte is set to keep the pass's total at
    ``memory x (1 - zero_page_fraction)``. The first pass also opens the first throttle period."""
    if not sim._rounds:
        sim._period_start = sim._elapsed
    bw = sim._decision_bw
    whole = sim._r_bytes
    threshold = threshold_bytes(sim, bw)
    step = step_bytes(sim, bw)
    # Whole steps: the pending test is made at the start of each step and every step sends the
    # same, so the tail is what is left after the fewest whole steps that bring
    # the pending bytes below the threshold (not a fixed threshold - step: a short pass's tail is
    # the pass less one step, which is what keeps QEMU syncing near the end).
    if whole <= threshold or step <= 0.0:
        tail = whole
    else:
        steps = math.ceil((whole - threshold) / step * (1.0 - 1e-12))
        if whole - steps * step >= threshold:
            steps += 1
        tail = whole - steps * step
        if tail < 0.0:
            tail = 0.0
    if sim._k < 1.0 and whole > tail:
        sim._k = max(0.0, whole * sim._k - tail) / (whole - tail)
    sim._tail = tail
    sim._r_bytes = whole - tail


def end_pass(sim: PrecopySimulation, dirtied: float) -> None:
    """At the bitmap sync that ends a pass: merge its tail with the newly dirtied pages (rule 1) and
    run the auto-converge trigger (rule 4)."""
    # Trigger input (migration_trigger_throttle): wire bytes this pass put in the period.
    sim._period_xfer += sim._rounds[-1].bytes * sim._k
    tail = sim._tail
    # The tail and the dirtied pages are both pages of the working set: their union is bounded by it.
    sim._dirty = min(tail + dirtied, max(sim._ws, tail))
    # num_dirty_pages_period counts the pages newly set in the bitmap: not those of the tail again.
    sim._period_dirty += sim._dirty - tail
    sim._k = 1.0
    sim._tail = 0.0
    if sim._elapsed - sim._period_start > SYNC_PERIOD_S + SYNC_PERIOD_MARGIN_S:
        p = sim.params
        if p.on_no_convergence == "throttle" and sim._period_dirty > THROTTLE_TRIGGER_THRESHOLD * sim._period_xfer:
            sim._high_cnt += 1
            if sim._high_cnt >= HIGH_PERIODS_PER_STEP:
                sim._high_cnt = 0
                _throttle_down(sim)
        sim._period_start = sim._elapsed
        sim._period_xfer = 0.0
        sim._period_dirty = 0.0


def _throttle_down(sim: PrecopySimulation) -> None:
    """``mig_throttle_guest_down``: start at cpu-throttle-initial, else add cpu-throttle-increment."""
    p = sim.params
    if not sim._throttle_on:
        sim._throttle_on = True
        sim._policy = "throttle"
        sim._throttle = p.throttle_initial
    else:
        sim._throttle = min(round(sim._throttle + p.throttle_increment, 12), p.throttle_max)


def decide(sim: PrecopySimulation, bw: float, events: list[Event] | None) -> None:
    """After each pass (and before the first): stop-and-copy, another pass (at the current
    throttle), or, without auto-converge, the generic caps and policy."""
    p = sim.params
    if fits(sim, bw):
        sim._converged = True
        sim._start_stopcopy(events)
        return
    if p.on_no_convergence == "throttle":
        if len(sim._rounds) - sim._cap_round0 >= p.max_rounds + p.max_throttle_rounds:
            sim._ended_by = "max_rounds"
            sim._cap_sent = sim._mem_done
            sim._policy = "throttle"
            sim._start_stopcopy(events)  # hard bound: auto-converge could not make it converge
            return
        sim._start_round(sim._throttle, events)
        return
    cap = sim._cap_reached()
    if cap is None:
        sim._start_round(0.0, events)
        return
    sim._ended_by = cap
    sim._cap_sent = sim._mem_done
    sim._policy = p.on_no_convergence
    if sim._policy == "force":
        sim._start_stopcopy(events)
    else:
        sim._finish(events, aborted=True)


def reason_clause(p: PrecopyParams, throttle: float, throttled_rounds: int) -> str:
    """What auto-converge did, in words (empty when it never throttled)."""
    if throttle <= 0.0:
        return ""
    return (
        f" QEMU auto-converge throttled the guest's vCPUs up to {throttle:.0%} over {throttled_rounds} "
        f"pass{'es' if throttled_rounds != 1 else ''} (its own trigger: a period of at least "
        f"{SYNC_PERIOD_S:g} s in which the guest dirtied more than {THROTTLE_TRIGGER_THRESHOLD:.0%} of what was "
        f"sent, twice per step of {p.throttle_increment:.0%} after {p.throttle_initial:.0%})."
    )

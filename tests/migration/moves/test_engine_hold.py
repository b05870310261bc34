"""The engine's switchover hold: pre-copy keeps syncing while held, and switches over once released."""

import pytest

from hybridcloud.core.units import GIB
from migration.engine import PrecopySimulation
from migration.engine.params import PrecopyParams


@pytest.mark.parametrize("profile", ["generic", "qemu"])
@pytest.mark.parametrize("policy", ["throttle", "abort", "force"])
def test_held_migration_keeps_syncing_and_switches_over_only_when_released(profile: str, policy: str) -> None:
    params = PrecopyParams(
        memory_bytes=4 * GIB, bandwidth_bps=125e6, dirty_rate_bps=20e6, working_set_bytes=GIB,
        on_no_convergence=policy, profile=profile,
    )  # fmt: skip
    sim = PrecopySimulation(params)
    sim.hold_switchover(True)
    for _ in range(600):  # 600 s: far beyond the ~40 s it needs unheld, and beyond every cap
        sim.advance(1.0, 125e6)
        assert sim.phase == "precopy"
    assert not sim.done
    rounds = len(sim.rounds)
    assert rounds >= 15  # it kept running passes, ~30 s each
    # It sends what the guest dirtied (20 MB/s at most), not the link's 125 MB/s share: memory once, then what was
    # dirtied since (QEMU's auto-converge, which goes on judging passes while held, slows the guest down further).
    dirtied = sum(r.dirtied_bytes for r in sim.rounds)
    assert sim.memory_sent_bytes <= 4 * GIB + dirtied + 1.0 and dirtied <= 20e6 * 600
    if not (profile == "qemu" and policy == "throttle"):
        assert sim.bytes_sent > 4 * GIB + 0.8 * 20e6 * 560
    # A state saved while held comes back held.
    again = PrecopySimulation.from_state(sim.to_state())
    assert again.switchover_held
    again.advance(10.0, 125e6)
    assert again.phase == "precopy"
    again.hold_switchover(False)
    for _ in range(200):
        again.advance(1.0, 125e6)
        if again.done:
            break
    assert again.done and again.result().outcome in ("converged", "forced")


def test_a_held_pass_takes_time_even_at_no_bandwidth_and_for_an_idle_guest() -> None:
    sim = PrecopySimulation(PrecopyParams(memory_bytes=GIB, bandwidth_bps=1e9, dirty_rate_bps=0.0))
    sim.hold_switchover(True)
    sim.advance(30.0, 1e9)
    sim.advance(60.0, 1e9)
    # Round 0 (~1.07 s), then passes of 30 s at the share: never an endless loop of empty passes.
    assert sim.phase == "precopy" and 3 <= len(sim.rounds) <= 4
    sim.advance(5.0, 0.0)
    assert sim.phase == "precopy"


def test_a_state_saved_before_the_hold_existed_reads_as_not_held() -> None:
    sim = PrecopySimulation(PrecopyParams(memory_bytes=GIB, bandwidth_bps=1e9))
    state = sim.to_state()
    del state["hold"]
    assert not PrecopySimulation.from_state(state).switchover_held


@pytest.mark.parametrize("profile", ["generic", "qemu"])
def test_a_held_quiet_guest_sends_what_it_dirties_not_its_share_of_the_link(profile: str) -> None:
    """A guest dirtying 1 MB/s, held for ten minutes on a 125 MB/s link: after its first copy it sends about
    1 MB/s (each 30 s pass carries the 30 MB dirtied meanwhile), and waits out its passes without the link."""
    params = PrecopyParams(
        memory_bytes=GIB, bandwidth_bps=125e6, dirty_rate_bps=1e6, working_set_bytes=GIB / 4, profile=profile,
        on_no_convergence="force",  # no auto-converge: the guest keeps its 1 MB/s
    )  # fmt: skip
    sim = PrecopySimulation(params)
    sim.hold_switchover(True)
    sim.advance(60.0, 125e6)
    at_60 = sim.bytes_sent
    waiting = 0
    for _ in range(540):
        sim.advance(1.0, 125e6)
        waiting += not sim.consumes_bandwidth
        assert sim.phase == "precopy"
    sent = sim.bytes_sent - at_60
    assert 0.8 * 1e6 * 540 < sent < 1.2 * 1e6 * 540  # before the fix: ~30 s x 125 MB/s per pass, 67 GB
    assert waiting > 500  # each pass sends its ~30 MB in a quarter second, then waits
    assert all(r.bytes < 40e6 for r in sim.rounds[1:])
    sim.hold_switchover(False)  # released during a wait: the switchover follows at once
    sim.advance(1.0, 125e6)
    assert sim.done and sim.result().outcome == "converged"

"""The driver: one short step of every running migration that shares a link, together.

A link is a WAN `CloudLink` between sites, or a source host's migration NIC inside a site (`link_key`). A step
covers the wall time since the link's previous step (at most `MAX_STEP_WALL_S`), scaled by each migration's
`simulation_speed`, and runs through the world (`migration.engine.world`): the link's bandwidth less its
background traffic is shared fairly (water-filling, each migration capped by its own transport rate: its hosts'
NICs, TCP streams over the link's RTT and loss, codec, cipher), re-shared at every boundary (a round, a
switchover, an end) and every minute of the world, and each pre-copy round is charged the guest's real dirty rate
over that round, so the run is not the prediction replayed. A migration's world clock is its start time plus its
simulated seconds; the link's background is read on the clock of the oldest migration on it.

Each migration's engine is restored from and saved to `Migration.engine_state`, so a step
that dies half-way is simply taken again by the next worker. Writes are conditional on the row's state and
`seq`: a cancel (or anything else) that got there first wins and the step's result for that row is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest, Least
from django.utils import timezone

from hybridcloud.core import events
from inventory.addresses import NoFreeAddress, allocate_ip
from inventory.choices import HostState
from inventory.models import Datastore, Workload
from migration import progress
from migration.choices import RUNNING_STATES, MigrationKind, MigrationState
from migration.engine import PrecopySimulation
from migration.engine.world import LinkPattern, WorldRun, advance_in_world
from migration.models import Migration, MigrationEvent, MigrationRound
from migration.prechecks import engine_params, migration_world
from migration.services import migration_fail, migrations_admit_queued
from migration.signals import workload_moved
from migration.step_writes import StepWrite, step_write, update_rows, write_steps

logger = logging.getLogger(__name__)

#: Wall-clock seconds between two steps of a link.
STEP_INTERVAL_S = 0.25
#: A step never covers more wall time than this (a worker back from a pause does not jump ahead).
MAX_STEP_WALL_S = 1.0


class _WorkloadMovedElsewhere(Exception):
    pass


#: A switchover gate takes the running migrations of one step and the time, and answers, for the migrations it
#: governs, None (hold the switchover: pre-copy keeps syncing) or a sentence (stop the migration before its
#: switchover, saying why). A higher layer plugs its gate in (migration.moves: maintenance windows).
SwitchoverGate = Callable[[list[Migration], datetime], dict[int, str | None]]
_switchover_gates: list[SwitchoverGate] = []


def register_switchover_gate(gate: SwitchoverGate) -> None:
    """Plug a switchover gate in (once: registering it again changes nothing)."""
    if gate not in _switchover_gates:
        _switchover_gates.append(gate)


#: Called with the ids of the migrations that ended in a step, after it committed (migration.moves: start a group's
#: next members at once rather than at its next tick).
_end_hooks: list[Callable[[list[int]], None]] = []


def register_migration_end_hook(hook: Callable[[list[int]], None]) -> None:
    """Plug in a function called with the ids of the migrations a step ended (once: again changes nothing)."""
    if hook not in _end_hooks:
        _end_hooks.append(hook)


def _migrations_ended(ids: list[int]) -> None:
    for hook in _end_hooks:
        try:
            hook(ids)
        except Exception:  # noqa: BLE001 - the step is done; a hook that fails must not undo it
            logger.exception("migration end hook %r failed", hook)


def switchover_verdicts(migrations: list[Migration], now: datetime) -> dict[int, str | None]:
    """Every gate's verdicts together; a stop wins over a hold. A gate that fails holds nothing (logged)."""
    verdicts: dict[int, str | None] = {}
    for gate in _switchover_gates:
        try:
            answer = gate(migrations, now)
        except Exception:  # noqa: BLE001 - a broken gate must not stop the link's migrations
            logger.exception("switchover gate %r failed", gate)
            continue
        for pk, verdict in answer.items():
            if verdicts.get(pk) is None:
                verdicts[pk] = verdict
    return verdicts


def nic_cap(migration: Migration) -> float:
    return min(migration.source_host.migration_bandwidth_bps, migration.destination_host.migration_bandwidth_bps)


def new_simulation(migration: Migration) -> PrecopySimulation:
    link = migration.cloud_link
    return PrecopySimulation(
        engine_params(
            workload=migration.workload,
            bandwidth_bps=nic_cap(migration),
            max_downtime_s=migration.max_downtime_s,
            policy=migration.policy,
            compression_ratio=link.compression_ratio if link is not None else 1.0,
            disk_bytes=migration.disk_bytes,
            source_host=migration.source_host,
            destination_host=migration.destination_host,
            cloud_link=link,
        ),
        shared=True,
    )


def world_run(migration: Migration, sim: PrecopySimulation, now) -> tuple[WorldRun, LinkPattern | None, float]:
    """The migration in its world: its run (clock origin: its start, or now for its first step), its link's
    background pattern and the capacity that background shares."""
    dirty, link, capacity = migration_world(
        workload=migration.workload, source_host=migration.source_host, cloud_link=migration.cloud_link
    )
    origin = (migration.started_at or now).timestamp()
    cold = migration.kind == MigrationKind.COLD
    return WorldRun(sim, origin, None if cold else dirty, speed=migration.simulation_speed), link, capacity


def advance_together(
    sims: list[PrecopySimulation], caps: list[float], speeds: list[float], capacity: float, wall_s: float
) -> list[list]:
    """Advance `sims` over `wall_s` wall seconds at constant rates, sharing `capacity` fairly and re-sharing at each
    boundary (no varying world: planners that compare against the engine use this). Each simulation is capped at
    its own transport rate; `caps` are kept for callers and must not exceed it."""
    runs = [WorldRun(sim, 0.0, None, speed=speed) for sim, speed in zip(sims, speeds, strict=True)]
    return advance_in_world(runs, capacity_bps=capacity, link=None, wall_s=wall_s)


def step_link(link_key: str) -> int:
    """Advance every running migration on `link_key` by one step; return how many still run on it."""
    now = timezone.now()
    running, runs, capacity, pattern = _runnable(_running_on(link_key), now)
    if not running:
        migrations_admit_queued()
        return 0
    previous = [m.last_step_at for m in running if m.last_step_at is not None]
    wall_s = min(max((now - max(previous)).total_seconds(), 0.0), MAX_STEP_WALL_S) if previous else 0.0
    before = [(run.sim.bytes_sent, run.sim.elapsed_s) for run in runs]
    engine_events = advance_in_world(runs, capacity_bps=capacity, link=pattern, wall_s=wall_s)
    writes = []
    for migration, run, evs, was in zip(running, runs, engine_events, before, strict=True):
        try:
            writes.append(step_write(migration, run, evs, now, was))
        except Exception:  # noqa: BLE001 - one broken row must not stop the others on the link
            logger.exception("could not take the step of migration %s", migration.pk)
    with events.batch():  # the step's pushes leave together, after its commits
        written = _write(writes)
        _announce_step(link_key, written)
    ended = [w.migration.pk for w in written if w.ended]
    if ended:
        migrations_admit_queued()
        _migrations_ended(ended)
    return len(running) - len(ended)


def _running_on(link_key: str) -> list[Migration]:
    return list(
        Migration.objects.filter(link_key=link_key, state__in=RUNNING_STATES)
        .select_related(
            "workload",
            "source_host__cluster__site",
            "destination_host",
            "cloud_link__site_a",
            "cloud_link__site_b",
            "destination_segment",
        )
        .order_by("pk")
    )


def _runnable(migrations: list[Migration], now) -> tuple[list[Migration], list[WorldRun], float, LinkPattern | None]:
    """The migrations that go on (the others are failed, saying why), their runs in their world, and the capacity
    and background pattern of the link (read on the oldest one's)."""
    running: list[Migration] = []
    runs: list[WorldRun] = []
    pattern, capacity = None, 0.0
    gates = switchover_verdicts(migrations, now) if migrations else {}
    for migration in migrations:
        sim = _simulation(migration, gates)
        if sim is None:
            continue
        run, link_pattern, cap = world_run(migration, sim, now)
        if not running:
            pattern, capacity = link_pattern, cap
        running.append(migration)
        runs.append(run)
    return running, runs, capacity, pattern


def _simulation(migration: Migration, gates: dict[int, str | None]) -> PrecopySimulation | None:
    """The migration's engine as its last step left it (a new one for its first), its switchover held or not by the
    gates; None when it cannot go on (failed, saying why)."""
    # The destination must stay usable until the switchover commits.
    dest = migration.destination_host
    if migration.state != MigrationState.SWITCHOVER and dest.state != HostState.CONNECTED:
        migration_fail(
            migration_id=migration.pk,
            from_states=(MigrationState.PRECHECKS, MigrationState.PRECOPY),
            reason=f"Host {dest.name} went {dest.get_state_display().lower()} during the migration; "
            f"{migration.workload.name} stays on its source host {migration.source_host.name}.",
        )
        return None
    try:
        sim = PrecopySimulation.from_state(migration.engine_state) if migration.engine_state else None
        sim = sim or new_simulation(migration)
    except (ValueError, KeyError, TypeError) as exc:
        migration_fail(
            migration_id=migration.pk,
            from_states=RUNNING_STATES,
            reason=f"The migration's saved progress could not be read ({exc}); the workload stays on its source.",
        )
        return None
    if migration.state != MigrationState.SWITCHOVER:
        verdict = gates.get(migration.pk, "")
        stops = (MigrationState.PRECHECKS, MigrationState.PRECOPY)
        if verdict and migration_fail(migration_id=migration.pk, from_states=stops, reason=verdict):
            return None
        sim.hold_switchover(migration.pk in gates and verdict is None)
    return sim


def _write(writes: list[StepWrite]) -> list[StepWrite]:
    """The step's rows: all in one statement, but a completing one on its own with the workload's move (which may
    fail for it alone: the workload left its host meanwhile)."""
    written = write_steps([w for w in writes if w.state != MigrationState.COMPLETED])
    for write in writes:
        if write.state == MigrationState.COMPLETED and _write_completion(write):
            written.append(write)
    for write in written:
        write.applied()
    return written


def _write_completion(write: StepWrite) -> bool:
    migration = write.migration
    try:
        with transaction.atomic():
            if not update_rows([write]):
                logger.warning("step of migration %s refused: the row changed since this step read it", migration.pk)
                return False
            _move_workload(migration)
            MigrationRound.objects.bulk_create(write.rounds, ignore_conflicts=True)
            MigrationEvent.objects.bulk_create(write.events)
    except _WorkloadMovedElsewhere:
        migration_fail(
            migration_id=migration.pk,
            from_states=RUNNING_STATES,
            reason=f"{migration.workload.name} left host {migration.source_host.name} during the migration "
            f"(moved by someone else); the migration stops.",
        )
        return False
    transaction.on_commit(lambda: _announce_move(migration))
    return True


def _announce_step(link_key: str, written: list[StepWrite]) -> None:
    """One push for the pages of the link's migrations (each message numbered from the row's seq as the step read
    it; the rounds ride on each migration's last), after the step's commit."""
    messages: dict[int, list[dict]] = {}
    for write in written:
        rounds = [r.as_dict() for r in write.rounds]
        for offset, (kind, state) in enumerate(write.messages):
            last = offset == len(write.messages) - 1
            message = progress.progress_message(
                write.migration, kind, seq=write.old_seq + 1 + offset, state=state, new_rounds=rounds if last else None
            )
            if message is not None:
                messages.setdefault(write.migration.pk, []).append(message)
    progress.publish_link_step(link_key, messages)


def _move_workload(migration: Migration) -> None:
    """Put the workload on its destination host (and datastore, and segment when re-addressed). Part of the
    transaction that marks the migration completed."""
    changes: dict = {
        "host_id": migration.destination_host_id,
        "datastore_id": migration.destination_datastore_id,
        "updated_at": timezone.now(),
    }
    if migration.destination_segment_id:
        changes["segment_id"] = migration.destination_segment_id
        changes["ip_address"] = _free_address(migration)
    moved = Workload.objects.filter(pk=migration.workload_id, host_id=migration.source_host_id).update(**changes)
    if not moved:
        raise _WorkloadMovedElsewhere
    if migration.destination_datastore_id != migration.source_datastore_id:
        disk = migration.workload.disk_bytes
        Datastore.objects.filter(pk=migration.source_datastore_id).update(
            used_bytes=Greatest(F("used_bytes") - disk, 0)
        )
        Datastore.objects.filter(pk=migration.destination_datastore_id).update(
            used_bytes=Least(F("used_bytes") + disk, F("capacity_bytes"))
        )


def _announce_move(migration: Migration) -> None:
    """After the move commits: a container-VM's history records the move, and the workloads pages refresh (one
    workload push on the activity channel: the container's own change signal sends it for a container-VM, the driver
    for anything else). Neither may fail the (already committed) migration."""
    if _workload_moved_announced(migration):
        return
    progress.publish_workload_change(workload_id=migration.workload_id, action="moved")


def _workload_moved_announced(migration: Migration) -> bool:
    """Sends `workload_moved`; True when a receiver announced the move itself. A receiver that fails is logged: the
    history is a record, the move itself is done."""
    announced = False
    for receiver, response in workload_moved.send_robust(sender=Migration, migration=migration):
        if isinstance(response, Exception):
            logger.error(
                "workload_moved receiver %r failed for workload %s",
                receiver,
                migration.workload_id,
                exc_info=(type(response), response, response.__traceback__),
            )
        elif response is True:
            announced = True
    return announced


def _free_address(migration: Migration) -> str:
    """The re-addressed workload's address on its destination segment (inventory's one allocator)."""
    try:
        return allocate_ip(migration.destination_segment)
    except NoFreeAddress:
        raise _WorkloadMovedElsewhere from None

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
from contextlib import nullcontext
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Greatest, Least
from django.utils import timezone

from inventory.addresses import NoFreeAddress, allocate_ip
from inventory.choices import HostState
from inventory.models import Datastore, Workload
from migration import progress
from migration.choices import RUNNING_STATES, EventKind, MigrationKind, MigrationState
from migration.engine import PrecopySimulation, rate_limits
from migration.engine.world import LinkPattern, WorldRun, advance_in_world
from migration.models import Migration, MigrationEvent, MigrationRound
from migration.prechecks import engine_params, migration_world
from migration.services import migration_fail, migrations_admit_queued
from migration.signals import workload_moved

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
    migrations = list(
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
    running: list[Migration] = []
    runs: list[WorldRun] = []
    link_pattern, capacity = None, 0.0
    gates = switchover_verdicts(migrations, now) if migrations else {}
    for migration in migrations:
        # The destination must stay usable until the switchover commits.
        dest = migration.destination_host
        if migration.state != MigrationState.SWITCHOVER and dest.state != HostState.CONNECTED:
            migration_fail(
                migration_id=migration.pk,
                from_states=(MigrationState.PRECHECKS, MigrationState.PRECOPY),
                reason=f"Host {dest.name} went {dest.get_state_display().lower()} during the migration; "
                f"{migration.workload.name} stays on its source host {migration.source_host.name}.",
            )
            continue
        try:
            sim = (
                PrecopySimulation.from_state(migration.engine_state)
                if migration.engine_state
                else new_simulation(migration)
            )
        except (ValueError, KeyError, TypeError) as exc:
            migration_fail(
                migration_id=migration.pk,
                from_states=RUNNING_STATES,
                reason=f"The migration's saved progress could not be read ({exc}); the workload stays on its source.",
            )
            continue
        if migration.state != MigrationState.SWITCHOVER:
            verdict = gates.get(migration.pk, "")
            if verdict and migration_fail(
                migration_id=migration.pk,
                from_states=(MigrationState.PRECHECKS, MigrationState.PRECOPY),
                reason=verdict,
            ):
                continue
            sim.hold_switchover(migration.pk in gates and verdict is None)
        run, pattern, cap = world_run(migration, sim, now)
        if not running:
            link_pattern, capacity = pattern, cap
        running.append(migration)
        runs.append(run)
    if not running:
        migrations_admit_queued()
        return 0

    previous = [m.last_step_at for m in running if m.last_step_at is not None]
    wall_s = 0.0
    if previous:
        wall_s = min(max((now - max(previous)).total_seconds(), 0.0), MAX_STEP_WALL_S)
    before = [run.sim.bytes_sent for run in runs]
    elapsed_before = [run.sim.elapsed_s for run in runs]
    events = advance_in_world(runs, capacity_bps=capacity, link=link_pattern, wall_s=wall_s)
    ended: list[int] = []
    with progress.batch():
        for migration, run, evs, sent_before, t_before in zip(
            running, runs, events, before, elapsed_before, strict=True
        ):
            try:
                if _persist(migration, run, evs, now, sent_before, t_before):
                    ended.append(migration.pk)
            except Exception:  # noqa: BLE001 - one broken row must not stop the others on the link
                logger.exception("could not persist the step of migration %s", migration.pk)
    if ended:
        migrations_admit_queued()
        _migrations_ended(ended)
    return len(running) - len(ended)


def _persist(migration: Migration, run: WorldRun, events: list, now, sent_before: float, t_before: float) -> bool:
    """Write one migration's step (conditional on its state and seq) and push it after commit. Returns whether it
    ended."""
    sim = run.sim
    old_state, old_seq, old_step_at = migration.state, migration.seq, migration.last_step_at
    state = old_state
    fields: dict = {}
    messages: list[tuple[str, str]] = []
    db_events: list[MigrationEvent] = []

    def event(kind: str, state_: str, message: str, time_s: float | None) -> None:
        db_events.append(
            MigrationEvent(
                migration_id=migration.pk, at=now, kind=kind, state=state_, message=message, sim_time_s=time_s
            )
        )

    if state == MigrationState.PRECHECKS:
        state = MigrationState.PRECOPY
        fields.update(started_at=now, precopy_started_at=now)
        first = "copying the disk first" if migration.disk_bytes else "copying memory"
        event(EventKind.PHASE, state, f"Pre-copy started, {first}.", 0.0)
        messages.append(("phase", state))
    throttled_before = any(r.throttle > 0 for r in sim.rounds[: migration.rounds_count])
    result = None
    for ev in events:
        if ev.kind == "phase_changed" and ev.phase == "precopy" and migration.disk_bytes:
            event(
                EventKind.PHASE,
                state,
                f"Disk copied ({migration.disk_bytes / 2**30:.1f} GiB); memory pre-copy starts.",
                ev.time_s,
            )
        elif ev.kind == "round_completed" and ev.round.throttle > 0 and not throttled_before:
            throttled_before = True
            event(
                EventKind.THROTTLE,
                state,
                f"Pre-copy did not converge; the guest is slowed down by {ev.round.throttle:.0%} (auto-converge).",
                ev.time_s,
            )
        elif ev.kind == "phase_changed" and ev.phase == "switchover" and state == MigrationState.PRECOPY:
            state = MigrationState.SWITCHOVER
            fields["switchover_started_at"] = now
            event(
                EventKind.PHASE,
                state,
                f"Switchover: the guest is paused to copy its last {sim.to_state()['stop_bytes'] / 1e6:.1f} MB.",
                ev.time_s,
            )
            messages.append(("phase", state))
        elif ev.kind == "finished":
            result = sim.result()
    if result is not None:
        state = MigrationState.FAILED if result.outcome == "aborted" else MigrationState.COMPLETED
        fields.update(
            finished_at=now,
            outcome=result.outcome,
            outcome_reason=result.reason,
            downtime_s=result.downtime_s,
            total_time_s=result.total_time_s,
        )
        kind = EventKind.FAILED if state == MigrationState.FAILED else EventKind.COMPLETED
        event(kind, state, result.reason, result.total_time_s)
        messages.append(("completed" if state == MigrationState.COMPLETED else "failed", state))
    if not messages and progress.due(migration.pk):
        messages.append(("progress", state))

    sim_dt = sim.elapsed_s - t_before
    rate = (sim.bytes_sent - sent_before) / sim_dt if sim_dt > 0 else 0.0
    new_rounds = [
        MigrationRound(
            migration_id=migration.pk,
            index=r.index,
            start_s=r.start_s,
            duration_s=r.duration_s,
            bytes=r.bytes,
            dirty_rate_bps=r.dirty_rate_bps,
            throttle=r.throttle,
            dirtied_bytes=r.dirtied_bytes,
        )
        for r in sim.rounds[migration.rounds_count :]
    ]
    fields.update(
        state=state,
        seq=old_seq + len(messages),
        phase=sim.phase,
        engine_state=sim.to_state(),
        rounds_count=len(sim.rounds),
        bytes_sent=sim.bytes_sent,
        memory_sent_bytes=sim.memory_sent_bytes,
        dirty_remaining_bytes=sim.dirty_remaining_bytes,
        transfer_rate_bps=rate if state in RUNNING_STATES else 0.0,
        # Named only when a push goes out (or it ended): the words cost ~0.1 ms a migration.
        **(_rate_limit(run, result) if messages or not migration.rate_limit else {}),
        sim_elapsed_s=sim.elapsed_s,
        last_step_at=now,
    )
    try:
        # One statement when the step only moves the row on (most steps); a transaction when it writes more.
        with transaction.atomic() if new_rounds or db_events or state != old_state else nullcontext():
            # Conditional on the row as this step read it, the time of its last step included: a worker cut off
            # mid-step that comes back after another took the link over finds the row stepped since, and writes nothing.
            applied = _step_update(migration.pk, old_state, old_seq, old_step_at, fields)
            if not applied:
                # Cancelled, or stepped by another worker meanwhile: that change wins.
                logger.warning("step of migration %s refused: the row changed since this step read it", migration.pk)
                return False
            if state == MigrationState.COMPLETED:
                _move_workload(migration)
                transaction.on_commit(lambda: _announce_move(migration))
            MigrationRound.objects.bulk_create(new_rounds, ignore_conflicts=True)
            MigrationEvent.objects.bulk_create(db_events)
    except _WorkloadMovedElsewhere:
        migration_fail(
            migration_id=migration.pk,
            from_states=RUNNING_STATES,
            reason=f"{migration.workload.name} left host {migration.source_host.name} during the migration "
            f"(moved by someone else); the migration stops.",
        )
        return True

    for name, value in fields.items():
        setattr(migration, name, value)
    round_dicts = [r.as_dict() for r in new_rounds]

    def push() -> None:
        for offset, (kind, state_) in enumerate(messages):
            last = offset == len(messages) - 1
            progress.publish_progress(
                migration, kind, seq=old_seq + 1 + offset, state=state_, new_rounds=round_dicts if last else None
            )

    transaction.on_commit(push)
    return state not in RUNNING_STATES


_STEP_SQL: dict[tuple, str] = {}


def _step_update(pk: int, old_state: str, old_seq: int, old_step_at, fields: dict) -> bool:
    """The step's conditional UPDATE of one row (`pk`, still in `old_state` at `old_seq`, last stepped at
    `old_step_at`), as one statement compiled once per set of fields: the ORM's query building cost about 2 ms a
    row, most of a step's time at 40 migrations a link. Values go through each field's own database preparation,
    as the ORM's would. Returns whether the row was updated."""
    opts = Migration._meta
    names = tuple(sorted(fields))
    key = (connection.vendor, names, old_step_at is None)
    sql = _STEP_SQL.get(key)
    qn = connection.ops.quote_name
    stepped = qn(opts.get_field("last_step_at").column)
    if sql is None:
        sets = ", ".join(f"{qn(opts.get_field(name).column)} = %s" for name in names)
        since = f"{stepped} IS NULL" if old_step_at is None else f"{stepped} = %s"
        # Names from the model's own metadata, every value a parameter.
        where = f"{qn(opts.pk.column)} = %s AND {qn('state')} = %s AND {qn('seq')} = %s AND {since}"
        sql = _STEP_SQL[key] = f"UPDATE {qn(opts.db_table)} SET {sets} WHERE {where}"  # noqa: S608
    params = [opts.get_field(name).get_db_prep_save(fields[name], connection) for name in names]
    params += [pk, old_state, old_seq]
    if old_step_at is not None:
        params.append(opts.get_field("last_step_at").get_db_prep_value(old_step_at, connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1


def _rate_limit(run: WorldRun, result) -> dict[str, str]:
    """Which limit set the rate: at the last step's share while it runs, at the last decision once it ended."""
    if result is not None and result.params is not None:
        return {"rate_limit": result.limit, "rate_limit_sentence": result.limit_sentence}
    if run.share_bps is None:
        return {}
    limits = rate_limits(run.sim.params, share_bps=run.share_bps)
    return {"rate_limit": limits.binding, "rate_limit_sentence": limits.sentence}


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

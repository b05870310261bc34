"""What one driver step writes for the migrations of a link, and how: all the rows in one conditional statement.

A step's result for a migration (`StepWrite`) is its row's new columns, the rounds it completed, the events it
logged and the messages it announces. The rows of a link step are written together, in one transaction: one UPDATE
for all of them (conditional, row by row, on the state, `seq` and last step this step read, so a cancel or a worker
that took the link over wins: that row is left out and the step's result for it dropped), one INSERT of rounds and
one of events. A step that completes a migration is written on its own (with the workload's move, which may fail
for that one alone).
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction

from hybridcloud.core.units import format_bytes
from migration.choices import RUNNING_STATES, EventKind, MigrationState
from migration.engine import rate_limits
from migration.engine.world import WorldRun
from migration.models import Migration, MigrationEvent, MigrationRound
from migration.progress import due

logger = logging.getLogger(__name__)


@dataclass
class StepWrite:
    """One migration's step: what its row becomes (if it still is as the step read it) and what it announces."""

    migration: Migration
    old_state: str
    old_seq: int
    old_step_at: datetime | None
    fields: dict = field(default_factory=dict)
    rounds: list[MigrationRound] = field(default_factory=list)
    events: list[MigrationEvent] = field(default_factory=list)
    #: (event kind, state) of each message, in seq order: old seq + 1, + 2, ...
    messages: list[tuple[str, str]] = field(default_factory=list)

    @property
    def state(self) -> str:
        return self.fields.get("state", self.old_state)

    @property
    def ended(self) -> bool:
        return self.state not in RUNNING_STATES

    def event(self, kind: str, state: str, message: str, time_s: float | None, now: datetime) -> None:
        self.events.append(
            MigrationEvent(
                migration_id=self.migration.pk, at=now, kind=kind, state=state, message=message, sim_time_s=time_s
            )
        )

    def applied(self) -> None:
        """The row was written: the instance takes its new values (the pushes read them)."""
        for name, value in self.fields.items():
            setattr(self.migration, name, value)


def step_write(migration: Migration, run: WorldRun, events: list, now: datetime, before: tuple[float, float]):
    """One migration's step from the engine's events: phase changes, throttling, its end, its numbers."""
    sim = run.sim
    write = StepWrite(migration, migration.state, migration.seq, migration.last_step_at)
    state = migration.state
    if state == MigrationState.PRECHECKS:
        state = MigrationState.PRECOPY
        write.fields.update(started_at=now, precopy_started_at=now)
        first = "copying the disk first" if migration.disk_bytes else "copying memory"
        write.event(EventKind.PHASE, state, f"Pre-copy started, {first}.", 0.0, now)
        write.messages.append(("phase", state))
    state, result = _engine_events(write, run, events, state, now)
    if result is not None:
        state = MigrationState.FAILED if result.outcome == "aborted" else MigrationState.COMPLETED
        write.fields.update(
            finished_at=now,
            outcome=result.outcome,
            outcome_reason=result.reason,
            downtime_s=result.downtime_s,
            total_time_s=result.total_time_s,
        )
        kind = EventKind.FAILED if state == MigrationState.FAILED else EventKind.COMPLETED
        write.event(kind, state, result.reason, result.total_time_s, now)
        write.messages.append(("completed" if state == MigrationState.COMPLETED else "failed", state))
    if not write.messages and due(migration.pk):
        write.messages.append(("progress", state))
    write.rounds = [
        MigrationRound(
            migration_id=migration.pk, index=r.index, start_s=r.start_s, duration_s=r.duration_s, bytes=r.bytes,
            dirty_rate_bps=r.dirty_rate_bps, throttle=r.throttle, dirtied_bytes=r.dirtied_bytes,
        )
        for r in sim.rounds[migration.rounds_count :]
    ]  # fmt: skip
    _numbers(write, run, result, state, now, before)
    return write


def _engine_events(write: StepWrite, run: WorldRun, events: list, state: str, now: datetime):
    """The events of the engine's step as the migration's log; returns the state they lead to and the result when
    it finished."""
    migration, sim = write.migration, run.sim
    throttled_before = any(r.throttle > 0 for r in sim.rounds[: migration.rounds_count])
    result = None
    for ev in events:
        if ev.kind == "phase_changed" and ev.phase == "precopy" and migration.disk_bytes:
            message = f"Disk copied ({format_bytes(migration.disk_bytes)}); memory pre-copy starts."
            write.event(EventKind.PHASE, state, message, ev.time_s, now)
        elif ev.kind == "round_completed" and ev.round.throttle > 0 and not throttled_before:
            throttled_before = True
            message = f"Pre-copy did not converge; the guest is slowed down by {ev.round.throttle:.0%} (auto-converge)."
            write.event(EventKind.THROTTLE, state, message, ev.time_s, now)
        elif ev.kind == "phase_changed" and ev.phase == "switchover" and state == MigrationState.PRECOPY:
            state = MigrationState.SWITCHOVER
            write.fields["switchover_started_at"] = now
            message = f"Switchover: the guest is paused to copy its last {format_bytes(sim.to_state()['stop_bytes'])}."
            write.event(EventKind.PHASE, state, message, ev.time_s, now)
            write.messages.append(("phase", state))
        elif ev.kind == "finished":
            result = sim.result()
    return state, result


def _numbers(write: StepWrite, run: WorldRun, result, state: str, now: datetime, before: tuple[float, float]):
    sim, migration = run.sim, write.migration
    sent_before, t_before = before
    sim_dt = sim.elapsed_s - t_before
    rate = (sim.bytes_sent - sent_before) / sim_dt if sim_dt > 0 else 0.0
    write.fields.update(
        state=state,
        seq=write.old_seq + len(write.messages),
        phase=sim.phase,
        engine_state=sim.to_state(),
        rounds_count=len(sim.rounds),
        bytes_sent=sim.bytes_sent,
        memory_sent_bytes=sim.memory_sent_bytes,
        dirty_remaining_bytes=sim.dirty_remaining_bytes,
        transfer_rate_bps=rate if state in RUNNING_STATES else 0.0,
        # Named only when a push goes out (or it ended): the words cost ~0.1 ms a migration.
        **(_rate_limit(run, result) if write.messages or not migration.rate_limit else {}),
        sim_elapsed_s=sim.elapsed_s,
        last_step_at=now,
    )


def _rate_limit(run: WorldRun, result) -> dict[str, str]:
    """Which limit set the rate: at the last step's share while it runs, at the last decision once it ended."""
    if result is not None and result.params is not None:
        return {"rate_limit": result.limit, "rate_limit_sentence": result.limit_sentence}
    if run.share_bps is None:
        return {}
    limits = rate_limits(run.sim.params, share_bps=run.share_bps)
    return {"rate_limit": limits.binding, "rate_limit_sentence": limits.sentence}


def write_steps(writes: list[StepWrite]) -> list[StepWrite]:
    """Write the steps of a link that do not complete a migration, in one transaction: the rows (conditional), then
    the rounds and events of those written. Returns the ones written; the others changed since the step read them
    (a cancel, another worker) and that change wins."""
    if not writes:
        return []
    # Most steps only move numbers: their one UPDATE is atomic by itself, and a transaction around it would only add
    # two round trips and a window in which a dropped connection loses the step.
    records = any(w.rounds or w.events for w in writes)
    with transaction.atomic() if records else nullcontext():
        written = update_rows(writes)
        done = [w for w in writes if w.migration.pk in written]
        if records:
            MigrationRound.objects.bulk_create([r for w in done for r in w.rounds], ignore_conflicts=True)
            MigrationEvent.objects.bulk_create([e for w in done for e in w.events])
    for write in writes:
        if write.migration.pk not in written:
            logger.warning("step of migration %s refused: the row changed since this step read it", write.migration.pk)
    return done


def update_rows(writes: list[StepWrite]) -> set[int]:
    """The rows' conditional UPDATE, one statement per chunk of rows (`CASE pk WHEN ...` per column, each row's
    condition in the WHERE, the ids written RETURNING), values prepared by each field as the ORM would. Returns the
    ids written. Where the database cannot return them, one statement a row."""
    if not connection.features.can_return_rows_from_bulk_insert:  # no UPDATE ... RETURNING either (SQLite < 3.35)
        return {w.migration.pk for w in writes if _update_rows([w], returning=False)}
    names = sorted({name for w in writes for name in w.fields})
    per_row = 2 * len(names) + 5
    chunk = max(1, min(len(writes), (connection.features.max_query_params or 10_000) // per_row))
    written: set[int] = set()
    for start in range(0, len(writes), chunk):
        written |= _update_rows(writes[start : start + chunk], returning=True)
    return written


def _update_rows(writes: list[StepWrite], *, returning: bool) -> set[int]:
    opts = Migration._meta
    qn = connection.ops.quote_name
    cast = connection.features.requires_casted_case_in_updates
    names = sorted({name for w in writes for name in w.fields})
    pk, stepped = qn(opts.pk.column), qn(opts.get_field("last_step_at").column)
    sets, params = [], []
    for name in names:
        model_field = opts.get_field(name)
        column = qn(model_field.column)
        value_sql = f"CAST(%s AS {model_field.db_type(connection)})" if cast else "%s"
        whens = []
        for w in writes:
            if name in w.fields:
                whens.append(f"WHEN %s THEN {value_sql}")
                params += [w.migration.pk, model_field.get_db_prep_save(w.fields[name], connection)]
        sets.append(f"{column} = CASE {pk} {' '.join(whens)} ELSE {column} END")
    conditions = []
    for w in writes:
        since = f"{stepped} IS NULL" if w.old_step_at is None else f"{stepped} = %s"
        conditions.append(f"({pk} = %s AND {qn('state')} = %s AND {qn('seq')} = %s AND {since})")
        params += [w.migration.pk, w.old_state, w.old_seq]
        if w.old_step_at is not None:
            params.append(opts.get_field("last_step_at").get_db_prep_value(w.old_step_at, connection))
    # Names from the model's own metadata, every value a parameter.
    sql = f"UPDATE {qn(opts.db_table)} SET {', '.join(sets)} WHERE {' OR '.join(conditions)}"  # noqa: S608
    with connection.cursor() as cursor:
        if not returning:
            cursor.execute(sql, params)
            return {writes[0].migration.pk} if cursor.rowcount == 1 else set()
        cursor.execute(f"{sql} RETURNING {pk}", params)
        return {row[0] for row in cursor.fetchall()}

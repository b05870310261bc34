"""Writes: start, cancel and admit migrations. Every change notifies (and enqueues) only after commit."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from hybridcloud.core import events
from hybridcloud.core.audit import audit_record
from hybridcloud.core.refusals import Refused
from inventory.links import MIN_MBIT_PER_MIGRATION
from inventory.models import CloudLink, Host, Site, Workload
from migration import chains, progress
from migration.choices import CANCELLABLE_STATES, RUNNING_STATES, EventKind, MigrationPolicy, MigrationState, Outcome
from migration.engine import DEFAULT_DOWNTIME_LIMIT_S
from migration.models import Migration, MigrationEvent
from migration.prechecks import PrecheckContext, PrecheckResult, precheck_migration

ADMITTED_MESSAGE = "A slot freed up: the migration starts."


class MigrationRefused(Refused):
    """The move cannot start (or be cancelled); `errors` lists why, one full sentence each (the API answers 400)."""


def _running_on(host: Host) -> int:
    return Migration.objects.filter(Q(source_host=host) | Q(destination_host=host), state__in=RUNNING_STATES).count()


def _over_limit(hosts: list[Host], *, link_key: str = "", cloud_link: CloudLink | None = None) -> list[str]:
    """What is full, as sentences: hosts whose concurrent-migration limit is reached (4 on 1 GbE, 8 on 10 GbE+) and
    the WAN link, when it already carries one migration per 250 Mbit/s of its bandwidth (`migration_slots`)."""
    full = []
    for host in hosts:
        running = _running_on(host)
        if running >= host.max_concurrent_migrations:
            full.append(
                f"Host {host.name} already runs {running} migrations, its limit on a {host.migration_nic_gbps} GbE "
                f"migration NIC ({host.max_concurrent_migrations})."
            )
    if cloud_link is not None and link_key:
        slots = cloud_link.migration_slots
        running = Migration.objects.filter(link_key=link_key, state__in=RUNNING_STATES).count()
        if running >= slots:
            full.append(
                f"The link {cloud_link} already carries {running} migrations, its limit at "
                f"{MIN_MBIT_PER_MIGRATION:g} Mbit/s each ({cloud_link.bandwidth_mbit:,} Mbit/s ÷ "
                f"{MIN_MBIT_PER_MIGRATION:g})."
            )
    return full


def _queued_ahead(*, link_key: str, host_ids: list[int]) -> bool:
    """Whether an earlier move waits for the same link or one of the same hosts: a new move queues behind it."""
    return Migration.objects.filter(
        Q(link_key=link_key) | Q(source_host_id__in=host_ids) | Q(destination_host_id__in=host_ids),
        state=MigrationState.QUEUED,
    ).exists()


def _event(migration: Migration, kind: str, message: str, *, state: str | None = None) -> MigrationEvent:
    return MigrationEvent.objects.create(
        migration=migration, kind=kind, state=state or migration.state, message=message, sim_time_s=None
    )


def _notify(migration_ids: list[int], kind: str, *, kick: set[str] | None = None) -> None:
    """After commit: push the rows' state (read once for all), and start the link drivers of migrations that became
    runnable."""

    def send() -> None:
        rows = Migration.objects.filter(pk__in=migration_ids).select_related("workload", "destination_host")
        with events.batch():
            for migration in rows.order_by("pk"):
                progress.publish_progress(migration, kind)
        for link_key in sorted(kick or ()):
            chains.kick_link(link_key)

    transaction.on_commit(send)


def _kick_admission() -> None:
    transaction.on_commit(chains.kick_admission)


def _check_request(policy: str, max_downtime_s: float) -> None:
    if policy not in MigrationPolicy.values:
        raise MigrationRefused([f"Unknown policy {policy!r}: choose one of {', '.join(MigrationPolicy.values)}."])
    if not (0 < float(max_downtime_s) <= 600):
        raise MigrationRefused([f"The downtime budget must be between 1 ms and 600 s, not {max_downtime_s!r}."])


def _passing_check(*, workload: Workload, override_reason: str, **options) -> PrecheckResult:
    """The pre-checks of the move, which must pass: errors refuse it, warnings need a written override reason."""
    check = precheck_migration(workload=workload, **options)
    if check.errors:
        raise MigrationRefused(check.errors)
    if check.warnings and not override_reason:
        raise MigrationRefused(
            ["These warnings need a written override reason before the move can start: " + " ".join(check.warnings)]
        )
    return check


def _new_migration(*, workload: Workload, check: PrecheckResult, waits: bool, **fields) -> Migration:
    """The migration row for a move whose pre-checks passed (saved: the partial unique constraint refuses a second
    active one for the workload)."""
    migration = Migration(
        workload=workload,
        source_host_id=workload.host_id,
        destination_host=check.destination_host,
        source_datastore_id=workload.datastore_id,
        destination_datastore=check.destination_datastore,
        destination_segment=check.destination_segment,
        cloud_link=check.cloud_link,
        link_key=check.link_key,
        kind=check.kind,
        warnings=check.warnings,
        placement_reason=check.placement_reason,
        state=MigrationState.QUEUED if waits else MigrationState.PRECHECKS,
        prediction=check.prediction,
        **Migration.prediction_fields(check.prediction),
        memory_bytes=workload.memory_bytes,
        disk_bytes=workload.disk_bytes if check.destination_datastore.pk != workload.datastore_id else 0,
        **fields,
    )
    migration.full_clean(validate_constraints=False)
    with transaction.atomic():
        migration.save()
    return migration


def _record_start(migration: Migration, check: PrecheckResult) -> None:
    """The start's event and audit record."""
    workload, dest, warnings = migration.workload, check.destination_host, check.warnings
    who = migration.requested_by.get_username() if migration.requested_by else "the system"
    overridden = f" with {len(warnings)} warning(s) overridden: {migration.override_reason.rstrip('.')}"
    _event(
        migration,
        EventKind.CREATED,
        f"Requested by {who}: {workload.name} from {workload.host.name} to {dest.name} "
        f"({migration.get_kind_display().lower()}); pre-checks passed{overridden if warnings else ''}.",
    )
    audited = {
        "workload": workload.pk, "workload_name": workload.name, "source_host": workload.host_id,
        "destination_host": dest.pk, "kind": migration.kind, "policy": migration.policy,
        "max_downtime_s": migration.max_downtime_s, "state": migration.state, "warnings": warnings,
        "override_reason": migration.override_reason,
    }  # fmt: skip
    audit_record(
        action="migration.override" if warnings else "migration.start",
        target=migration,
        actor=migration.requested_by,
        after=audited,
        message=f"{workload.name}: {workload.host.name} → {dest.name}"
        + (f"; {len(warnings)} warning(s) overridden: {migration.override_reason}" if warnings else ""),
    )


def _announce_start(migration: Migration, *, full: list[str], behind: bool) -> None:
    if full:
        _event(migration, EventKind.QUEUED, "Waiting for a free slot: " + " ".join(full))
        _notify([migration.pk], "queued")
    elif behind:
        _event(migration, EventKind.QUEUED, "Waiting behind earlier moves for the same link or hosts.")
        _notify([migration.pk], "queued")
        _kick_admission()
    else:
        _notify([migration.pk], "created", kick={migration.link_key})


def migration_start(
    *,
    workload: Workload,
    destination_host: Host | None = None,
    destination_site: Site | None = None,
    requested_by: AbstractBaseUser | None = None,
    policy: str = MigrationPolicy.THROTTLE,
    max_downtime_s: float = DEFAULT_DOWNTIME_LIMIT_S,
    override_reason: str = "",
    accept_readdressing: bool = False,
    reason: str = "",
    simulation_speed: float | None = None,
) -> Migration:
    """Start moving `workload` (pre-checks first; nothing is created when they fail).

    Over a host's concurrency limit, or its link's (one move per 250 Mbit/s: `migration_slots`), or behind an earlier
    move waiting for the same link or hosts (first come, first served), the migration is created `queued` and
    starts by itself when a slot frees (`migrations_admit_queued`). Refused only for what waiting cannot fix.
    Two concurrent starts for one workload give exactly one migration: the workload row is locked, and the
    partial unique constraint holds even where locks are not (SQLite).
    """
    _check_request(policy, max_downtime_s)
    override_reason = (override_reason or "").strip()
    try:
        with transaction.atomic():
            # Lock the workload, then the hosts in a fixed order, so that concurrent starts queue up here.
            workload = Workload.objects.select_for_update().get(pk=workload.pk)
            check = _passing_check(
                workload=workload,
                override_reason=override_reason,
                destination_host=destination_host,
                destination_site=destination_site,
                accept_readdressing=accept_readdressing,
                max_downtime_s=float(max_downtime_s),
                policy=policy,
            )
            hosts = Host.objects.select_for_update().filter(pk__in=[workload.host_id, check.destination_host.pk])
            hosts = list(hosts.order_by("pk"))
            full = _over_limit(hosts, link_key=check.link_key, cloud_link=_lock_link(check.cloud_link))
            # First come, first served: behind an earlier move waiting for the same link or hosts, this one waits.
            behind = not full and _queued_ahead(link_key=check.link_key, host_ids=[h.pk for h in hosts])
            migration = _new_migration(
                workload=workload,
                check=check,
                waits=bool(full or behind),
                requested_by=requested_by if requested_by is not None and requested_by.is_authenticated else None,
                reason=reason,
                override_reason=override_reason if check.warnings else "",
                accept_readdressing=accept_readdressing,
                policy=policy,
                max_downtime_s=float(max_downtime_s),
                simulation_speed=float(simulation_speed or settings.SIMULATION_SPEED),
            )
            _record_start(migration, check)
            _announce_start(migration, full=full, behind=behind)
            return migration
    except IntegrityError:
        raise MigrationRefused(
            [f"{workload.name} is already being migrated; wait for it to end or cancel it."]
        ) from None


def migration_cancel(*, migration: Migration, by: AbstractBaseUser | None = None) -> Migration:
    """Cancel a migration before its switchover; the workload stays on its source. Cancelling twice is a no-op."""
    who = by.get_username() if by is not None and by.is_authenticated else "the system"
    with transaction.atomic():
        applied = Migration.objects.transition(
            migration.pk,
            CANCELLABLE_STATES,
            MigrationState.CANCELLED,
            finished_at=timezone.now(),
            outcome=Outcome.CANCELLED,
            outcome_reason=f"Cancelled by {who}; the workload stays on its source host.",
            engine_state=None,
        )
        migration.refresh_from_db()
        if not applied:
            if migration.state == MigrationState.CANCELLED:
                return migration
            state = migration.get_state_display().lower()
            raise MigrationRefused([f"Migration #{migration.pk} is {state}: it can no longer be cancelled."])
        _event(migration, EventKind.CANCELLED, f"Cancelled by {who}; {migration.workload.name} stays on its source.")
        audit_record(
            action="migration.cancel",
            target=migration,
            actor=by if by is not None and by.is_authenticated else None,
            after={"state": migration.state, "outcome_reason": migration.outcome_reason},
            message=f"Cancelled; {migration.workload.name} stays on its source.",
        )
        _notify([migration.pk], "cancelled")
        _kick_admission()
    return migration


def migration_fail(*, migration_id: int, from_states: tuple[str, ...], reason: str) -> bool:
    """Fail a migration that has not switched over; the workload stays on its source."""
    with transaction.atomic():
        applied = Migration.objects.transition(
            migration_id,
            from_states,
            MigrationState.FAILED,
            finished_at=timezone.now(),
            outcome=Outcome.FAILED,
            outcome_reason=reason,
            engine_state=None,
        )
        if applied:
            MigrationEvent.objects.create(
                migration_id=migration_id, kind=EventKind.FAILED, state=MigrationState.FAILED, message=reason
            )
            _notify([migration_id], "failed")
            _kick_admission()
    return applied


def _lock_link(link: CloudLink | None) -> CloudLink | None:
    """Lock the WAN link's row (after the hosts'), so that concurrent admissions count its migrations one at a
    time (where the database locks: PostgreSQL)."""
    if link is None:
        return None
    return CloudLink.objects.select_for_update().select_related("site_a", "site_b").get(pk=link.pk)


def migrations_admit_queued() -> list[int]:
    """Start queued migrations, first come first served (oldest request first), as their link and hosts have free
    slots; a move whose link or hosts are full is skipped and the next one tried. Each one started is re-checked
    first (things change while one waits) and failed, saying why, when it no longer passes. Returns the ids started.

    In bulk, in a number of queries that grows with neither the queue nor the moves started: the running counts
    per host and per link key and the queue are read once, the moves that fit are locked (their hosts, then
    links), re-counted and re-read together, re-checked with one shared pre-check context, and started in one
    conditional UPDATE, their events in one INSERT and their pushes in one batch after commit. The re-check is the
    pre-checks without a new prediction: the move keeps the one made at its request, at the share it runs at
    (`link_key_limit`); predicting again cost ~30 ms a move, and a step that frees ten slots must start ten moves
    by its next step."""
    queued = list(
        Migration.objects.filter(state=MigrationState.QUEUED)
        .order_by("created_at", "pk")
        .values_list("pk", "source_host_id", "destination_host_id", "link_key", "cloud_link_id")
    )
    if not queued:
        return []
    host_ids = {h for _, s, d, _, _ in queued for h in (s, d)}
    hosts = {h.pk: h for h in Host.objects.filter(pk__in=host_ids)}
    links = {link.pk: link for link in CloudLink.objects.filter(pk__in={c for *_, c in queued if c is not None})}
    fits = _fitting(queued, hosts, links)
    if not fits:
        return []
    with transaction.atomic():
        if connection.features.has_select_for_update:
            # Lock the hosts, then the links, as a start does; where nothing locks (SQLite), write transactions run
            # one at a time. Then count again: another admission may have got there first.
            list(Host.objects.select_for_update().filter(pk__in={h for _, s, d, _, _ in fits for h in (s, d)}))
            list(CloudLink.objects.select_for_update().filter(pk__in={c for *_, c in fits if c is not None}))
        fits = _fitting(fits, hosts, links)
        passed = _recheck([pk for pk, *_ in fits])
        return _admit(passed)


def _fitting(queued: list[tuple], hosts: dict[int, Host], links: dict[int, CloudLink]) -> list[tuple]:
    """The queued moves (`pk, source, destination, link key, link id`, oldest first) that fit in the free slots of
    their hosts and link, counted from the running migrations (one query) as each one is given its slot."""
    on_host: dict[int, int] = {}
    on_key: dict[str, int] = {}
    for src, dst, key in Migration.objects.filter(state__in=RUNNING_STATES).values_list(
        "source_host_id", "destination_host_id", "link_key"
    ):
        on_host[src] = on_host.get(src, 0) + 1
        on_host[dst] = on_host.get(dst, 0) + 1
        on_key[key] = on_key.get(key, 0) + 1
    fits = []
    for row in queued:
        _, src, dst, key, link_id = row
        link = links.get(link_id)  # None inside a site (or the link is gone: the re-check says so)
        if link is not None and on_key.get(key, 0) >= link.migration_slots:
            continue
        if any(on_host.get(h, 0) >= hosts[h].max_concurrent_migrations for h in (src, dst)):
            continue
        fits.append(row)
        on_key[key] = on_key.get(key, 0) + 1
        for h in (src, dst):
            on_host[h] = on_host.get(h, 0) + 1
    return fits


def _recheck(pks: list[int]) -> list[Migration]:
    """The moves among `pks` still queued that still pass their pre-checks (one shared context); the others are
    failed, saying why."""
    migrations = list(
        Migration.objects.select_related(
            "workload__host__cluster__site", "workload__datastore", "workload__segment", "destination_host"
        )
        .filter(pk__in=pks, state=MigrationState.QUEUED)
        .order_by("created_at", "pk")
    )
    context = PrecheckContext()
    context.preload_workloads([m.workload for m in migrations])
    passed = []
    for migration in migrations:
        check = precheck_migration(
            workload=migration.workload,
            destination_host=migration.destination_host,
            accept_readdressing=migration.accept_readdressing,
            max_downtime_s=migration.max_downtime_s,
            policy=migration.policy,
            exclude_migration=migration.pk,
            context=context,
            predict=False,
        )
        if not check.errors:
            passed.append(migration)
            continue
        migration_fail(
            migration_id=migration.pk,
            from_states=(MigrationState.QUEUED,),
            reason="While it waited, the move stopped passing its pre-checks: " + " ".join(check.errors),
        )
        context = PrecheckContext()  # it no longer holds room on its destination
        context.preload_workloads([m.workload for m in migrations])
    return passed


def _admit(migrations: list[Migration]) -> list[int]:
    """Start the re-checked moves: one conditional UPDATE (still queued), their events, their pushes after commit."""
    pks = [m.pk for m in migrations]
    if not pks:
        return []
    still = Migration.objects.filter(pk__in=pks, state=MigrationState.QUEUED)
    if still.update(state=MigrationState.PRECHECKS, seq=F("seq") + 1) != len(pks):
        # Cancelled meanwhile (SQLite, where nothing locked the rows): the ones this update started are those now
        # in pre-checks (nothing else moves a queued row there).
        started = set(Migration.objects.filter(pk__in=pks, state=MigrationState.PRECHECKS).values_list("pk", flat=True))
        migrations = [m for m in migrations if m.pk in started]
    MigrationEvent.objects.bulk_create(
        MigrationEvent(migration=m, kind=EventKind.ADMITTED, state=MigrationState.PRECHECKS, message=ADMITTED_MESSAGE)
        for m in migrations
    )
    _notify([m.pk for m in migrations], "admitted", kick={m.link_key for m in migrations})
    return [m.pk for m in migrations]

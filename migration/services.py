"""Writes: start, cancel and admit migrations. Every change notifies (and enqueues) only after commit."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from hybridcloud.core.audit import audit_record
from inventory.models import CloudLink, Host, Site, Workload
from migration import progress
from migration.choices import CANCELLABLE_STATES, RUNNING_STATES, EventKind, MigrationPolicy, MigrationState, Outcome
from migration.models import Migration, MigrationEvent
from migration.prechecks import MIN_MBIT_PER_MIGRATION, PrecheckContext, link_slots, precheck_migration


class MigrationRefused(ValidationError):
    """The move cannot start (or be cancelled); `errors` lists why, one full sentence each."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(list(errors))
        self.errors = list(errors)


def _running_on(host: Host) -> int:
    return Migration.objects.filter(Q(source_host=host) | Q(destination_host=host), state__in=RUNNING_STATES).count()


def _over_limit(hosts: list[Host], *, link_key: str = "", cloud_link: CloudLink | None = None) -> list[str]:
    """What is full, as sentences: hosts whose concurrent-migration limit is reached (4 on 1 GbE, 8 on 10 GbE+) and
    the WAN link, when it already carries one migration per 250 Mbit/s of its bandwidth (`link_slots`)."""
    full = []
    for host in hosts:
        running = _running_on(host)
        if running >= host.max_concurrent_migrations:
            full.append(
                f"Host {host.name} already runs {running} migrations, its limit on a {host.migration_nic_gbps} GbE "
                f"migration NIC ({host.max_concurrent_migrations})."
            )
    if cloud_link is not None and link_key:
        slots = link_slots(cloud_link)
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


def _notify(migration_id: int, kind: str, *, kick: str | None = None) -> None:
    """After commit: push the row's state, and start the link's driver when a migration became runnable."""

    def send() -> None:
        from migration import tasks
        from migration.progress import publish_progress

        migration = Migration.objects.filter(pk=migration_id).select_related("workload").first()
        if migration is not None:
            publish_progress(migration, kind)
        if kick:
            tasks.kick_link(kick)

    transaction.on_commit(send)


def migration_start(
    *,
    workload: Workload,
    destination_host: Host | None = None,
    destination_site: Site | None = None,
    requested_by: AbstractBaseUser | None = None,
    policy: str = MigrationPolicy.THROTTLE,
    max_downtime_s: float = 0.3,
    override_reason: str = "",
    accept_readdressing: bool = False,
    reason: str = "",
    simulation_speed: float | None = None,
) -> Migration:
    """Start moving `workload` (pre-checks first; nothing is created when they fail).

    Over a host's concurrency limit, or its link's (one move per 250 Mbit/s: `link_slots`), or behind an earlier
    move waiting for the same link or hosts (first come, first served), the migration is created `queued` and
    starts by itself when a slot frees (`migrations_admit_queued`). Refused only for what waiting cannot fix.
    Two concurrent starts for one workload give exactly one migration: the workload row is locked, and the
    partial unique constraint holds even where locks are not (SQLite).
    """
    from django.conf import settings

    if policy not in MigrationPolicy.values:
        raise MigrationRefused([f"Unknown policy {policy!r}: choose one of {', '.join(MigrationPolicy.values)}."])
    if not (0 < float(max_downtime_s) <= 600):
        raise MigrationRefused([f"The downtime budget must be between 1 ms and 600 s, not {max_downtime_s!r}."])
    override_reason = (override_reason or "").strip()
    try:
        with transaction.atomic():
            # Lock the workload, then the hosts in a fixed order, so that concurrent starts queue up here.
            workload = Workload.objects.select_for_update().get(pk=workload.pk)
            check = precheck_migration(
                workload=workload,
                destination_host=destination_host,
                destination_site=destination_site,
                accept_readdressing=accept_readdressing,
                max_downtime_s=float(max_downtime_s),
                policy=policy,
            )
            if check.errors:
                raise MigrationRefused(check.errors)
            if check.warnings and not override_reason:
                raise MigrationRefused(
                    [
                        "These warnings need a written override reason before the move can start: "
                        + " ".join(check.warnings)
                    ]
                )
            dest = check.destination_host
            hosts = list(Host.objects.select_for_update().filter(pk__in=[workload.host_id, dest.pk]).order_by("pk"))
            link = _lock_link(check.cloud_link)
            full = _over_limit(hosts, link_key=check.link_key, cloud_link=link)
            # First come, first served: behind an earlier move waiting for the same link or hosts, this one waits.
            behind = not full and _queued_ahead(link_key=check.link_key, host_ids=[h.pk for h in hosts])
            migration = Migration(
                workload=workload,
                source_host_id=workload.host_id,
                destination_host=dest,
                source_datastore_id=workload.datastore_id,
                destination_datastore=check.destination_datastore,
                destination_segment=check.destination_segment,
                cloud_link=check.cloud_link,
                link_key=check.link_key,
                kind=check.kind,
                requested_by=requested_by if requested_by is not None and requested_by.is_authenticated else None,
                reason=reason,
                warnings=check.warnings,
                override_reason=override_reason if check.warnings else "",
                accept_readdressing=accept_readdressing,
                placement_reason=check.placement_reason,
                state=MigrationState.QUEUED if full or behind else MigrationState.PRECHECKS,
                policy=policy,
                max_downtime_s=float(max_downtime_s),
                simulation_speed=float(simulation_speed or settings.SIMULATION_SPEED),
                prediction=check.prediction,
                **Migration.prediction_fields(check.prediction),
                memory_bytes=workload.memory_bytes,
                disk_bytes=workload.disk_bytes if check.destination_datastore.pk != workload.datastore_id else 0,
            )
            migration.full_clean(validate_constraints=False)
            with transaction.atomic():
                migration.save()
            who = requested_by.get_username() if migration.requested_by else "the system"
            _event(
                migration,
                EventKind.CREATED,
                f"Requested by {who}: {workload.name} from {workload.host.name} to {dest.name} "
                f"({migration.get_kind_display().lower()}); pre-checks passed"
                + (
                    f" with {len(check.warnings)} warning(s) overridden: {override_reason.rstrip('.')}"
                    if check.warnings
                    else ""
                )
                + ".",
            )
            audited = {
                "workload": workload.pk, "workload_name": workload.name, "source_host": workload.host_id,
                "destination_host": dest.pk, "kind": migration.kind, "policy": policy,
                "max_downtime_s": float(max_downtime_s), "state": migration.state, "warnings": check.warnings,
                "override_reason": migration.override_reason,
            }  # fmt: skip
            audit_record(
                action="migration.override" if check.warnings else "migration.start",
                target=migration,
                actor=migration.requested_by,
                after=audited,
                message=f"{workload.name}: {workload.host.name} → {dest.name}"
                + (f"; {len(check.warnings)} warning(s) overridden: {override_reason}" if check.warnings else ""),
            )
            if full:
                _event(migration, EventKind.QUEUED, "Waiting for a free slot: " + " ".join(full))
                _notify(migration.pk, "queued")
            elif behind:
                _event(migration, EventKind.QUEUED, "Waiting behind earlier moves for the same link or hosts.")
                _notify(migration.pk, "queued")
                transaction.on_commit(_kick_admission)
            else:
                _notify(migration.pk, "created", kick=migration.link_key)
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
        _notify(migration.pk, "cancelled")
        transaction.on_commit(_kick_admission)
    return migration


def _kick_admission() -> None:
    from migration import tasks

    tasks.admit_queued_task.delay()


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
            migration = Migration.objects.get(pk=migration_id)
            _event(migration, EventKind.FAILED, reason)
            _notify(migration_id, "failed")
            transaction.on_commit(_kick_admission)
    return applied


def _full_now(source: Host, destination: Host, link_key: str, link: CloudLink | None) -> bool:
    """Whether the hosts or the link are full right now, counted in one query (admission's re-count under lock)."""
    counts = Migration.objects.filter(state__in=RUNNING_STATES).aggregate(
        source=Count("pk", filter=Q(source_host=source) | Q(destination_host=source)),
        destination=Count("pk", filter=Q(source_host=destination) | Q(destination_host=destination)),
        key=Count("pk", filter=Q(link_key=link_key)),
    )
    return (
        counts["source"] >= source.max_concurrent_migrations
        or counts["destination"] >= destination.max_concurrent_migrations
        or (link is not None and counts["key"] >= link_slots(link))
    )


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

    Cost does not grow with the queue's queries: the running counts per host and per link key are read once, the
    queue once, and only a move that fits is locked, re-counted and re-checked (with one shared pre-check context
    while nothing else fails). The re-check is the pre-checks without a new prediction: the move keeps the one made
    at its request, at the share it runs at (`link_key_limit`); predicting again cost ~30 ms a move, and a step that
    frees ten slots must start ten moves by its next step."""
    with progress.batch():  # every admission's push in one send, after its commit
        return _admit_queued()


def _admit_queued() -> list[int]:
    queued = list(
        Migration.objects.filter(state=MigrationState.QUEUED)
        .order_by("created_at", "pk")
        .values_list("pk", "source_host_id", "destination_host_id", "link_key", "cloud_link_id")
    )
    if not queued:
        return []
    on_host: dict[int, int] = {}
    on_key: dict[str, int] = {}
    for src, dst, key in Migration.objects.filter(state__in=RUNNING_STATES).values_list(
        "source_host_id", "destination_host_id", "link_key"
    ):
        on_host[src] = on_host.get(src, 0) + 1
        on_host[dst] = on_host.get(dst, 0) + 1
        on_key[key] = on_key.get(key, 0) + 1
    host_ids = {h for _, s, d, _, _ in queued for h in (s, d)}
    hosts = {h.pk: h for h in Host.objects.filter(pk__in=host_ids)}
    links = {link.pk: link for link in CloudLink.objects.filter(pk__in={c for *_, c in queued if c is not None})}
    context = PrecheckContext()
    started: list[int] = []
    for pk, src, dst, key, link_id in queued:
        link = links.get(link_id)  # None inside a site (or the link is gone: the re-check says so)
        if link is not None and on_key.get(key, 0) >= link_slots(link):
            continue
        if any(on_host.get(h, 0) >= hosts[h].max_concurrent_migrations for h in (src, dst)):
            continue
        with transaction.atomic():
            migration = (
                Migration.objects.select_related(
                    "workload__host__cluster__site", "workload__datastore", "workload__segment", "destination_host"
                )
                .filter(pk=pk)
                .first()
            )
            if migration is None or migration.state != MigrationState.QUEUED:
                continue
            if connection.features.has_select_for_update:
                # Lock the hosts, then the link, as a start does; where nothing locks (SQLite), its write
                # transactions run one at a time.
                list(Host.objects.select_for_update().filter(pk__in=[src, dst]).order_by("pk"))
                _lock_link(link)
            if _full_now(hosts[src], hosts[dst], key, link):
                continue  # another admission got there first
            context.preload_workloads([migration.workload])
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
            if check.errors:
                migration_fail(
                    migration_id=pk,
                    from_states=(MigrationState.QUEUED,),
                    reason="While it waited, the move stopped passing its pre-checks: " + " ".join(check.errors),
                )
                context = PrecheckContext()  # it no longer holds room on its destination
                continue
            if Migration.objects.transition(pk, MigrationState.QUEUED, MigrationState.PRECHECKS):
                migration.state = MigrationState.PRECHECKS
                _event(migration, EventKind.ADMITTED, "A slot freed up: the migration starts.")
                _notify(pk, "admitted", kick=migration.link_key)
                started.append(pk)
                on_key[key] = on_key.get(key, 0) + 1
                for h in (src, dst):
                    on_host[h] = on_host.get(h, 0) + 1
    return started

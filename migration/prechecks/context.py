"""What the pre-checks read, each fact read once and kept (`PrecheckContext`), and the link keys that group
migrations sharing bandwidth."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet

from inventory.models import CloudLink, Cluster, Datastore, Host, NetworkSegment, Site, Workload
from inventory.selectors import host_usage, link_between
from inventory.usage import Usage, takes_room
from migration.models import Migration
from migration.placement import RuleBook, rule_book_load
from migration.prechecks.refusals import HostCheck, host_refusal_checkers


def link_key_for(*, source_host: Host, destination_host: Host, cloud_link: CloudLink | None) -> str:
    """Migrations that share bandwidth share a key: a WAN link between sites, or the source host's NIC inside one."""
    if cloud_link is not None:
        return f"link:{cloud_link.id}"
    return f"host:{source_host.id}"


def link_key_limit(*, source_host: Host | None, cloud_link: CloudLink | None) -> int:
    """Moves that run at once on one link key (`link_key_for`): a WAN link's slots (`migration_slots`), or inside a
    site the source host's concurrency limit (4 on 1 GbE, 8 on 10 GbE+). Each host's own limit binds on top."""
    return cloud_link.migration_slots if cloud_link is not None else source_host.max_concurrent_migrations


def active_migrations(exclude_pk: int | None = None) -> QuerySet[Migration]:
    qs = Migration.objects.active()
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs


@dataclass(frozen=True)
class ActiveMigration:
    """What the pre-checks need of a migration in flight."""

    pk: int
    state: str
    workload_id: int
    workload_live: bool
    memory_bytes: int
    vcpus: int
    destination_host_id: int
    cloud_link_id: int | None
    link_key: str


class PrecheckContext:
    """Facts the pre-checks read, each read once and kept: the migrations in flight, hosts, their load, which
    sites carry a segment, which hosts see a datastore, links, hosts being evacuated.

    Each `precheck_migration()` call makes a fresh one by default. A caller that checks many moves while nothing
    is written in between (a planner weighing proposals) passes one context to all of them, so that each fact is
    read once instead of once per check; after starting a migration, make a new context."""

    def __init__(self, rule_book: RuleBook | None = None) -> None:
        self._rule_book = rule_book  # a planner passes its own, which it updates as it plans moves
        self._active: list[ActiveMigration] | None = None
        self._active_by_workload: dict[int, list[ActiveMigration]] | None = None
        self._refusals: list[HostCheck] | None = None
        self._host_refusals: dict[int, list[str]] = {}  # each host's refusals, asked once
        self._hosts: dict[int, Host] = {}
        self._usage: dict[int, Usage] = {}
        self._usage_complete = False  # every host's usage is read (`preload_usage`): a host missing has none
        self._segment_sites: dict[int, set[int]] = {}
        self._site_first_segment: dict[int, NetworkSegment | None] = {}
        self._datastore_hosts: dict[int, set[int]] = {}
        self._best_datastore: dict[int, Datastore | None] = {}  # every host of the sites read
        self._links: dict[frozenset, CloudLink | None] = {}
        self._links_by_pair: dict[tuple[int, int], CloudLink | None] = {}  # `_links` by ordered site pair
        self._places: dict[int, tuple[Cluster, Site]] = {}  # each host's cluster and site
        self._cpu_mismatch: dict[tuple[int, int], str | None] = {}  # by source and destination cluster
        self._site_hosts: dict[int, list[Host]] = {}
        self._workloads: dict[int, Workload] = {}

    def active(self, exclude_migration: int | None = None) -> list[ActiveMigration]:
        if self._active is None:
            rows = active_migrations().values_list(
                "pk", "state", "workload_id", "workload__power_state", "workload__memory_bytes", "workload__vcpus",
                "destination_host_id", "cloud_link_id", "link_key",
            )  # fmt: skip
            self._active = [
                ActiveMigration(pk, state, w, takes_room(power), mem, vcpus, dst, link, key)
                for pk, state, w, power, mem, vcpus, dst, link, key in rows
            ]
        return [m for m in self._active if m.pk != exclude_migration]

    def active_of(self, workload_id: int, exclude_migration: int | None = None) -> list[ActiveMigration]:
        """The workload's own migrations in flight (`active`, in its order), found by workload: a planner checks
        thousands of moves against every migration in flight."""
        if self._active_by_workload is None:
            self._active_by_workload = {}
            for m in self.active():
                self._active_by_workload.setdefault(m.workload_id, []).append(m)
        own = self._active_by_workload.get(workload_id)
        return [m for m in own if m.pk != exclude_migration] if own else []

    def host_refusals(self, host: Host) -> list[str]:
        """Why higher layers refuse `host` as a destination (`register_host_refusal`: a host being evacuated takes
        nothing new), each refusal source read once per context."""
        if self._refusals is None:
            self._refusals = host_refusal_checkers()
        refusals = self._host_refusals.get(host.id)
        if refusals is None:
            refusals = self._host_refusals[host.id] = [r for check in self._refusals if (r := check(host)) is not None]
        return list(refusals)

    def cpu_mismatch(
        self, source: Cluster, destination: Cluster, rule: Callable[[Cluster, Cluster], str | None]
    ) -> str | None:
        """What keeps a running guest of `source` off `destination`'s CPUs (`rule`: None when nothing), asked once
        per pair of clusters."""
        pair = (source.id, destination.id)
        if pair not in self._cpu_mismatch:
            self._cpu_mismatch[pair] = rule(source, destination)
        return self._cpu_mismatch[pair]

    def rule_book(self) -> RuleBook:
        """The placement rules and where their members run (`rule_book_load`), read once."""
        if self._rule_book is None:
            self._rule_book = rule_book_load()
        return self._rule_book

    def preload_workloads(self, workloads: list[Workload]) -> None:
        """Workloads read once by the caller (with host, cluster, site, datastore and segment), so that checking
        thousands of them (an assessment) does not read each again."""
        for w in workloads:
            self._workloads[w.id] = w

    def workload(self, pk: int) -> Workload:
        if pk in self._workloads:
            return self._workloads[pk]
        return Workload.objects.select_related("host__cluster__site", "datastore", "segment").get(pk=pk)

    def site_hosts(self, site: Site) -> list[Host]:
        """The hosts of a site by name, with their cluster and site (placement's candidates)."""
        if site.pk not in self._site_hosts:
            hosts = list(Host.objects.filter(cluster__site=site).select_related("cluster__site").order_by("name"))
            self._site_hosts[site.pk] = hosts
            for host in hosts:
                self._hosts.setdefault(host.pk, host)
        return self._site_hosts[site.pk]

    def place(self, host: Host) -> tuple[Cluster, Site]:
        """The host's cluster and site, read once per host (every check of a move asks for both hosts')."""
        place = self._places.get(host.id)
        if place is None:
            cluster = host.cluster
            place = self._places[host.id] = (cluster, cluster.site)
        return place

    def host(self, pk: int) -> Host:
        if pk not in self._hosts:
            self._hosts[pk] = Host.objects.select_related("cluster__site").get(pk=pk)
        return self._hosts[pk]

    def usage(self, host_id: int) -> Usage:
        """What the host's running workloads and the live moves on their way to it take (`host_usage`), read for
        every host of its site at once (placement weighs them all)."""
        usage = self._usage.get(host_id)
        if usage is None:
            if not self._usage_complete:
                site_id = self.host(host_id).cluster.site_id
                self._usage.update(host_usage(Host.objects.filter(cluster__site_id=site_id)))
            usage = self._usage.setdefault(host_id, Usage(pk=host_id))  # a host with nothing on it: kept, made once
        return usage

    def preload_usage(self) -> None:
        """Every host's usage in one aggregate (a planner that weighs hosts across all sites)."""
        self._usage = host_usage()  # a UsageByKey: a host with nothing on it reads as an empty Usage
        self._usage_complete = True

    def segment_sites(self, segment_id: int) -> set[int]:
        if segment_id not in self._segment_sites:
            through = NetworkSegment.sites.through.objects.filter(networksegment_id=segment_id)
            self._segment_sites[segment_id] = set(through.values_list("site_id", flat=True))
        return self._segment_sites[segment_id]

    def first_segment(self, site: Site) -> NetworkSegment | None:
        if site.pk not in self._site_first_segment:
            self._site_first_segment[site.pk] = site.segments.order_by("name").first()
        return self._site_first_segment[site.pk]

    def datastore_hosts(self, datastore_id: int) -> set[int]:
        if datastore_id not in self._datastore_hosts:
            through = Datastore.hosts.through.objects.filter(datastore_id=datastore_id)
            self._datastore_hosts[datastore_id] = set(through.values_list("host_id", flat=True))
        return self._datastore_hosts[datastore_id]

    def best_datastore(self, host: Host) -> Datastore | None:
        """The datastore the host sees with the most room (then by name), read for every host of its site at once
        (placement weighs them all): one read per site, not per host."""
        if host.id in self._best_datastore:
            return self._best_datastore[host.id]
        site_id = self.host(host.pk).cluster.site_id
        pairs = list(Host.objects.filter(cluster__site_id=site_id).values_list("pk", "datastores"))
        stores = Datastore.objects.in_bulk({ds for _, ds in pairs if ds is not None})
        for host_id, ds in pairs:  # each host with each datastore it sees, or once with None: it sees none
            best, store = self._best_datastore.get(host_id), stores.get(ds)
            if store is not None and (
                best is None or (-store.free_bytes, store.name, store.pk) < (-best.free_bytes, best.name, best.pk)
            ):
                self._best_datastore[host_id] = store
            else:
                self._best_datastore.setdefault(host_id, None)
        self._best_datastore.setdefault(host.pk, None)
        return self._best_datastore[host.pk]

    def link(self, a: Site, b: Site) -> CloudLink | None:
        pair = (a.id, b.id)
        if pair in self._links_by_pair:
            return self._links_by_pair[pair]
        key = frozenset(pair)
        if key not in self._links:
            self._links[key] = link_between(a, b)
        link = self._links_by_pair[pair] = self._links[key]
        return link

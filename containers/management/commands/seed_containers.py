"""`python manage.py seed_containers [--seed S] [--reset]`: container hosts, images, container-VMs and one imported
Kubernetes cluster on top of the demo inventory (seed_demo runs it). Deterministic for a given seed."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand
from django.db import transaction

from containers.models import ContainerCluster, ContainerEvent, ContainerHost, ContainerSpec, Image
from containers.services.create import container_create
from containers.services.images import image_pull
from containers.services.kubernetes_import import cluster_import_kubernetes
from containers.services.lifecycle import container_stop
from containers.services.refusals import ContainerRefused
from hybridcloud.core.units import GIB
from inventory.choices import HostState, WorkloadKind
from inventory.models import Cluster, NetworkSegment, Site, Workload

DEMO_CLUSTER = Path(__file__).resolve().parents[2] / "fixtures" / "demo_cluster.json"
IMAGES = [
    "nginx:1.27", "redis:7.4", "postgres:16", "python:3.12-slim", "grafana/grafana:11.2", "prom/prometheus:v2.54.1",
    "traefik:v3.1", "rabbitmq:3.13-management", "memcached:1.6", "node:20-alpine", "httpd:2.4",
    "ghcr.io/acme-shop/checkoutservice:2.14.0", "ghcr.io/acme-shop/cartservice:2.14.0",
    "ghcr.io/acme-shop/frontend:2.14.0", "alpine:3.20",
]  # fmt: skip
# (name, image, command, env, ports, cpus, memory)
CONTAINERS = [
    (
        "edge-proxy",
        "traefik:v3.1",
        "--providers.docker --entrypoints.web.address=:80",
        {},
        ["80:80", "443:443"],
        1,
        "512m",
    ),
    ("web-nginx", "nginx:1.27", "", {"NGINX_ENTRYPOINT_QUIET_LOGS": "1"}, ["8080:80"], 1, "256m"),
    ("session-cache", "redis:7.4", "redis-server --appendonly yes", {}, ["6379:6379"], 1, "1g"),
    ("orders-db", "postgres:16", "", {"POSTGRES_DB": "orders", "POSTGRES_USER": "orders"}, ["5432:5432"], 2, "4g"),
    ("metrics", "prom/prometheus:v2.54.1", "--config.file=/etc/prometheus/prometheus.yml", {}, ["9090:9090"], 1, "2g"),
    ("dashboards", "grafana/grafana:11.2", "", {"GF_SECURITY_ADMIN_USER": "admin"}, ["3000:3000"], 1, "512m"),
    (
        "queue",
        "rabbitmq:3.13-management",
        "",
        {"RABBITMQ_DEFAULT_VHOST": "shop"},
        ["5672:5672", "15672:15672"],
        2,
        "2g",
    ),
    (
        "report-job",
        "python:3.12-slim",
        "python -m reports.nightly",
        {"REPORT_BUCKET": "s3://acme-reports"},
        [],
        0.5,
        "512m",
    ),
    ("shop-frontend", "ghcr.io/acme-shop/frontend:2.14.0", "", {"CART_ADDR": "cart:7070"}, ["8081:8080"], 1, "512m"),
    (
        "cart",
        "ghcr.io/acme-shop/cartservice:2.14.0",
        "",
        {"REDIS_ADDR": "session-cache:6379"},
        ["7070:7070"],
        1,
        "512m",
    ),
    ("checkout", "ghcr.io/acme-shop/checkoutservice:2.14.0", "", {"PORT": "5050"}, ["5050:5050"], 1, "512m"),
    ("legacy-httpd", "httpd:2.4", "", {}, ["8082:80"], 0.5, "256m"),
    ("page-cache", "memcached:1.6", "memcached -m 1024", {}, ["11211:11211"], 1, "1g"),
]
# The image each seed_demo container role runs, for container-VMs that came without a container specification.
ROLE_IMAGES = {
    "checkout-svc": "ghcr.io/acme-shop/checkoutservice:2.14.0", "cart-api": "ghcr.io/acme-shop/cartservice:2.14.0",
    "image-resizer": "python:3.12-slim", "search-indexer": "python:3.12-slim", "notify-worker": "node:20-alpine",
    "auth-svc": "node:20-alpine",
}  # fmt: skip


class Command(BaseCommand):
    help = "Seeds container hosts, images, container-VMs and one imported Kubernetes cluster (deterministic)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--reset", action="store_true", help="Remove existing container data first.")

    def handle(self, *args, seed: int, reset: bool, **options):
        if not Cluster.objects.exists():
            self.stdout.write("No inventory (no clusters): nothing to seed containers on. Run seed_demo first.")
            return
        if reset:
            self.wipe()
        elif ContainerHost.objects.exists():
            self.stdout.write("Container hosts already exist; leaving them (use --reset to seed again).")
            return
        rng = random.Random(seed)
        with transaction.atomic():
            for ref in IMAGES:
                repository, tag = ref.rsplit(":", 1)
                image_pull(repository=repository, tag=tag)
            hosts = self.container_hosts()
            adopted = self.adopt_container_vms(hosts)
            created, refused = self.create_containers(hosts, rng)
            cluster_line = self.import_cluster()
        self.stdout.write(self.style.SUCCESS("Seeded containers:"))
        self.stdout.write(f"  {len(IMAGES)} images; {len(hosts)} container hosts: {', '.join(h.name for h in hosts)}")
        self.stdout.write(f"  {created} container-VMs created through container_create ({refused} refused)")
        self.stdout.write(f"  {adopted} existing container-VMs given their container specification")
        self.stdout.write(f"  {cluster_line}")

    def wipe(self) -> None:
        with transaction.atomic():
            # Container-VMs made here go; those seed_demo made keep their workload and lose only their container side.
            made_here = ContainerEvent.objects.filter(action="create", workload__isnull=False).values("workload")
            Workload.objects.filter(pk__in=made_here).delete()
            ContainerSpec.objects.all().delete()
            ContainerEvent.objects.all().delete()
            for cluster in ContainerCluster.objects.all():
                node_vms = [n.workload_id for n in cluster.nodes.all() if n.workload_id]
                cluster.delete()
                Workload.objects.filter(pk__in=node_vms).delete()
            ContainerHost.objects.all().delete()
        self.stdout.write("Removed the existing container data.")

    def container_hosts(self) -> list[ContainerHost]:
        """One container host per cluster running container-VMs (on the segment most of them use), and one on the
        first cluster of every site that would otherwise have none."""
        usage = Counter(Workload.objects.filter(kind=WorkloadKind.CONTAINER_VM).values_list("host__cluster", "segment"))
        by_cluster: dict[int, int] = {}
        for (cluster_id, segment_id), _count in usage.most_common():
            by_cluster.setdefault(cluster_id, segment_id)
        for site in Site.objects.order_by("name"):
            clusters = Cluster.objects.filter(site=site, hosts__state=HostState.CONNECTED).distinct().order_by("name")
            if not any(c.pk in by_cluster for c in clusters) and clusters:
                segment = NetworkSegment.objects.filter(sites=site).order_by("name").first()
                if segment:
                    by_cluster[clusters[0].pk] = segment.pk
        hosts = []
        for cluster in Cluster.objects.filter(pk__in=by_cluster).select_related("site").order_by("site__name", "name"):
            name = f"{cluster.name}-docker".lower().replace("_", "-")[:63]
            host = ContainerHost(
                name=name,
                cluster=cluster,
                cpu_limit=96,
                memory_limit_bytes=512 * GIB,
                segment_id=by_cluster[cluster.pk],
                endpoint=f"tcp://{name}.hybridcloud.internal:2376",
                description=f"Docker-compatible endpoint on {cluster.name} ({cluster.site.name}).",
            )
            host.full_clean()
            host.save()
            hosts.append(host)
        return hosts

    def adopt_container_vms(self, hosts: list[ContainerHost]) -> int:
        """seed_demo makes container-VMs as bare workloads; give each its container side, on its cluster's host."""
        by_cluster = {h.cluster_id: h for h in hosts}
        adopted = 0
        for workload in Workload.objects.filter(kind=WorkloadKind.CONTAINER_VM, container__isnull=True).select_related(
            "host"
        ):
            container_host = by_cluster.get(workload.host.cluster_id)
            if container_host is None:
                continue
            prefix = workload.name.rsplit("-", 1)[0]
            repository, tag = ROLE_IMAGES.get(prefix, "alpine:3.20").rsplit(":", 1)
            running = workload.power_state == "on"
            ContainerSpec.objects.create(
                workload=workload,
                container_host=container_host,
                image=Image.objects.get(repository=repository, tag=tag),
                cpus=workload.vcpus,
                state="running" if running else "exited",
                started_at=workload.created_at if running else None,
                exit_code=None if running else 0,
            )
            adopted += 1
        return adopted

    def create_containers(self, hosts: list[ContainerHost], rng: random.Random) -> tuple[int, int]:
        created = refused = 0
        for name, image, command, env, ports, cpus, memory in CONTAINERS:
            container_host = hosts[0] if len(hosts) == 1 else rng.choice(hosts)
            try:
                workload = container_create(
                    container_host=container_host, name=name, image_ref=image, command=command, env=env, ports=ports,
                    cpus=cpus, memory_bytes=memory, restart_policy="unless-stopped",
                )  # fmt: skip
            except ContainerRefused as exc:
                refused += 1
                self.stderr.write(f"  {name}: {exc.messages[0]}")
                continue
            created += 1
            if name == "report-job":  # a batch job that has run and exited
                container_stop(workload=workload, exit_code=0)
        return created, refused

    def import_cluster(self) -> str:
        site = Site.objects.filter(kind="private").order_by("name").first() or Site.objects.order_by("name").first()
        cluster = ContainerCluster(name="shop-k8s", site=site, description="The web shop's Kubernetes cluster.")
        cluster.full_clean()
        cluster.save()
        try:
            report = cluster_import_kubernetes(cluster=cluster, document=DEMO_CLUSTER.read_bytes())
        except ContainerRefused as exc:
            return f"cluster shop-k8s on {site}: import refused ({exc.messages[0]})"
        return f"cluster shop-k8s on {site}: {report.summary()}"

"""Containers beside VMs: container hosts and the container-VMs they run, images, and orchestrated clusters
whose nodes are VMs and whose pods are plain containers."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse

from containers.choices import ContainerState, EventAction, Orchestrator, PodPhase, Protocol, RestartPolicy
from hybridcloud.core.units import GIB

dns_label = RegexValidator(
    r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$",
    "Use lowercase letters, digits and hyphens (a DNS label: at most 63 characters, no hyphen at either end).",
)
digest_validator = RegexValidator(r"^sha256:[0-9a-f]{64}$", "A digest is 'sha256:' followed by 64 hex digits.")


class ContainerHost(models.Model):
    """A Docker-compatible endpoint backed by a cluster's hosts: every container it runs is a container-VM placed on
    one of them. Names are unique DNS labels; the containers' CPUs and memory stay within its limits; the segment
    its containers attach to is present on the cluster's site."""

    name = models.CharField(max_length=63, unique=True, validators=[dns_label])
    cluster = models.ForeignKey("inventory.Cluster", on_delete=models.PROTECT, related_name="container_hosts")
    cpu_limit = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        validators=[MinValueValidator(1)],
        help_text="CPUs its running containers may use in total (Docker --cpus, summed).",
    )
    memory_limit_bytes = models.BigIntegerField(
        validators=[MinValueValidator(GIB)], help_text="Memory its running containers may use in total."
    )
    segment = models.ForeignKey(
        "inventory.NetworkSegment",
        on_delete=models.PROTECT,
        related_name="container_hosts",
        help_text="The network its containers attach to; each gets the next free address on it.",
    )
    endpoint = models.CharField(
        max_length=200, blank=True, help_text="How clients reach it, e.g. tcp://ca-docker:2376 (descriptive)."
    )
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("containers:host_detail", args=[self.name])

    def clean(self) -> None:
        # The segment its containers attach to is present where the cluster's hosts are.
        if self.cluster_id and self.segment_id and not self.segment.sites.filter(pk=self.cluster.site_id).exists():
            raise ValidationError(
                {"segment": f"Segment {self.segment.name} is not present on {self.cluster.site}, where cluster "
                 f"{self.cluster.name} is."}
            )  # fmt: skip


class Image(models.Model):
    """A container image pulled into the platform. A repository and tag name one image; its digest is sha256."""

    repository = models.CharField(max_length=255)
    tag = models.CharField(max_length=128, default="latest")
    digest = models.CharField(max_length=71, validators=[digest_validator])
    size_bytes = models.BigIntegerField(validators=[MinValueValidator(0)])
    pulled_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["repository", "tag"]
        constraints = [
            models.UniqueConstraint(
                fields=["repository", "tag"],
                name="image_unique_repository_tag",
                violation_error_message="This image (repository and tag) is already pulled.",
            )
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.tag}"

    @property
    def short_id(self) -> str:
        return self.digest.removeprefix("sha256:")[:12]


class ContainerSpec(models.Model):
    """The container side of a container-VM workload: what it runs (image, command, environment, ports), through
    which container host, and its Docker state. Only workloads of kind container_vm have one."""

    workload = models.OneToOneField(
        "inventory.Workload", on_delete=models.CASCADE, related_name="container", primary_key=True
    )
    container_host = models.ForeignKey(ContainerHost, on_delete=models.PROTECT, related_name="containers")
    image = models.ForeignKey(Image, on_delete=models.PROTECT, related_name="containers")
    command = models.JSONField(default=list, blank=True, help_text="The command, as a list of arguments.")
    environment = models.JSONField(default=dict, blank=True, help_text="Environment variables, name → value.")
    cpus = models.DecimalField(
        max_digits=6, decimal_places=2, validators=[MinValueValidator(0.01)], help_text="Docker --cpus."
    )
    restart_policy = models.CharField(max_length=16, choices=RestartPolicy.choices, default=RestartPolicy.NO)
    state = models.CharField(max_length=16, choices=ContainerState.choices, default=ContainerState.CREATED)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["workload__name"]

    def __str__(self) -> str:
        return f"{self.workload} ({self.image})"

    def get_absolute_url(self) -> str:
        return reverse("containers:container_detail", args=[self.workload_id])

    @property
    def ports(self) -> list[dict]:
        """Published ports as Docker lists them: [{host_port, container_port, protocol}]."""
        return [
            {"host_port": p.host_port, "container_port": p.container_port, "protocol": p.protocol}
            for p in self.published_ports.all()
        ]

    def clean(self) -> None:
        # Only container-VMs carry a container specification.
        if self.workload_id and not self.workload.is_container_vm:
            raise ValidationError({"workload": f"{self.workload} is a VM, not a container-VM."})
        # The environment is a flat mapping of names to strings.
        if not isinstance(self.environment, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.environment.items()
        ):
            raise ValidationError({"environment": "The environment maps names to string values."})
        # The command is a list of strings.
        if not isinstance(self.command, list) or not all(isinstance(a, str) for a in self.command):
            raise ValidationError({"command": "The command is a list of string arguments."})


class PublishedPort(models.Model):
    """A container port published on its container host. A host port and protocol are published at most once per
    container host, whichever container holds them."""

    container_host = models.ForeignKey(ContainerHost, on_delete=models.CASCADE, related_name="published_ports")
    container = models.ForeignKey(ContainerSpec, on_delete=models.CASCADE, related_name="published_ports")
    host_port = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(65535)])
    container_port = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(65535)])
    protocol = models.CharField(max_length=4, choices=Protocol.choices, default=Protocol.TCP)

    class Meta:
        ordering = ["host_port", "protocol"]
        constraints = [
            models.UniqueConstraint(
                fields=["container_host", "host_port", "protocol"],
                name="publishedport_unique_per_container_host",
                violation_error_message="This port is already published on this container host.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.host_port}->{self.container_port}/{self.protocol}"


class ContainerEvent(models.Model):
    """Something that happened to a container-VM or a pod: the audit trail. It outlives what it describes (the
    name is kept), so a removed container's history still reads."""

    workload = models.ForeignKey(
        "inventory.Workload", on_delete=models.SET_NULL, null=True, blank=True, related_name="container_events"
    )
    pod = models.ForeignKey("Pod", on_delete=models.SET_NULL, null=True, blank=True, related_name="events")
    container_host = models.ForeignKey(
        ContainerHost, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    subject = models.CharField(max_length=255, help_text="The container's (or pod's) name when it happened.")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=16, choices=EventAction.choices)
    message = models.CharField(max_length=500, blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.subject}: {self.action}"


class ContainerCluster(models.Model):
    """A cluster run by an orchestrator (Kubernetes-style) on one site: its nodes are VMs, its pods plain containers
    that reschedule rather than move live. Names are unique."""

    name = models.CharField(max_length=63, unique=True, validators=[dns_label])
    orchestrator = models.CharField(max_length=16, choices=Orchestrator.choices, default=Orchestrator.KUBERNETES)
    version = models.CharField(max_length=32, blank=True, help_text="e.g. v1.30.4 (read from the nodes on import).")
    site = models.ForeignKey("inventory.Site", on_delete=models.PROTECT, related_name="container_clusters")
    segment = models.ForeignKey(
        "inventory.NetworkSegment",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="container_clusters",
        help_text="Where node VMs created on import attach (default: a segment present on the site).",
    )
    description = models.TextField(blank=True)
    imported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("containers:cluster_detail", args=[self.name])

    def clean(self) -> None:
        # Node VMs attach to a segment present on the cluster's site.
        if self.site_id and self.segment_id and not self.segment.sites.filter(pk=self.site_id).exists():
            raise ValidationError({"segment": f"Segment {self.segment.name} is not present on {self.site}."})


class Node(models.Model):
    """A node of an orchestrated cluster; each is a VM workload. Names are unique per cluster."""

    cluster = models.ForeignKey(ContainerCluster, on_delete=models.CASCADE, related_name="nodes")
    name = models.CharField(max_length=253)
    workload = models.ForeignKey(
        "inventory.Workload", on_delete=models.SET_NULL, null=True, blank=True, related_name="cluster_nodes"
    )
    roles = models.JSONField(default=list, blank=True)
    kubelet_version = models.CharField(max_length=32, blank=True)
    os_image = models.CharField(max_length=100, blank=True)
    internal_ip = models.GenericIPAddressField(null=True, blank=True)
    ready = models.BooleanField(default=False)

    class Meta:
        ordering = ["cluster__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "name"],
                name="node_unique_name_per_cluster",
                violation_error_message="This cluster already has a node with this name.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Pod(models.Model):
    """A pod: plain containers on one node. It cannot move live; moving it means rescheduling it (stop here, start
    on another node). Names are unique per cluster and namespace."""

    cluster = models.ForeignKey(ContainerCluster, on_delete=models.CASCADE, related_name="pods")
    namespace = models.CharField(max_length=63)
    name = models.CharField(max_length=253)
    uid = models.CharField(max_length=64, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    node = models.ForeignKey(Node, on_delete=models.SET_NULL, null=True, blank=True, related_name="pods")
    phase = models.CharField(max_length=16, choices=PodPhase.choices, default=PodPhase.PENDING)
    pod_ip = models.GenericIPAddressField(null=True, blank=True)
    restart_count = models.PositiveIntegerField(default=0)
    containers = models.JSONField(default=list, blank=True, help_text="[{name, image, ready, restart_count}]")
    started_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["cluster__name", "namespace", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "namespace", "name"],
                name="pod_unique_name_per_namespace",
                violation_error_message="This namespace already has a pod with this name.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"

    def get_absolute_url(self) -> str:
        return reverse("containers:pod_detail", args=[self.pk])

    @property
    def phase_colour(self) -> str:
        return PodPhase(self.phase).colour if self.phase in PodPhase.values else "grey"

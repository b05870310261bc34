from rest_framework import serializers

from containers.choices import RestartPolicy
from containers.models import ContainerCluster, ContainerEvent, ContainerHost, ContainerSpec, Image, Node, Pod


class ContainerHostSerializer(serializers.ModelSerializer):
    cluster = serializers.CharField(source="cluster.name", read_only=True)
    site = serializers.CharField(source="cluster.site.name", read_only=True)
    segment = serializers.CharField(source="segment.name", read_only=True)
    cpu_limit = serializers.DecimalField(max_digits=8, decimal_places=2, read_only=True)
    container_count = serializers.IntegerField(read_only=True)
    running_count = serializers.IntegerField(read_only=True)
    cpus_used = serializers.DecimalField(max_digits=10, decimal_places=2, read_only=True)
    memory_used_bytes = serializers.IntegerField(source="memory_used", read_only=True)

    class Meta:
        model = ContainerHost
        fields = [
            "id", "name", "cluster", "site", "segment", "endpoint", "cpu_limit", "memory_limit_bytes",
            "container_count", "running_count", "cpus_used", "memory_used_bytes",
        ]  # fmt: skip


class ImageSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(read_only=True)

    class Meta:
        model = Image
        fields = ["id", "reference", "repository", "tag", "digest", "size_bytes", "pulled_at"]


class ImagePullSerializer(serializers.Serializer):
    image = serializers.CharField(max_length=300, help_text="repository[:tag], e.g. nginx:1.27")


class PortSerializer(serializers.Serializer):
    host_port = serializers.IntegerField()
    container_port = serializers.IntegerField()
    protocol = serializers.CharField()


class ContainerSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="workload_id", read_only=True)
    name = serializers.CharField(source="workload.name", read_only=True)
    container_host = serializers.CharField(source="container_host.name", read_only=True)
    image = serializers.CharField(source="image.reference", read_only=True)
    image_digest = serializers.CharField(source="image.digest", read_only=True)
    ports = PortSerializer(many=True, read_only=True)
    power_state = serializers.CharField(source="workload.power_state", read_only=True)
    host = serializers.CharField(source="workload.host.name", read_only=True)
    site = serializers.CharField(source="workload.host.cluster.site.name", read_only=True)
    ip_address = serializers.CharField(source="workload.ip_address", read_only=True)
    segment = serializers.CharField(source="workload.segment.name", read_only=True)
    vcpus = serializers.IntegerField(source="workload.vcpus", read_only=True)
    memory_bytes = serializers.IntegerField(source="workload.memory_bytes", read_only=True)
    workload_url = serializers.CharField(source="workload.get_absolute_url", read_only=True)
    cpus = serializers.DecimalField(max_digits=6, decimal_places=2, read_only=True)

    class Meta:
        model = ContainerSpec
        fields = [
            "id", "name", "container_host", "image", "image_digest", "command", "environment", "ports", "cpus",
            "restart_policy", "state", "started_at", "finished_at", "exit_code", "power_state", "host", "site",
            "ip_address", "segment", "vcpus", "memory_bytes", "workload_url",
        ]  # fmt: skip


class ContainerCreateSerializer(serializers.Serializer):
    """A Docker-style request; every check that can refuse it runs in containers.services.create.container_create."""

    container_host = serializers.CharField(required=False, help_text="Its name (optional when there is only one).")
    image = serializers.CharField()
    name = serializers.CharField(required=False, allow_blank=True, default="")
    command = serializers.JSONField(required=False, help_text="A string or a list of arguments.")
    env = serializers.JSONField(required=False, help_text='{"NAME": "value"} or ["NAME=value", ...]')
    ports = serializers.JSONField(required=False, help_text='["8080:80/tcp"] or [{"host_port", "container_port"}]')
    cpus = serializers.CharField(required=False, default="1")
    memory = serializers.JSONField(required=False, help_text="Bytes, or '512m' / '2g'.")
    restart_policy = serializers.ChoiceField(choices=RestartPolicy.choices, default=RestartPolicy.NO)
    start = serializers.BooleanField(default=True)


class ContainerEventSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", default=None, read_only=True)

    class Meta:
        model = ContainerEvent
        fields = ["at", "action", "subject", "message", "user"]


class NodeSerializer(serializers.ModelSerializer):
    workload = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Node
        fields = ["id", "name", "workload", "roles", "kubelet_version", "os_image", "internal_ip", "ready"]


class ContainerClusterSerializer(serializers.ModelSerializer):
    site = serializers.CharField(source="site.name", read_only=True)
    node_count = serializers.IntegerField(read_only=True)
    pod_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = ContainerCluster
        fields = ["id", "name", "orchestrator", "version", "site", "imported_at", "node_count", "pod_count"]


class PodSerializer(serializers.ModelSerializer):
    cluster = serializers.CharField(source="cluster.name", read_only=True)
    node = serializers.CharField(source="node.name", default=None, allow_null=True, read_only=True)

    class Meta:
        model = Pod
        fields = [
            "id", "cluster", "namespace", "name", "uid", "labels", "node", "phase", "pod_ip", "restart_count",
            "containers", "started_at",
        ]  # fmt: skip

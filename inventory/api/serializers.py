"""Inventory serializers. Writes run the model's full_clean() (field rules, clean(), constraints), so the API
refuses exactly what the admin refuses, with the same messages, as 400 with errors keyed by field."""

import copy

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.settings import api_settings
from rest_framework.validators import UniqueTogetherValidator, UniqueValidator

from inventory import services
from inventory.models import CloudLink, Cluster, Datastore, Host, NetworkSegment, PlacementRule, Site, Tag, Workload


class ModelCleanSerializer(serializers.ModelSerializer):
    """Leaves uniqueness and every other model rule to Model.full_clean(), so that messages match the admin's."""

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            field.validators = [v for v in field.validators if not isinstance(v, UniqueValidator)]
        return fields

    def get_validators(self):
        return [v for v in super().get_validators() if not isinstance(v, UniqueTogetherValidator)]

    def validate(self, attrs):
        attrs = super().validate(attrs)
        many_to_many = {f.name for f in self.Meta.model._meta.many_to_many}
        instance = copy.copy(self.instance) if self.instance is not None else self.Meta.model()
        for name, value in attrs.items():
            if name not in many_to_many:
                setattr(instance, name, value)
        try:
            instance.full_clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(
                {
                    (api_settings.NON_FIELD_ERRORS_KEY if key == NON_FIELD_ERRORS else key): messages
                    for key, messages in exc.message_dict.items()
                }
            ) from None
        self.validate_relations(instance, attrs)
        return attrs

    def validate_relations(self, instance, attrs) -> None:
        """Rules on many-to-many fields, which full_clean() cannot see."""


class SiteSerializer(ModelCleanSerializer):
    class Meta:
        model = Site
        fields = ["id", "name", "kind", "provider", "region", "location", "latitude", "longitude", "description"]


class CloudLinkSerializer(ModelCleanSerializer):
    class Meta:
        model = CloudLink
        fields = [
            "id",
            "site_a",
            "site_b",
            "bandwidth_mbit",
            "rtt_ms",
            "loss_percent",
            "compression_ratio",
            "encrypted",
            "mtu_bytes",
        ]


class ClusterSerializer(ModelCleanSerializer):
    class Meta:
        model = Cluster
        fields = ["id", "name", "site", "cpu_vendor", "cpu_baseline"]


def tags_field() -> serializers.SlugRelatedField:
    """Tags by slug, read and written: `"tags": ["db-replicas", "pci"]`."""
    return serializers.SlugRelatedField(many=True, slug_field="slug", queryset=Tag.objects.all(), required=False)


class HostSerializer(ModelCleanSerializer):
    site = serializers.IntegerField(source="cluster.site_id", read_only=True)
    tags = tags_field()

    class Meta:
        model = Host
        fields = [
            "id", "name", "cluster", "site", "hypervisor", "cores", "ghz", "memory_bytes", "migration_nic_gbps",
            "migration_streams", "migration_socket_buffer_bytes", "migration_encrypted", "migration_cipher_rate_bps",
            "migration_codec_rate_bps", "state", "tags",
        ]  # fmt: skip


class DatastoreSerializer(ModelCleanSerializer):
    class Meta:
        model = Datastore
        fields = ["id", "name", "site", "kind", "capacity_bytes", "used_bytes", "hosts"]

    def validate_relations(self, instance, attrs) -> None:
        if "hosts" in attrs or "site" in attrs:
            hosts = attrs.get("hosts", instance.hosts.all() if instance.pk else [])
            try:
                services.validate_datastore_hosts(instance.site, hosts)
            except DjangoValidationError as exc:
                raise serializers.ValidationError(exc.message_dict) from None


class NetworkSegmentSerializer(ModelCleanSerializer):
    class Meta:
        model = NetworkSegment
        fields = ["id", "name", "overlay_id", "cidr", "gateway", "sites"]


class WorkloadSerializer(ModelCleanSerializer):
    site = serializers.IntegerField(source="host.cluster.site_id", read_only=True)
    site_name = serializers.CharField(source="host.cluster.site.name", read_only=True)
    host_name = serializers.CharField(source="host.name", read_only=True)
    segment_name = serializers.CharField(source="segment.name", read_only=True)
    tags = tags_field()

    class Meta:
        model = Workload
        fields = [
            "id", "name", "kind", "vcpus", "memory_bytes", "disk_bytes", "power_state", "site", "site_name", "host",
            "host_name", "datastore", "segment", "segment_name", "ip_address", "guest_os", "dirty_rate_bps",
            "working_set_bytes", "disk_write_rate_bps", "disk_used_bytes", "annotation", "estate", "external_id",
            "created_at", "updated_at", "tags",
        ]  # fmt: skip
        read_only_fields = ["created_at", "updated_at", "estate", "external_id"]


class TagSerializer(ModelCleanSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name", "slug", "color", "description"]


class PlacementRuleSerializer(ModelCleanSerializer):
    workload_tag = serializers.SlugRelatedField(
        slug_field="slug", queryset=Tag.objects.all(), required=False, allow_null=True
    )
    host_tag = serializers.SlugRelatedField(
        slug_field="slug", queryset=Tag.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = PlacementRule
        fields = ["id", "name", "kind", "scope", "workload_tag", "workloads", "host_tag", "enabled", "description"]

    def validate_relations(self, instance, attrs) -> None:
        workloads = attrs.get("workloads", instance.workloads.all() if instance.pk else [])
        error = PlacementRule.members_error(workload_tag=instance.workload_tag, workloads=workloads)
        if error:
            raise serializers.ValidationError({"workload_tag": [error]})

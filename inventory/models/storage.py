"""Storage: datastores and the hosts that see them."""

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from hybridcloud.core.units import GIB
from inventory.choices import (
    DatastoreKind,
)
from inventory.models.compute import Host
from inventory.models.sites import Site


class Datastore(models.Model):
    """Storage on one site, seen by some of its hosts. Names are unique per site."""

    name = models.CharField(max_length=100)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="datastores")
    kind = models.CharField(max_length=16, choices=DatastoreKind.choices, default=DatastoreKind.SHARED)
    capacity_bytes = models.BigIntegerField(validators=[MinValueValidator(GIB)])
    used_bytes = models.BigIntegerField(default=0, validators=[MinValueValidator(0)])
    hosts = models.ManyToManyField(Host, related_name="datastores", blank=True, help_text="Hosts that see it.")
    estate = models.ForeignKey(
        "inventory.Estate", null=True, blank=True, on_delete=models.PROTECT, related_name="datastores",
        help_text="The imported estate (vCenter) this came from; empty when entered by hand.",
    )  # fmt: skip

    class Meta:
        ordering = ["site__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "name"],
                name="datastore_unique_name_per_site",
                violation_error_message="A datastore with this name already exists on this site.",
            ),
            models.CheckConstraint(
                condition=Q(used_bytes__lte=models.F("capacity_bytes")),
                name="datastore_used_within_capacity",
                violation_error_message="Used space cannot exceed the datastore's capacity.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.site})"

    @property
    def free_bytes(self) -> int:
        return self.capacity_bytes - self.used_bytes

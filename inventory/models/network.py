"""Networks: logical segments, present on one or several sites."""

import ipaddress

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from inventory.models.sites import Site


class NetworkSegment(models.Model):
    """A logical switch (overlay network) present on one or several sites. Stretched over two sites, it lets a
    workload keep its IP address when it moves between them. Names and overlay ids are unique."""

    name = models.CharField(max_length=100, unique=True)
    overlay_id = models.PositiveIntegerField(
        unique=True, validators=[MinValueValidator(1), MaxValueValidator(16_777_215)], help_text="VNI (24 bits)."
    )
    cidr = models.CharField(max_length=43, help_text="e.g. 10.20.0.0/16")
    gateway = models.GenericIPAddressField()
    sites = models.ManyToManyField(Site, related_name="segments", help_text="Sites the segment is present on.")
    estate = models.ForeignKey(
        "inventory.Estate", null=True, blank=True, on_delete=models.PROTECT, related_name="segments",
        help_text="The imported estate (vCenter) this came from; empty when entered by hand.",
    )  # fmt: skip
    external_id = models.CharField(
        max_length=300, blank=True, help_text="For an imported port group: its datacenter and name in the vCenter."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.cidr})"

    def get_absolute_url(self) -> str:
        return reverse("inventory:segment_detail", args=[self.pk])

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(self.cidr, strict=True)

    def clean(self) -> None:
        # The CIDR is a network address with a prefix length.
        try:
            network = ipaddress.ip_network(self.cidr, strict=True)
        except ValueError as exc:
            raise ValidationError({"cidr": f"'{self.cidr}' is not a network in CIDR form ({exc})."}) from None
        # The gateway lives inside the segment.
        if self.gateway and ipaddress.ip_address(self.gateway) not in network:
            raise ValidationError({"gateway": f"The gateway {self.gateway} is outside {self.cidr}."})

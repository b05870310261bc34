"""Sites and the WAN links between them."""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Greatest, Least
from django.urls import reverse

from inventory.choices import (
    SiteKind,
)
from inventory.links import IP_TCP_HEADER_BYTES, mbit_to_bps, migration_slots


class Site(models.Model):
    """A private datacenter or a public cloud region. Names are unique."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=SiteKind.choices, default=SiteKind.PRIVATE)
    provider = models.CharField(max_length=100, help_text="Who runs it: 'On-premises', 'AWS', 'Azure', ...")
    region = models.CharField(max_length=64, blank=True, help_text="The provider's region code, e.g. us-east-1.")
    location = models.CharField(max_length=100, help_text="City or area, e.g. 'Santa Clara, California'.")
    latitude = models.FloatField(validators=[MinValueValidator(-90), MaxValueValidator(90)])
    longitude = models.FloatField(validators=[MinValueValidator(-180), MaxValueValidator(180)])
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("inventory:site_detail", args=[self.pk])


class CloudLink(models.Model):
    """A symmetric WAN link between two different sites; at most one per pair of sites, in either order."""

    site_a = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="links_as_a")
    site_b = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="links_as_b")
    bandwidth_mbit = models.PositiveIntegerField(
        validators=[MinValueValidator(1)], help_text="Usable bandwidth in Mbit/s (1 Gbit/s = 1000)."
    )
    rtt_ms = models.FloatField(validators=[MinValueValidator(0)], help_text="Round-trip time in milliseconds.")
    loss_percent = models.FloatField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(100)], help_text="Packet loss, in percent."
    )
    compression_ratio = models.FloatField(
        default=1.0,
        validators=[MinValueValidator(1.0), MaxValueValidator(10.0)],
        help_text="WAN optimization: memory bytes carried per byte on the wire (1.0 = none).",
    )
    encrypted = models.BooleanField(default=True)
    mtu_bytes = models.PositiveIntegerField(
        default=1500,
        validators=[
            MinValueValidator(576, message="An MTU below 576 bytes (IPv4's minimum) cannot carry a migration."),
            MaxValueValidator(9216, message="An MTU above 9216 bytes (the largest jumbo frame) is not a real path."),
        ],
        help_text="Largest IP packet on the path, bytes (1500 Ethernet; less through a VPN; 9000 jumbo frames).",
    )

    class Meta:
        ordering = ["site_a__name", "site_b__name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(site_a=models.F("site_b")),
                name="cloudlink_distinct_sites",
                violation_error_message="A link joins two different sites.",
            ),
            models.UniqueConstraint(
                Least("site_a", "site_b"),
                Greatest("site_a", "site_b"),
                name="cloudlink_one_per_site_pair",
                violation_error_message="These two sites are already linked (links are symmetric: one per pair).",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.site_a} ↔ {self.site_b}"

    @property
    def bandwidth_bps(self) -> float:
        """Bytes per second, the engine's unit."""
        return mbit_to_bps(self.bandwidth_mbit)

    @property
    def migration_slots(self) -> int:
        """Live moves the link carries at once (`inventory.links.migration_slots`)."""
        return migration_slots(self.bandwidth_mbit)

    @property
    def rtt_s(self) -> float:
        return self.rtt_ms / 1000

    @property
    def loss(self) -> float:
        """Packet loss as a fraction (the engine's unit): 0.01 % is 0.0001."""
        return self.loss_percent / 100

    @property
    def mss_bytes(self) -> int:
        """TCP payload per segment: the MTU less the IPv4 and TCP headers."""
        return self.mtu_bytes - IP_TCP_HEADER_BYTES

    def other_site(self, site: Site) -> Site:
        return self.site_b if site.pk == self.site_a_id else self.site_a

    def clean(self) -> None:
        # A link joins two different sites.
        if self.site_a_id and self.site_a_id == self.site_b_id:
            raise ValidationError({"site_b": "A link joins two different sites."})
        # One link per pair, whichever way round it was entered.
        if self.site_a_id and self.site_b_id:
            reverse_pair = CloudLink.objects.filter(site_a_id=self.site_b_id, site_b_id=self.site_a_id)
            if reverse_pair.exclude(pk=self.pk).exists():
                raise ValidationError(
                    {"site_b": "These two sites are already linked (links are symmetric: one per pair)."}
                )
        # A link that loses every packet carries nothing: such a link is down, not slow.
        if self.loss_percent is not None and self.loss_percent >= 100:
            raise ValidationError(
                {"loss_percent": "A link that loses every packet carries nothing; keep it below 100 %."}
            )

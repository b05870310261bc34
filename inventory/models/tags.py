"""Tags on workloads and hosts, and the placement rules built on them."""

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse

from inventory.choices import (
    PlacementRuleKind,
    PlacementScope,
)
from inventory.models.workloads import Workload


class Tag(models.Model):
    """A label on workloads and hosts (NetBox-style): a unique name and slug, and a colour as six hex digits."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    color = models.CharField(
        max_length=6,
        default="9e9e9e",
        validators=[RegexValidator(r"^[0-9a-f]{6}$", message="Enter a colour as six hex digits, e.g. 2f6a31.")],
        help_text="Six lower-case hex digits, e.g. 2f6a31.",
    )
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("inventory:workload_list") + f"?tag={self.slug}"

    @property
    def text_colour(self) -> str:
        """Black or white, whichever reads better on the tag's colour (relative luminance above one half: black)."""
        r, g, b = (int(self.color[i : i + 2], 16) / 255 for i in (0, 2, 4))
        return "000000" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.5 else "ffffff"


class PlacementRule(models.Model):
    """Where a set of workloads may run. Its members are the workloads tagged `workload_tag` plus `workloads`.
    Keep together: all members on one host (scope host) or one site (scope site). Keep apart: no two members on
    one host (or one site). Pin to a host group: members only on hosts tagged `host_tag`. A disabled rule binds
    nothing."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=PlacementRuleKind.choices)
    scope = models.CharField(
        max_length=8,
        choices=PlacementScope.choices,
        default=PlacementScope.HOST,
        help_text="Keep together / apart on hosts or on sites. A pin's scope is its host group.",
    )
    workload_tag = models.ForeignKey(
        Tag,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="workload_rules",
        help_text="Every workload with this tag is a member.",
    )
    workloads = models.ManyToManyField(
        Workload, blank=True, related_name="placement_rules", help_text="Members named one by one."
    )
    host_tag = models.ForeignKey(
        Tag,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="host_rules",
        help_text="Pin only: the host group, every host with this tag.",
    )
    enabled = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("placement_rules") + f"#rule-{self.pk}"

    def clean(self) -> None:
        # A pin needs its host group; keep rules have none.
        if self.kind == PlacementRuleKind.PIN_TO_HOSTS and self.host_tag_id is None:
            raise ValidationError({"host_tag": "A pin rule needs a host group: choose the tag of its hosts."})
        if self.kind != PlacementRuleKind.PIN_TO_HOSTS and self.host_tag_id is not None:
            raise ValidationError(
                {"host_tag": "Only a pin rule has a host group; keep-together and keep-apart rules do not."}
            )
        # A pin's hosts are its scope: "sites" would say something the rule does not do.
        if self.kind == PlacementRuleKind.PIN_TO_HOSTS and self.scope != PlacementScope.HOST:
            raise ValidationError({"scope": "A pin rule's scope is its host group: leave the scope at Hosts."})

    @staticmethod
    def members_error(*, workload_tag: Tag | None, workloads) -> str | None:
        """A rule needs members: a workload tag, or workloads named one by one (checked by the forms and the API,
        which see both before the many-to-many is saved)."""
        if workload_tag is None and not list(workloads or []):
            return "Choose the rule's members: a workload tag, or workloads one by one."
        return None

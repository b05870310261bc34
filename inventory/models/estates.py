"""Imported estates (vCenters) and their RVTools imports."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

from inventory.choices import (
    ESTATE_IMPORT_FINISHED,
    EstateImportStatus,
)
from inventory.models.sites import Site


class Estate(models.Model):
    """One vCenter's estate, brought in (and kept up to date) by RVTools imports. Names are unique, and so is the
    vCenter's instance UUID when the export carries it: a later export of the same vCenter updates this estate.
    Everything imported links back here (`workloads`, `hosts`, `clusters`, `datastores`, `segments`)."""

    name = models.CharField(max_length=100, unique=True)
    vcenter = models.CharField(max_length=200, blank=True, help_text="The vCenter the export was taken from.")
    vcenter_uuid = models.CharField(max_length=64, blank=True, help_text="The vCenter's instance UUID, if exported.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["vcenter_uuid"],
                condition=~Q(vcenter_uuid=""),
                name="estate_unique_vcenter_uuid",
                violation_error_message="An estate of this vCenter already exists.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class EstateDatacenter(models.Model):
    """Which site one datacenter of an estate was imported into; later imports of the estate reuse it."""

    estate = models.ForeignKey(Estate, on_delete=models.CASCADE, related_name="datacenters")
    name = models.CharField(max_length=200)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["estate__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["estate", "name"],
                name="estatedatacenter_unique_per_estate",
                violation_error_message="This datacenter is already mapped for this estate.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} → {self.site}"


class EstateImport(models.Model):
    """One run of the RVTools import. Its status moves draft (uploaded, sites not chosen yet) → queued → running →
    succeeded | refused | failed by
    conditional updates (a task delivered twice runs it once); `progress` (0-1) and `stage` are written as it goes;
    `summary` says what changed per kind; a refused file lists its first 50 problems in `errors` and counts all of
    them in `error_count`. Nothing is written to the inventory unless the whole file is valid."""

    estate = models.ForeignKey(Estate, null=True, blank=True, on_delete=models.SET_NULL, related_name="imports")
    estate_name = models.CharField(max_length=100, blank=True, help_text="Name for a new estate (optional).")
    file_name = models.CharField(max_length=255)
    file_size = models.BigIntegerField(default=0)
    status = models.CharField(
        max_length=16, choices=EstateImportStatus.choices, default=EstateImportStatus.DRAFT, db_index=True
    )
    progress = models.FloatField(default=0.0)
    stage = models.CharField(max_length=200, blank=True)
    site_choices = models.JSONField(
        default=dict, blank=True, help_text="Datacenter name → id of the existing site it goes to."
    )
    summary = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token = models.CharField(max_length=32, blank=True, help_text="Lease of the worker running it.")
    holder = models.CharField(max_length=200, blank=True, help_text="host:pid of the worker process running it.")
    attempts = models.PositiveSmallIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Import {self.pk} of {self.file_name}"

    def get_absolute_url(self) -> str:
        return reverse("inventory:estate_import_detail", args=[self.pk])

    @property
    def finished(self) -> bool:
        return self.status in ESTATE_IMPORT_FINISHED


class EstateImportFile(models.Model):
    """The uploaded bytes of an import, kept in the database (any worker on any machine can read them) until the
    import has run."""

    estate_import = models.OneToOneField(
        EstateImport, on_delete=models.CASCADE, primary_key=True, related_name="upload"
    )
    content = models.BinaryField()

    def __str__(self) -> str:
        return f"Upload of import {self.estate_import_id}"

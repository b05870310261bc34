"""Forms of the inventory's pages: the RVTools upload and the choice of a site per datacenter."""

from __future__ import annotations

from django import forms

from hybridcloud.core.units import format_bytes
from inventory.importers.runs import max_upload_bytes, upload_too_large
from inventory.models import Site

NEW_SITE = ""


class RVToolsUploadForm(forms.Form):
    file = forms.FileField(label="RVTools export", widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.zip"}))
    estate_name = forms.CharField(
        label="Estate name", max_length=100, required=False, help_text="Optional; the vCenter's name by default."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = (
            "The .xlsx RVTools wrote, or a .zip of its CSV files (RVTools_tabvInfo.csv, ...); at most "
            f"{format_bytes(max_upload_bytes())}."
        )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        # The size is refused before the bytes are read into memory.
        too_large = upload_too_large(name=upload.name, size=upload.size)
        if too_large:
            raise forms.ValidationError(too_large)
        if not upload.name.lower().endswith((".xlsx", ".zip")):
            raise forms.ValidationError(f"{upload.name} is neither an .xlsx workbook nor a .zip of CSV files.")
        return upload


class DatacenterSitesForm(forms.Form):
    """One choice per datacenter of the file: an existing site, or a new private site named after it."""

    def __init__(self, *args, datacenters: list[str], sites: list[Site], initial_sites: dict[str, int | None], **kw):
        super().__init__(*args, **kw)
        choices = [(NEW_SITE, "A new private site named after it")] + [
            (str(s.pk), f"{s.name} ({s.get_kind_display().lower()})") for s in sites
        ]
        self.datacenters = datacenters
        for i, datacenter in enumerate(datacenters):
            chosen = initial_sites.get(datacenter)
            self.fields[f"dc_{i}"] = forms.ChoiceField(
                label=datacenter, choices=choices, required=False, initial=str(chosen) if chosen else NEW_SITE
            )

    def site_choices(self) -> dict[str, int | None]:
        """datacenter name → chosen site id, or None for a new private site."""
        return {
            datacenter: int(self.cleaned_data[f"dc_{i}"]) if self.cleaned_data.get(f"dc_{i}") else None
            for i, datacenter in enumerate(self.datacenters)
        }

    def rows(self):
        return [(datacenter, self[f"dc_{i}"]) for i, datacenter in enumerate(self.datacenters)]

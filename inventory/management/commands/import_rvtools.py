"""python manage.py import_rvtools FILE [--site DATACENTER=SITE ...] [--estate NAME]

Imports an RVTools export (an .xlsx, a zip of its CSV files, or a folder of them) into the inventory: one line per
tab as it is read, then what changed. A file with problems is refused whole (the first 50 are listed with their tab,
row and column, then how many there were) and the command exits non-zero; nothing changes.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from hybridcloud.core.models import AuditVia
from inventory.importers.records import RVToolsRefused
from inventory.importers.runs import problems_payload, rvtools_import
from inventory.importers.sources import ExportUnreadable
from inventory.models import Site


class Command(BaseCommand):
    help = "Import an RVTools export (.xlsx, or a folder or zip of its CSV files) into the inventory."

    def add_arguments(self, parser):
        parser.add_argument("file", help="The .xlsx, the .zip of CSV files, or the folder holding them.")
        parser.add_argument(
            "--site",
            action="append",
            default=[],
            metavar="DATACENTER=SITE",
            help="Put a datacenter of the file on an existing site (name or id); repeat per datacenter. Without it a "
            "datacenter goes where it went last time, else to the site of the same name, else to a new private site.",
        )
        parser.add_argument("--estate", default="", help="Name of the estate (default: the vCenter's name).")

    def handle(self, *args, **options):
        path = Path(options["file"])
        site_choices = {}
        for item in options["site"]:
            datacenter, sep, site_ref = item.partition("=")
            if not sep or not datacenter.strip() or not site_ref.strip():
                raise CommandError(f"--site {item!r}: write it as DATACENTER=SITE.")
            site_ref = site_ref.strip()
            site = Site.objects.filter(name=site_ref).first() or (
                Site.objects.filter(pk=int(site_ref)).first() if site_ref.isdigit() else None
            )
            if site is None:
                raise CommandError(f"--site {item!r}: no site named {site_ref!r}.")
            site_choices[datacenter.strip()] = site.pk

        def on_tab(tab: str, rows: int) -> None:
            self.stdout.write(f"{tab:<11} {rows:>7,} rows read and checked")

        try:
            summary = rvtools_import(
                source=path, file_name=path.name, site_choices=site_choices, estate_name=options["estate"],
                via=AuditVia.CLI, on_tab=on_tab,
            )  # fmt: skip
        except (RVToolsRefused, ExportUnreadable) as exc:
            errors, count = problems_payload(exc)
            for line in errors:
                self.stderr.write(f"  {line}")
            if count > len(errors):
                self.stderr.write(f"  ... and {count - len(errors)} more")
            raise CommandError(f"{path.name} refused: {count} problem(s); nothing was changed.") from None
        self.stdout.write(self.style.SUCCESS(f"Estate {summary['estate']}: {summary['headline']}"))
        for kind, c in summary["counts"].items():
            kept = f", kept {'; '.join(c['kept'])}" if c["kept"] else ""
            self.stdout.write(
                f"  {kind:<10} added {c['added']}, updated {c['updated']}, removed {c['removed']}, "
                f"unchanged {c['unchanged']}{kept}"
            )
        self.stdout.write(f"  templates skipped: {summary['templates_skipped']}")
        for datacenter, site in summary["datacenters"].items():
            self.stdout.write(f"  datacenter {datacenter} → site {site}")
        self.stdout.write(f"  {summary['assumptions']['note']}")
        for rule, count in summary["assumptions"]["applied"].items():
            self.stdout.write(f"    {count:>6} × {rule}")
        for warning in summary["warnings"]:
            self.stdout.write(self.style.WARNING(f"  warning: {warning}"))
        if summary["warning_count"] > len(summary["warnings"]):
            self.stdout.write(f"  ... and {summary['warning_count'] - len(summary['warnings'])} more warnings")

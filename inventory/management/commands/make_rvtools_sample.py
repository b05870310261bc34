"""python manage.py make_rvtools_sample [--out PATH] [--csv-zip] [--vms N]

Writes an RVTools-shaped export: by default the demo's example (`inventory/fixtures/rvtools_demo.xlsx`, the file the
upload page offers as "import the demo example"); with --vms N a synthetic estate of N VMs (benchmarks).
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from inventory.importers.runs import DEMO_EXAMPLE
from inventory.importers.samples import demo_sample, synthetic_sample, tabs_to_csv_zip, tabs_to_xlsx


class Command(BaseCommand):
    help = "Write the demo's RVTools example (or a synthetic estate) as .xlsx or a zip of CSV files."

    def add_arguments(self, parser):
        parser.add_argument("--out", default=str(DEMO_EXAMPLE), help="Where to write it.")
        parser.add_argument("--csv-zip", action="store_true", help="A zip of RVTools_tab*.csv instead of .xlsx.")
        parser.add_argument("--vms", type=int, default=0, help="A synthetic estate of this many VMs.")

    def handle(self, *args, **options):
        sample = synthetic_sample(vms=options["vms"]) if options["vms"] else demo_sample()
        tabs = sample.tabs()
        data = tabs_to_csv_zip(tabs) if options["csv_zip"] else tabs_to_xlsx(tabs)
        out = Path(options["out"])
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        self.stdout.write(f"Wrote {out} ({len(data) / 1024:.0f} KiB, {len(sample.vms)} VMs, {len(sample.hosts)} hosts)")

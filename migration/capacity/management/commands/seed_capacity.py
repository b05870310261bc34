"""`python manage.py seed_capacity [--days 7] [--seed S]`: back-fill telemetry history for the current inventory."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from migration.capacity.sampling import backfill


class Command(BaseCommand):
    help = "Back-fills simulated CPU and memory telemetry (hosts and sites every 5 min, workloads hourly)."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=float, default=7.0, help="Days of history (default 7).")
        parser.add_argument("--seed", type=int, default=None, help="Telemetry seed (default: the settings' seed).")

    def handle(self, *args, days: float, seed: int | None, **options):
        if not 0 < days <= 90:
            raise CommandError("--days must be between 0 and 90.")
        started = time.monotonic()
        rows = backfill(days=days, seed=seed)
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {rows:,} utilisation samples ({days:g} days) in {time.monotonic() - started:.1f} s."
            )
        )

"""Benchmark: a burst of live moves started through the API at once, and what admission does with them.

Standalone: `python bench/migration_admission.py [--workloads 1500]`. Uses its own temporary SQLite database, seeds
the demo (`seed_demo --workloads N`, seed 42), then POSTs one move per powered-on workload to `/api/migrations/`
through Django's test Client, signed in as an operator, all before any of them runs (no driver, no worker: the
after-commit kicks are counted, not sent). Each workload goes to a site its own site has a link to (California →
Virginia, Virginia → California, AWS → California, Azure → Virginia); placement picks the host.

It counts moves started (running), queued and refused, and sorts the refusals by cause. Targets (issue #19, item 5):
no move refused only because its link is busy (the 250 Mbit/s per migration floor is an admission limit: the rest
wait), every refusal for something waiting cannot fix, and no link running more than bandwidth ÷ 250 Mbit/s moves.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _env import use_bench_settings  # noqa: E402

#: Refusal causes (matched in the error sentences) and whether waiting could fix them.
CAUSES = [
    ("link share below 250 Mbit/s", ("Mbit/s a live migration needs",), True),
    ("no host with room (placement)", ("No host", "no host", "memory free", "vCPUs, more than"), False),
    ("segment missing at the destination", ("Segment ", "no network segment"), False),
    ("link too slow for one move", ("less than the",), False),
    ("RTT over the limit", ("round-trip time",), False),
    ("no link", ("no cloud link",), False),
]


def cause_of(errors: list[str]) -> str:
    text = " ".join(errors)
    for label, needles, _ in CAUSES:
        if any(n in text for n in needles):
            return label
    return "other: " + text[:80]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=int, default=1500)
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="hc-bench-")
    use_bench_settings(tmp.name, log_level="ERROR")

    import logging

    import django

    django.setup()
    logging.getLogger("django.request").setLevel(logging.ERROR)  # each refusal is a 400 by design
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    from inventory.choices import PowerState
    from inventory.links import migration_slots
    from inventory.models import CloudLink, Site, Workload
    from migration import chains, progress
    from migration.choices import RUNNING_STATES, MigrationState
    from migration.models import Migration

    setup_test_environment()
    call_command("migrate", verbosity=0)
    call_command("seed_demo", workloads=args.workloads, seed=42, no_extensions=True, stdout=io.StringIO())

    # No worker in this measurement: what would be sent after each commit is counted instead.
    kicks: Counter = Counter()
    chains.kick_link = lambda key, force=False: kicks.update(["kick"]) or True
    chains.kick_admission = lambda: kicks.update(["admit"])
    progress.publish_progress = lambda *a, **k: None

    operator = User.objects.create_user("bench-operator", password="bench-password-123")
    operator.groups.add(Group.objects.get_or_create(name="operators")[0])
    client = Client()
    client.force_login(operator)

    sites = {s.name: s for s in Site.objects.all()}
    route = {
        "California DC": "Virginia DC", "Virginia DC": "California DC",
        "AWS us-west-2": "California DC", "Azure East US": "Virginia DC",
    }  # fmt: skip
    moves = [
        (w.pk, sites[route[w.host.cluster.site.name]].pk)
        for w in Workload.objects.filter(power_state=PowerState.ON).select_related("host__cluster__site").order_by("pk")
    ]
    refused: Counter = Counter()
    created = 0
    started = time.perf_counter()
    for workload_id, site_id in moves:
        body = {"workload": workload_id, "destination_site": site_id, "override_reason": "bench: evacuation drill"}
        response = client.post("/api/migrations/", body, content_type="application/json")
        if response.status_code == 201:
            created += 1
        elif response.status_code == 400:
            refused[cause_of(response.json()["errors"])] += 1
        else:
            raise SystemExit(f"unexpected {response.status_code}: {response.content[:300]!r}")
    elapsed = time.perf_counter() - started

    accepted_running = Migration.objects.filter(state__in=RUNNING_STATES).count()
    # What the worker does with the after-commit kicks: one admission pass, first come first served.
    from migration.services import migrations_admit_queued

    admitted = len(migrations_admit_queued())
    running = Migration.objects.filter(state__in=RUNNING_STATES).count()
    queued = Migration.objects.filter(state=MigrationState.QUEUED).count()
    print(f"{len(moves):,} live moves started through the API at once on a {args.workloads:,}-workload demo "
          f"({elapsed:.1f} s, {elapsed / len(moves) * 1000:.0f} ms a request):")  # fmt: skip
    print(f"  {created:,} accepted: {accepted_running:,} started at once; after one admission pass (+{admitted}) "
          f"{running:,} running, {queued:,} queued")  # fmt: skip
    print(f"  {sum(refused.values()):,} refused:")
    for label, n in refused.most_common():
        print(f"    {n:>5,}  {label}")
    over = []
    for link in CloudLink.objects.select_related("site_a", "site_b"):
        n = Migration.objects.filter(cloud_link=link, state__in=RUNNING_STATES).count()
        w = Migration.objects.filter(cloud_link=link, state=MigrationState.QUEUED).count()
        slots = migration_slots(link.bandwidth_mbit)
        print(f"  link {link.site_a.name} ↔ {link.site_b.name}: {n} running of {slots} slots, {w} queued")
        if n > slots:
            over.append(link)
    fixable = {label for label, _, fix in CAUSES if fix}
    checks = [
        ("no move refused because its link is busy (waiting fixes that: it queues)",
         not any(label in fixable for label in refused)),
        ("every refusal is for what waiting cannot fix", all(not label.startswith("other") for label in refused)),
        ("no link runs more than bandwidth ÷ 250 Mbit/s moves", not over),
    ]  # fmt: skip
    print()
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    tmp.cleanup()
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())

"""`python manage.py seed_dr [--seed S]`: the demo recovery plan and a week of past drills.

Protects the California datacenter on the Virginia one ("California → Virginia") with three priority groups
drawn from California's workloads (databases, app tier, web tier), a nightly 02:00 drill schedule, and a
few past drills computed by the same drill code (back-dated to the last nights) so the trend chart has
points. Run by `seed_demo` after the inventory; a no-op with a message when those sites are missing.
"""

import ipaddress
import random
from dataclasses import replace
from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from inventory.choices import PowerState, SiteKind
from inventory.models import NetworkSegment, Site, Workload
from migration.dr import drills, runner, schedules, services
from migration.dr.choices import DrillTrigger
from migration.dr.models import DrillRun, DrillStep, ProtectedWorkload, ProtectionGroup, RecoveryPlan

PLAN_NAME = "California → Virginia"
GROUPS = [
    # (name, name fragments that put a workload in it, how many, RPO in seconds)
    ("databases", ("pg-", "mssql", "db", "sql"), 4, 5 * 60),
    ("app tier", ("app", "api", "redis", "kafka", "svc", "cart", "auth"), 6, 15 * 60),
    ("web tier", ("web", "frontend", "nginx"), 6, 60 * 60),
]
PAST_DRILLS = 7
#: How many of the earlier nights (never the latest) had a bad night: a backup saturating the link while
#: replication ran behind; their drills show in the trend as misses.
BAD_NIGHTS = 2


def night_conditions(seed: int, days_ago: int, bad: bool):
    """The conditions of one past night, deterministic in (seed, night), as a map over the drill's inputs.

    The drill code is unchanged; only what it reads differs from night to night, as it would have: the share of
    the WAN link left to replication (other traffic), how far behind each replica was (lag relative to its
    RPO), and the recovery hosts' headroom (other tenants' load). A bad night has a backup window on the link
    and replication running behind.
    """
    rng = random.Random(f"{seed}:night:{days_ago}")
    link_share = rng.uniform(0.02, 0.05) if bad else rng.uniform(0.3, 1.0)
    lag_factor = rng.uniform(2.0, 4.0) if bad else rng.uniform(0.3, 1.0)
    headroom = rng.uniform(0.85, 1.0)

    def apply(inputs: drills.DrillInputs) -> drills.DrillInputs:
        jitter = random.Random(f"{seed}:lag:{days_ago}")
        link = replace(inputs.link, bandwidth_bps=inputs.link.bandwidth_bps * link_share) if inputs.link else None
        groups = tuple(
            replace(
                g,
                workloads=tuple(
                    replace(w, replication_lag_s=w.rpo_s * lag_factor * jitter.uniform(0.8, 1.2)) for w in g.workloads
                ),
            )
            for g in inputs.groups
        )
        hosts = tuple(
            replace(h, free_memory_bytes=int(h.free_memory_bytes * headroom), free_vcpus=int(h.free_vcpus * headroom))
            for h in inputs.hosts
        )
        return replace(inputs, link=link, groups=groups, hosts=hosts)

    return apply


def _site(fragment: str) -> Site | None:
    return (
        Site.objects.filter(kind=SiteKind.PRIVATE)
        .filter(Q(location__icontains=fragment) | Q(name__icontains=fragment))
        .order_by("name")
        .first()
    )


class Command(BaseCommand):
    help = "Seed the demo recovery plan (California → Virginia), its nightly schedule and a few past drills."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args, seed: int, **options) -> None:
        protected, recovery = _site("California"), _site("Virginia")
        if protected is None or recovery is None:
            self.stdout.write("seed_dr: no private California and Virginia sites; no recovery plan seeded.")
            return
        rng = random.Random(seed)
        with transaction.atomic():
            for old in RecoveryPlan.objects.filter(name=PLAN_NAME):
                schedules.plan_schedule_clear(plan=old)
                old.delete()
            plan = RecoveryPlan.objects.create(
                name=PLAN_NAME,
                protected_site=protected,
                recovery_site=recovery,
                target_rto_s=10 * 60,
                description="Bring the California datacenter's tiers back in Virginia, databases first.",
            )
            count = self.protect(plan, rng)
        if count == 0:
            self.stdout.write("seed_dr: no powered-on workload in California to protect.")
        schedules.plan_schedule_set(plan=plan, hour=2, minute=0)
        runs = self.past_drills(plan, seed)
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded recovery plan {plan.name}: {count} workloads in {plan.groups.count()} groups, nightly "
                f"drill at 02:00, {len(runs)} past drills (RTO "
                + ", ".join(
                    f"{r.measured_rto_s:.0f} s{'' if r.verdict == 'met' else ' missed'}"
                    for r in runs
                    if r.measured_rto_s is not None
                )
                + f"; target {plan.target_rto_s} s)."
            )
        )

    def protect(self, plan: RecoveryPlan, rng: random.Random) -> int:
        candidates = list(
            Workload.objects.filter(host__cluster__site=plan.protected_site, power_state=PowerState.ON)
            .select_related("segment")
            .order_by("name")
        )
        recovery_segments = set(plan.recovery_site.segments.values_list("pk", flat=True))
        # A segment only on the recovery site, for the replicas whose own segment is not stretched there.
        fallback = (
            NetworkSegment.objects.filter(sites=plan.recovery_site).exclude(sites=plan.protected_site).order_by("name")
        ).first()
        taken: set[int] = set()
        next_host = 200
        count = 0
        for priority, (name, fragments, size, rpo_s) in enumerate(GROUPS, start=1):
            group = ProtectionGroup.objects.create(plan=plan, name=name, priority=priority)
            matching = [w for w in candidates if w.pk not in taken and any(f in w.name.lower() for f in fragments)]
            rng.shuffle(matching)
            # Mostly workloads whose segment is stretched (they keep their IP); at most one to re-address.
            stretched = [w for w in matching if w.segment_id in recovery_segments]
            local = [w for w in matching if w.segment_id not in recovery_segments and fallback is not None]
            chosen = stretched[: size - 1] + local[:1] if local else stretched[:size]
            for workload in sorted(chosen, key=lambda w: w.name):
                taken.add(workload.pk)
                extra = {}
                if workload.segment_id not in recovery_segments:
                    network = ipaddress.ip_network(fallback.cidr, strict=False)
                    extra = {"recovery_segment": fallback, "recovery_ip": str(network.network_address + next_host)}
                    next_host += 1
                member = ProtectedWorkload(plan=plan, group=group, workload=workload, rpo_s=rpo_s, **extra)
                member.full_clean()
                member.save()
                count += 1
        return count

    def past_drills(self, plan: RecoveryPlan, seed: int) -> list[DrillRun]:
        """Drills of the last nights at 02:00 (the first one started by hand), run by the drill code under each
        night's conditions, back-dated. The latest night is an ordinary one, so the overview is calm by default."""
        today = timezone.localtime().replace(hour=2, minute=0, second=0, microsecond=0)
        bad = set(random.Random(f"{seed}:bad-nights").sample(range(2, PAST_DRILLS + 1), BAD_NIGHTS))
        runs = []
        for days_ago in range(PAST_DRILLS, 0, -1):
            trigger = DrillTrigger.MANUAL if days_ago == PAST_DRILLS else DrillTrigger.SCHEDULE
            run = services.drill_start(plan=plan, trigger=trigger, enqueue=False)
            conditions = night_conditions(seed, days_ago, days_ago in bad)
            run = runner.drill_execute(run_id=run.pk, pace=False, conditions=conditions)
            shift = (today - timedelta(days=days_ago)) - run.started_at
            DrillRun.objects.filter(pk=run.pk).update(
                created_at=run.created_at + shift,
                started_at=run.started_at + shift,
                finished_at=run.finished_at + shift,
            )
            steps = list(run.steps.all())
            for step in steps:
                step.started_at = step.started_at + shift if step.started_at else None
                step.finished_at = step.finished_at + shift if step.finished_at else None
            DrillStep.objects.bulk_update(steps, ["started_at", "finished_at"])
            run.refresh_from_db()
            runs.append(run)
        return runs

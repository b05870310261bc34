"""`python manage.py run_drill PLAN`: run one test drill of a plan in this process and print its steps."""

from django.core.management.base import BaseCommand, CommandError

from hybridcloud.core.units import format_duration
from migration.dr import runner, services
from migration.dr.models import DrillStep, RecoveryPlan


class Command(BaseCommand):
    help = (
        "Run one test drill of a recovery plan (its name or id) to its end in this process, the same code the "
        "scheduled task runs; print each step and the measured RTO. Exit 0 when the drill ran, whatever its "
        "verdict; non-zero when it could not run."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("plan", help="The recovery plan's name or id.")
        parser.add_argument("--no-pace", action="store_true", help="Do not sleep the simulated time.")

    def handle(self, *args, **options) -> None:
        plan = self._plan(options["plan"])
        try:
            run = services.drill_start(plan=plan, enqueue=False)
        except services.DrillNotStarted as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Drill #{run.pk} of {plan.name}: {plan.protected_site} → {plan.recovery_site}, "
            f"test network {run.test_network}"
        )
        run = runner.drill_execute(run_id=run.pk, observer=self._print_step, pace=not options["no_pace"])
        if run is None:
            raise CommandError("The drill was taken by another process before it could start.")
        self.stdout.write(
            f"Measured RTO: {format_duration(run.measured_rto_s)} (target {format_duration(run.target_rto_s)}) · "
            f"{run.get_verdict_display()} · drill {run.get_state_display().lower()}"
        )
        if run.reason:
            self.stdout.write(f"Reason: {run.reason}")
        missed_rpo = run.results.filter(rpo_met=False).count()
        self.stdout.write(f"RPO violated for {missed_rpo} of {run.results.count()} workloads.")

    def _plan(self, ref: str) -> RecoveryPlan:
        plan = RecoveryPlan.objects.filter(name=ref).first()
        if plan is None and ref.isdigit():
            plan = RecoveryPlan.objects.filter(pk=int(ref)).first()
        if plan is None:
            raise CommandError(f"No recovery plan named or numbered {ref!r}.")
        return plan

    def _print_step(self, step: DrillStep) -> None:
        line = (
            f"  {step.order}. {step.name:<40} {step.state.upper():<8} {format_duration(step.sim_duration_s):>12}"
            f"  (starts at {format_duration(step.sim_start_s)})"
        )
        self.stdout.write(line)
        if step.reason:
            self.stdout.write(f"     {step.reason}")

"""`manage.py run_drill PLAN`: runs a drill here, prints its steps and RTO, exit codes say whether it ran."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from migration.dr import services
from migration.dr.choices import DrillState
from migration.dr.models import DrillRun
from tests.migration.dr.builders import demo_plan

pytestmark = pytest.mark.django_db


def test_runs_a_drill_by_name_and_prints_each_step_and_the_rto():
    setup = demo_plan()
    out = StringIO()
    call_command("run_drill", setup.plan.name, stdout=out)
    text = out.getvalue()
    run = DrillRun.objects.get()
    assert run.state == DrillState.COMPLETED
    for name in (
        "Prepare test network",
        "Bring up group 1: databases",
        "Bring up group 3: web tier",
        "Verify",
        "Clean up",
    ):
        assert name in text
    assert "Measured RTO:" in text and "RTO met" in text
    assert f"drill-{run.pk}-bubble" in text


def test_runs_by_id_and_exits_zero_even_when_the_target_is_missed():
    setup = demo_plan(target_rto_s=30)
    out = StringIO()
    call_command("run_drill", str(setup.plan.pk), stdout=out)
    assert "RTO missed" in out.getvalue()
    assert DrillRun.objects.get().state == DrillState.COMPLETED


def test_unknown_plan_is_an_error():
    with pytest.raises(CommandError, match="No recovery plan named or numbered 'Atlantis'"):
        call_command("run_drill", "Atlantis", stdout=StringIO())


def test_plan_with_a_drill_already_running_is_an_error():
    setup = demo_plan()
    services.drill_start(plan=setup.plan, enqueue=False)
    with pytest.raises(CommandError, match="already running"):
        call_command("run_drill", setup.plan.name, stdout=StringIO())
    assert DrillRun.objects.count() == 1


def test_command_exit_status_from_a_shell(tmp_path):
    """A real process: non-zero exit and a message on stderr when the plan does not exist."""
    import subprocess
    import sys

    from tests.conftest import process_env

    result = subprocess.run(
        [sys.executable, "manage.py", "run_drill", "Atlantis"],
        env=process_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "No recovery plan" in result.stderr

"""DR recovery honours placement rules: two replicas of one service never come up on one recovery host."""

import pytest

from inventory.choices import PlacementRuleKind
from inventory.models import PlacementRule, Tag
from migration.dr import drills
from migration.dr.choices import DrillState
from migration.engine.placement_rules import KEEP_APART, Rule
from tests.migration.dr.builders import demo_plan
from tests.migration.dr.test_drill_model import GIB, inputs, spec
from tests.migration.dr.test_drill_runs import run_test_drill

ROOMY = (drills.HostCapacity("va-esx-01", 64 * GIB, 64, 32), drills.HostCapacity("va-esx-02", 128 * GIB, 64, 32))


def test_best_fit_would_stack_the_replicas_the_rule_splits_them_and_says_so():
    group = drills.GroupSpec(1, "databases", 1, (spec(1, memory_gib=16), spec(2, memory_gib=16)))
    stacked = drills.compute_drill(inputs([group], hosts=ROOMY))
    assert {r.recovered_on for r in stacked.results} == {"va-esx-01"}
    rule = Rule("db-replicas", KEEP_APART, members=frozenset({1, 2}))
    out = drills.compute_drill(drills.DrillInputs(**{**inputs([group], hosts=ROOMY).__dict__, "rules": (rule,)}))
    assert sorted(r.recovered_on for r in out.results) == ["va-esx-01", "va-esx-02"]
    moved = next(r for r in out.results if r.recovered_on == "va-esx-02")
    assert moved.reason.startswith("keep-apart rule 'db-replicas' puts ")
    assert moved.reason.endswith("off va-esx-01, where wl-1 runs.") or moved.reason.endswith(
        "off va-esx-01, where wl-2 runs."
    )


def test_a_replica_the_rule_leaves_nowhere_fails_naming_the_rule():
    group = drills.GroupSpec(1, "databases", 1, (spec(1, memory_gib=16), spec(2, memory_gib=8)))
    rule = Rule("db-replicas", KEEP_APART, members=frozenset({1, 2}))
    one_host = ROOMY[:1]
    out = drills.compute_drill(drills.DrillInputs(**{**inputs([group], hosts=one_host).__dict__, "rules": (rule,)}))
    failed = next(r for r in out.results if r.state == "failed")
    assert failed.name == "wl-2"
    assert failed.reason == "keep-apart rule 'db-replicas' puts wl-2 off va-esx-01, where wl-1 runs."


@pytest.mark.django_db
def test_a_drill_brings_the_two_database_replicas_up_on_different_hosts():
    setup = demo_plan()
    db1, db2 = setup.workloads[:2]
    before = run_test_drill(setup.plan)
    assert before.state == DrillState.COMPLETED
    on = {r.workload_name: r.recovered_on for r in before.results.all()}
    assert on[db1.name] == on[db2.name]  # best fit alone stacks them
    tag = Tag.objects.create(name="db replicas", slug="db-replicas")
    PlacementRule.objects.create(name="db-replicas", kind=PlacementRuleKind.KEEP_APART, workload_tag=tag)
    db1.tags.add(tag)
    db2.tags.add(tag)
    after = run_test_drill(setup.plan)
    results = {r.workload_name: r for r in after.results.all()}
    assert results[db1.name].recovered_on != results[db2.name].recovered_on
    assert all(r.state == "recovered" for r in results.values())
    assert any("keep-apart rule 'db-replicas'" in r.reason for r in results.values())

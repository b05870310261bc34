"""Placement rules: placement never puts two replicas of one service on one host, pre-checks refuse a broken rule
and warn about one at risk, each sentence naming the rule."""

import pytest
from django.core.exceptions import ValidationError

from inventory.choices import HostState, PlacementRuleKind, PlacementScope
from inventory.models import PlacementRule, Tag
from migration.engine.placement_rules import KEEP_APART, KEEP_TOGETHER, Rule, Spot, rules_at_risk, rules_broken
from migration.placement import place_workload
from migration.prechecks import PrecheckContext, host_checks, precheck_migration
from migration.services import migration_start
from tests import factories


def place(workload, site):
    """Placement as the pre-checks run it: with their host checks and a fresh context."""
    return place_workload(workload=workload, site=site, host_checks=host_checks, context=PrecheckContext())


def test_keep_apart_on_hosts_names_the_rule_the_host_and_the_member_there():
    rule = Rule("db-replicas", KEEP_APART, members=frozenset({1, 2}))
    spots = {1: ("db-1", Spot("esx-ca-03", "ca"))}
    found = rules_broken([rule], workload_id=2, workload_name="db-2", target=Spot("esx-ca-03", "ca"), spots=spots)
    assert found == ["keep-apart rule 'db-replicas' puts db-2 off esx-ca-03, where db-1 runs."]
    assert rules_broken([rule], workload_id=2, workload_name="db-2", target=Spot("esx-ca-04", "ca"), spots=spots) == []
    # Not a member: the rule says nothing.
    assert rules_broken([rule], workload_id=3, workload_name="x", target=Spot("esx-ca-03", "ca"), spots=spots) == []


def test_keep_apart_on_sites_and_keep_together():
    apart = Rule("dr-pair", KEEP_APART, scope="site", members=frozenset({1, 2}))
    spots = {1: ("db-1", Spot("esx-ca-03", "ca"))}
    found = rules_broken([apart], workload_id=2, workload_name="db-2", target=Spot("esx-ca-09", "ca"), spots=spots)
    assert found == ["keep-apart rule 'dr-pair' puts db-2 off site ca, where db-1 runs."]
    together = Rule("web-cache", KEEP_TOGETHER, members=frozenset({1, 2}))
    found = rules_broken([together], workload_id=2, workload_name="app", target=Spot("esx-ca-09", "ca"), spots=spots)
    assert found == ["keep-together rule 'web-cache' keeps app with db-1 on esx-ca-03, not esx-ca-09."]


def test_a_rule_is_at_risk_when_no_other_host_of_the_site_keeps_it():
    rule = Rule("db-replicas", KEEP_APART, members=frozenset({1, 2}))
    spots = {1: ("db-1", Spot("h1", "ca"))}
    args = {"workload_id": 2, "workload_name": "db-2", "target": Spot("h2", "ca"), "spots": spots}
    assert rules_at_risk([rule], site_hosts=["h1", "h2", "h3"], **args) == []
    (sentence,) = rules_at_risk([rule], site_hosts=["h1", "h2"], **args)
    assert sentence.startswith("keep-apart rule 'db-replicas' is at risk: h2 is the only host on ca")


@pytest.mark.django_db
class TestPlacementAndPrechecks:
    @pytest.fixture
    def world(self):
        topo = factories.topology()
        tag = Tag.objects.create(name="db replicas", slug="db-replicas", color="aa1409")
        rule = PlacementRule.objects.create(name="db-replicas", kind=PlacementRuleKind.KEEP_APART, workload_tag=tag)
        # db-1 on the roomier va host: placement alone would put db-2 there too.
        db1 = factories.workload(topo.va_hosts[0], name="db-1", segment=topo.stretched)
        factories.workload(topo.va_hosts[1], memory_gib=200, segment=topo.stretched)
        db2 = factories.workload(topo.ca_hosts[0], name="db-2", segment=topo.stretched)
        db1.tags.add(tag)
        db2.tags.add(tag)
        return topo, rule, db1, db2

    def test_placement_puts_the_second_replica_off_the_first_ones_host_and_says_which_rule(self, world):
        topo, rule, db1, db2 = world
        placement = place(db2, topo.va)
        assert placement.host == topo.va_hosts[1]
        assert "keep-apart rule 'db-replicas' puts db-2 off va-esx-01, where db-1 runs." in placement.reason
        # Without the rule, memory decides: the first replica's host.
        rule.enabled = False
        rule.save()
        assert place(db2, topo.va).host == topo.va_hosts[0]

    def test_placement_refuses_when_only_the_rule_breaking_host_is_left(self, world):
        topo, rule, db1, db2 = world
        topo.va_hosts[1].state = HostState.MAINTENANCE
        topo.va_hosts[1].save()
        placement = place(db2, topo.va)
        assert placement.host is None
        assert "keep-apart rule 'db-replicas' puts db-2 off va-esx-01, where db-1 runs." in placement.reason

    def test_precheck_broken_rule_is_an_error_rule_at_risk_a_warning(self, world):
        topo, rule, db1, db2 = world
        broken = precheck_migration(workload=db2, destination_host=topo.va_hosts[0], predict=False)
        assert "keep-apart rule 'db-replicas' puts db-2 off va-esx-01, where db-1 runs." in broken.errors
        kept = precheck_migration(workload=db2, destination_host=topo.va_hosts[1], predict=False)
        assert not any("db-replicas" in e for e in kept.errors)
        # va has two hosts, db-1 on one: the other is the only place db-2 keeps the rule.
        assert any(w.startswith("keep-apart rule 'db-replicas' is at risk: va-esx-02") for w in kept.warnings)

    def test_pin_to_a_host_group(self, world):
        topo, rule, db1, db2 = world
        group = Tag.objects.create(name="licensed", slug="licensed")
        topo.va_hosts[0].tags.add(group)
        pin = PlacementRule.objects.create(name="oracle-licence", kind=PlacementRuleKind.PIN_TO_HOSTS, host_tag=group)
        pin.workloads.add(db2)
        rule.delete()
        result = precheck_migration(workload=db2, destination_host=topo.va_hosts[1], predict=False)
        assert (
            "pin rule 'oracle-licence' keeps db-2 on hosts tagged 'licensed' (va-esx-01); va-esx-02 is not one."
            in result.errors
        )
        assert place(db2, topo.va).host == topo.va_hosts[0]

    def test_rule_clean_names_what_is_wrong(self, world):
        topo, rule, db1, db2 = world
        with pytest.raises(ValidationError) as pin_without_hosts:
            PlacementRule(name="p", kind=PlacementRuleKind.PIN_TO_HOSTS).full_clean()
        assert "needs a host group" in str(pin_without_hosts.value.message_dict["host_tag"])
        with pytest.raises(ValidationError) as pin_on_sites:
            PlacementRule(
                name="p", kind=PlacementRuleKind.PIN_TO_HOSTS, scope=PlacementScope.SITE, host_tag=rule.workload_tag
            ).full_clean()
        assert "scope" in pin_on_sites.value.message_dict


@pytest.mark.django_db
def test_a_member_on_its_way_counts_where_it_is_going(operator):
    """Two replicas moved in one wave: the second is kept off the host the first is migrating to."""
    topo = factories.topology()
    tag = Tag.objects.create(name="db replicas", slug="db-replicas")
    PlacementRule.objects.create(name="db-replicas", kind=PlacementRuleKind.KEEP_APART, workload_tag=tag)
    db1 = factories.workload(topo.ca_hosts[0], name="db-1", segment=topo.stretched)
    db2 = factories.workload(topo.ca_hosts[1], name="db-2", segment=topo.stretched)
    db1.tags.add(tag)
    db2.tags.add(tag)
    assert precheck_migration(workload=db2, destination_host=topo.va_hosts[0], predict=False).errors == []
    migration_start(
        workload=db1,
        destination_host=topo.va_hosts[0],
        requested_by=operator,
        policy="force",
        override_reason="disk copy accepted",
    )
    check = precheck_migration(workload=db2, destination_host=topo.va_hosts[0], predict=False)
    assert "keep-apart rule 'db-replicas' puts db-2 off va-esx-01, where db-1 runs." in check.errors
    assert place(db2, topo.va).host == topo.va_hosts[1]

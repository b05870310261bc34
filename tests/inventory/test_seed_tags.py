"""seed_demo's tags and placement rules."""

import pytest
from django.core.management import call_command

from inventory.models import PlacementRule, Tag, Workload
from migration.placement import placement_rule_statuses

pytestmark = pytest.mark.django_db


def test_seed_demo_tags_the_databases_and_brokers_and_pins_sql_server_to_its_licensed_hosts():
    call_command("seed_demo", workloads=120, no_extensions=True, verbosity=0)
    assert set(Tag.objects.values_list("slug", flat=True)) == {"db-replicas", "kafka", "pci", "mssql-licensed"}
    db = Tag.objects.get(slug="db-replicas")
    assert db.workloads.count() == Workload.objects.filter(name__startswith="pg-").count() > 1
    statuses = {s.rule.name: s for s in placement_rule_statuses()}
    assert set(statuses) == {"db-replicas", "kafka-brokers", "mssql-licence"}
    assert PlacementRule.objects.get(name="db-replicas").kind == "keep_apart"
    # SQL Server runs where it is licensed: the pin is kept from the start.
    assert statuses["mssql-licence"].members and statuses["mssql-licence"].broken == []
    # Seeding again over it (reset) starts the tags afresh.
    call_command("seed_demo", workloads=20, no_extensions=True, reset=True, verbosity=0)
    assert Tag.objects.count() == 4 and PlacementRule.objects.count() == 3

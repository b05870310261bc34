"""Rule evaluation against the database: each kind raises on its condition, once per rule and object; condition
alarms resolve by themselves, event alarms do not; evaluating twice at the same instant changes nothing."""

from datetime import timedelta
from importlib import import_module

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from containers.models import ContainerHost
from containers.services.create import container_create
from containers.services.images import image_pull
from migration.alarms import selectors, services, tasks
from migration.alarms.choices import AlarmState, RuleKind
from migration.alarms.models import Alarm, AlarmEvent, AlarmRule
from migration.dr.models import DrillWorkloadResult
from tests import factories
from tests.migration.alarms import builders

pytestmark = pytest.mark.django_db


@pytest.fixture
def topo():
    return factories.topology()


def test_host_cpu_raises_only_after_n_minutes_over_the_threshold(topo):
    now = timezone.now().replace(microsecond=0)
    rule = builders.rule("host_cpu", threshold=85, duration_minutes=10, severity="critical")
    builders.only_rules(rule)
    host = topo.ca_hosts[0]
    # 09:50 70 %, then 88, 91 (5 min over: not 10 yet).
    builders.samples(host, now, [70, 70, 88, 91])
    assert services.alarms_evaluate(now=now).raised == []
    # Five minutes later, over since the 88: 10 minutes.
    later = now + timedelta(minutes=5)
    builders.samples(host, later, [93], every_s=1)
    result = services.alarms_evaluate(now=later)
    assert len(result.raised) == 1
    alarm = Alarm.objects.get()
    assert alarm.state == AlarmState.ACTIVE and alarm.severity == "critical" and alarm.object_id == host.pk
    assert "CPU at 93 %" in alarm.message and "over 85 %" in alarm.message and "10 min" in alarm.message


def test_evaluating_twice_at_the_same_instant_raises_and_writes_nothing_twice(topo):
    now = timezone.now().replace(microsecond=0)
    rule = builders.rule("host_cpu", threshold=80, duration_minutes=5, email_to="ops@example.com")
    builders.only_rules(rule)
    builders.samples(topo.ca_hosts[0], now, [95, 95, 95])
    first = services.alarms_evaluate(now=now)
    second = services.alarms_evaluate(now=now)
    assert len(first.raised) == 1 and second.raised == [] and second.refreshed == 0
    alarm = Alarm.objects.get()
    assert AlarmEvent.objects.filter(alarm=alarm).count() == 1
    assert alarm.deliveries.count() == 1


def test_condition_alarm_resolves_itself_when_the_condition_ends_and_a_new_episode_raises_again(topo):
    now = timezone.now().replace(microsecond=0)
    rule = builders.rule("host_cpu", threshold=80, duration_minutes=0)
    builders.only_rules(rule)
    host = topo.ca_hosts[0]
    builders.samples(host, now, [90])
    [first] = services.alarms_evaluate(now=now).raised
    builders.samples(host, now + timedelta(minutes=5), [50])
    assert services.alarms_evaluate(now=now + timedelta(minutes=5)).resolved == [first]
    assert Alarm.objects.get(pk=first).state == AlarmState.CLEARED
    assert list(AlarmEvent.objects.filter(alarm_id=first).values_list("action", flat=True)) == ["raised", "resolved"]
    builders.samples(host, now + timedelta(minutes=10), [97])
    [second] = services.alarms_evaluate(now=now + timedelta(minutes=10)).raised
    assert second != first and Alarm.objects.get(pk=second).episode == 1


def test_stale_telemetry_neither_raises_nor_resolves(topo):
    now = timezone.now().replace(microsecond=0)
    rule = builders.rule("host_cpu", threshold=80, duration_minutes=0)
    builders.only_rules(rule)
    builders.samples(topo.ca_hosts[0], now, [90])
    [alarm_id] = services.alarms_evaluate(now=now).raised
    # No sample for an hour: nothing known, the alarm stays open.
    assert services.alarms_evaluate(now=now + timedelta(hours=1)).resolved == []
    assert Alarm.objects.get(pk=alarm_id).state == AlarmState.ACTIVE


def test_failed_migration_raises_one_alarm_ever_even_after_it_is_cleared(topo, operator):
    now = timezone.now()
    rule = builders.rule("migration_failed", severity="warning")
    builders.only_rules(rule)
    m = builders.failed_migration(topo, finished_at=now - timedelta(minutes=1), reason="the link went down")
    # A failure from before the rule existed is history, not an alarm.
    builders.failed_migration(topo, finished_at=rule.created_at - timedelta(minutes=1))
    [alarm_id] = services.alarms_evaluate(now=now).raised
    alarm = Alarm.objects.get(pk=alarm_id)
    assert alarm.object_type == "migration" and alarm.object_id == m.pk and "the link went down" in alarm.message
    services.alarm_clear(alarm_id=alarm_id, user=operator)
    assert services.alarms_evaluate(now=now + timedelta(minutes=1)).raised == []
    assert Alarm.objects.count() == 1


def test_missed_rto_rto_trend_and_rpo(topo):
    now = timezone.now()
    missed = builders.rule("drill_rto_missed", severity="critical")
    trend = builders.rule("rto_trend", threshold=20, drills_count=3)
    builders.only_rules(missed, trend)
    p = builders.plan(topo, target_rto_s=1800)
    builders.drill(p, finished_at=now - timedelta(days=2), rto_s=1000)
    builders.drill(p, finished_at=now - timedelta(days=1), rto_s=1100)
    assert services.alarms_evaluate(now=now).raised == []  # two drills: no trend yet; before the rule: no event
    late = builders.drill(p, finished_at=now - timedelta(minutes=1), rto_s=2000)
    raised = Alarm.objects.filter(pk__in=services.alarms_evaluate(now=now).raised)
    by_kind = {a.rule.kind: a for a in raised}
    assert set(by_kind) == {"drill_rto_missed", "rto_trend"}
    assert by_kind["drill_rto_missed"].object_id == late.pk and "33 min 20 s" in by_kind["drill_rto_missed"].message
    assert "+100 %" in by_kind["rto_trend"].message and by_kind["rto_trend"].object_id == p.pk


def test_link_loss_and_container_rules_need_a_threshold():
    with pytest.raises(ValidationError) as exc:
        builders.rule("link_loss")
    assert "needs a threshold" in str(exc.value)
    with pytest.raises(ValidationError) as exc:
        builders.rule("host_cpu", threshold=120)
    assert "over 100 %" in str(exc.value)
    with pytest.raises(ValidationError) as exc:
        builders.rule("migration_failed", email_to="ops@example.com, not-an-address")
    assert "not-an-address" in str(exc.value)


def test_link_loss_raises_per_link(topo):
    rule = builders.rule("link_loss", threshold=1)
    builders.only_rules(rule)
    topo.ca_link_va.loss_percent = 2.5
    topo.ca_link_va.save()
    [alarm_id] = services.alarms_evaluate().raised
    alarm = Alarm.objects.get(pk=alarm_id)
    assert alarm.object_type == "link" and "packet loss 2.5 %" in alarm.message


def test_container_host_over_its_limit_names_the_binding_resource(topo):
    image_pull(repository="nginx", tag="1.27")
    host = ContainerHost.objects.create(
        name="ca-docker", cluster=topo.ca_cluster, cpu_limit=8, memory_limit_bytes=8 * factories.GIB,
        segment=topo.stretched,
    )  # fmt: skip
    rule = builders.rule("container_host_limits", threshold=90)
    builders.only_rules(rule)
    container_create(container_host=host, name="web-a", image_ref="nginx:1.27", cpus=1, memory_bytes=4 * factories.GIB)
    assert services.alarms_evaluate().raised == []  # memory 50 %
    container_create(container_host=host, name="web-b", image_ref="nginx:1.27", cpus=1, memory_bytes=4 * factories.GIB)
    [alarm_id] = services.alarms_evaluate().raised
    message = Alarm.objects.get(pk=alarm_id).message
    assert message == "Container host ca-docker: memory 8.0 GiB of its 8.0 GiB limit (100 %), over 90 %."


def test_link_busy_with_migrations_and_rpo_violated(topo):
    busy = builders.rule("link_utilisation", threshold=80)
    rpo = builders.rule("rpo_violated", severity="critical")
    builders.only_rules(busy, rpo)
    m = builders.failed_migration(topo, finished_at=timezone.now())
    # Copying at 9 Gbit/s over the 10 Gbit/s link: 90 %.
    type(m).objects.filter(pk=m.pk).update(state="precopy", finished_at=None, transfer_rate_bps=1.125e9)
    p = builders.plan(topo)
    drill = builders.drill(p, finished_at=timezone.now() - timedelta(minutes=1), rto_s=600)
    for name, lag, rpo_s in (("db-01", 1200, 900), ("web-01", 60, 900)):
        DrillWorkloadResult.objects.create(
            run=drill, workload_name=name, group_name="g", priority=1, state="recovered", rpo_s=rpo_s,
            replication_lag_s=lag, rpo_met=lag <= rpo_s, data_loss_window_s=lag,
        )  # fmt: skip
    raised = {a.rule.kind: a for a in Alarm.objects.filter(pk__in=services.alarms_evaluate().raised)}
    assert raised["link_utilisation"].message == (
        "Link California DC ↔ Virginia DC: migrations use 9 Gbit/s, 90 % of its 10 Gbit/s, over 80 %."
    )
    assert raised["rpo_violated"].object_id == drill.pk
    assert "1 workload(s) recovered from a replica older than their RPO (db-01 20 min 00 s old, RPO 15 min 00 s)" in (
        raised["rpo_violated"].message
    )
    # The migration ends: the link's alarm resolves by itself; the drill's stays until a person clears it.
    type(m).objects.filter(pk=m.pk).update(state="completed", transfer_rate_bps=0)
    result = services.alarms_evaluate()
    assert result.resolved == [raised["link_utilisation"].pk]
    assert Alarm.objects.get(pk=raised["rpo_violated"].pk).state == AlarmState.ACTIVE


def test_a_concurrent_evaluation_that_lost_the_race_raises_nothing(topo):
    """Two beats evaluating at once: the second insert hits the open-alarm constraint and is dropped."""
    rule = builders.rule("link_loss", threshold=1)
    builders.only_rules(rule)
    topo.ca_link_va.loss_percent = 5
    topo.ca_link_va.save()
    finding = selectors.rule_findings(rule=rule, now=timezone.now()).findings[0]
    key = selectors.alarm_key(rule_id=rule.pk, object_type="link", object_id=topo.ca_link_va.pk)
    now = timezone.now()
    assert services._alarm_raise(rule=rule, key=key, finding=finding, now=now) is not None
    assert services._alarm_raise(rule=rule, key=key, finding=finding, now=now) is None
    assert Alarm.objects.filter(key=key).count() == 1 and AlarmEvent.objects.count() == 1


def test_the_beat_schedule_and_default_rules_come_from_the_data_migration():
    """Applied again here, as on a fresh database (a transactional test before this one may have flushed them)."""
    data = import_module("migration.alarms.migrations.0002_schedule_and_default_rules")
    data.create(django_apps, None)
    data.create(django_apps, None)  # twice: still one schedule and one rule of each
    task = PeriodicTask.objects.get(name=data.NAME)
    assert task.enabled and task.interval.every == 60 and task.interval.period == "seconds"
    assert task.task == tasks.evaluate.name
    kinds = set(AlarmRule.objects.filter(name__in=[r[0] for r in data.DEFAULT_RULES]).values_list("kind", flat=True))
    assert kinds == set(RuleKind.values)

"""The permission matrix: every URL pattern of the project, for anonymous, viewer, operator and administrator.

Every pattern is either in ROUTES (with how to build its URL from the demo cloud and what each role must get)
or in NOT_HERE with the reason; a pattern in neither fails the test, so nothing is skipped silently.
Expectations (DESIGN.md, security): pages redirect anonymous users to the login page, the API answers them
401/403; a signed-in user in no group ("nogroup") gets 403 everywhere but the login page, sign-out and /health/
(pages say to ask an administrator);
viewers read (200) and are refused every write (403); operators act (never 401/403, never a server
error, and the usual success code where the body is valid); inventory writes and the admin are for
administrators; the audit trail is for operators and administrators.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib import admin
from django.core.management import call_command
from django.db.models import Q
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from containers.models import ContainerHost, ContainerSpec, Image, Pod
from hybridcloud.core.audit import audit_record
from hybridcloud.core.models import AuditEntry
from inventory.choices import WorkloadKind
from inventory.importers.runs import DEMO_EXAMPLE, estate_import_create
from inventory.models import CloudLink, Cluster, Datastore, Host, NetworkSegment, PlacementRule, Site, Tag, Workload
from migration.alarms.models import Alarm, AlarmRule, WebhookEndpoint
from migration.assessment.services import assessment_compute, assessment_create
from migration.capacity.models import CapacitySettings
from migration.capacity.services.evacuations import host_evacuate
from migration.capacity.services.recommendations import recommendations_compute
from migration.dr.models import DrillRun, RecoveryPlan
from migration.models import Migration
from migration.moves.models import MoveGroup, MoveGroupMember
from migration.services import migration_start

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "nogroup", "viewer", "operator", "admin")
NO_ROLE_PAGE = b"Ask an administrator for access."

# -- enumerate ----------------------------------------------------------------------------------------------------


def walk(patterns, prefix: str = "", namespace: str | None = None):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = p.namespace and (f"{namespace}:{p.namespace}" if namespace else p.namespace) or namespace
            yield from walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            name = f"{namespace}:{p.name}" if namespace and p.name else p.name
            yield prefix + str(p.pattern), name


def project_patterns() -> list[tuple[str, str | None]]:
    return list(walk(get_resolver().url_patterns))


def is_format_suffix(route: str) -> bool:
    return "(?P<format>" in route or "drf_format_suffix" in route


# Patterns this test does not exercise, each with its reason (checked to exist, so the list stays honest).
NOT_HERE = {
    "admin": "the admin site: exercised by test_admin_is_for_administrators_only over every registered model",
    "format": "DRF format-suffix twins (`.json`) of routes below: the same view and permissions",
    "docker": (
        "the Docker Engine API (containers/docker_api): token auth, not sessions; tests/containers/test_docker_api.py "
        "checks 401 without a token on every path, viewers list and inspect, operators change, the token page's login"
    ),
}
IN_PROGRESS: tuple[str, ...] = ()

# -- the objects --------------------------------------------------------------------------------------------------


@pytest.fixture
def cloud(operator):
    call_command("seed_demo", workloads=30, verbosity=0)
    vm = Workload.objects.filter(kind=WorkloadKind.VM).order_by("pk").first()
    container = ContainerSpec.objects.select_related("workload").order_by("pk").first()
    other_host = Host.objects.filter(cluster=vm.host.cluster).exclude(pk=vm.host_id).first()
    migration = Migration.objects.order_by("pk").first() or migration_start(
        workload=vm, destination_host=other_host, requested_by=operator, policy="force"
    )
    plan = RecoveryPlan.objects.order_by("pk").first()
    drill = DrillRun.objects.order_by("pk").first()
    pod = Pod.objects.order_by("pk").first()
    entry = audit_record(action="inventory.change", actor=operator, message="matrix")
    estate_import = estate_import_create(content=DEMO_EXAMPLE.read_bytes(), file_name=DEMO_EXAMPLE.name, user=operator)
    # Capacity: a proposal for the VM's site (thresholds lowered so that the quiet demo has one), and a real
    # evacuation of a small host away from the VM's site (and another such host for the API to evacuate).
    CapacitySettings.objects.update_or_create(pk=1, defaults={"threshold_cpu_pct": 10, "threshold_mem_pct": 10})
    recommendation = recommendations_compute(site=vm.host.cluster.site)[0]
    far_hosts = sorted(
        Host.objects.filter(state="connected").exclude(cluster__site=vm.host.cluster.site).exclude(pk=other_host.pk),
        key=lambda h: (h.workloads.count(), h.pk),
    )
    evacuation = host_evacuate(host=far_hosts[0], user=operator)
    # Assessments: two computed ones (the compare page takes both) of the VM's site to another site.
    here = vm.host.cluster.site
    there = Site.objects.exclude(pk=here.pk).filter(Q(links_as_a__site_b=here) | Q(links_as_b__site_a=here)).first()
    assessments = []
    for mbit in (1000, 10_000):
        assessment = assessment_create(scope_kind="site", scope_site=here, destination=there,
                                       scenario={"bandwidth_mbit": mbit}, user=operator)  # fmt: skip
        assessment_compute(assessment_id=assessment.pk)
        assessments.append(assessment)
    # Alarms: a rule with a webhook endpoint, and one active alarm of it (operators acknowledge, then clear it).
    endpoint = WebhookEndpoint.objects.create(name="ops-hook", url="http://127.0.0.1:9/hook")
    alarm_rule = AlarmRule.objects.create(name="Matrix: migration failed", kind="migration_failed")
    alarm_rule.webhooks.add(endpoint)
    alarm = Alarm.objects.create(
        rule=alarm_rule, key=f"{alarm_rule.pk}:migration:{migration.pk}", object_type="migration",
        object_id=migration.pk, object_name="matrix", severity="warning", message="Migration failed (matrix)",
        first_seen=migration.created_at, last_seen=migration.created_at,
    )  # fmt: skip
    # Move groups: one scheduled a month ahead (operators edit, then cancel it).
    move_group = MoveGroup.objects.create(
        name="Matrix wave", destination_host=other_host, start_at=timezone.now() + timedelta(days=30)
    )
    MoveGroupMember.objects.create(group=move_group, workload=vm, position=0)
    # Placement rules: a tag on the VM and a keep-apart rule of it.
    tag = Tag.objects.create(name="Matrix replicas", slug="matrix-replicas", color="aa1409")
    vm.tags.add(tag)
    placement_rule = PlacementRule.objects.create(name="matrix-replicas", kind="keep_apart", workload_tag=tag)
    return {
        "move_group": move_group, "tag": tag, "placement_rule": placement_rule,
        "site": Site.objects.first(), "link": CloudLink.objects.first(), "cluster": Cluster.objects.first(),
        "alarm": alarm, "alarm_rule": alarm_rule, "webhook_endpoint": endpoint,
        "host": Host.objects.first(), "datastore": Datastore.objects.first(), "segment": NetworkSegment.objects.first(),
        "estate_import": estate_import,
        "vm": vm, "container": container, "migration": migration, "plan": plan, "drill": drill, "pod": pod,
        "container_host": ContainerHost.objects.first(), "image": Image.objects.first(),
        "container_cluster": pod.cluster if pod else None, "audit": entry, "other_host": other_host,
        "recommendation": recommendation, "evacuation": evacuation, "evacuable_host": far_hosts[1],
        "assessments": assessments, "assessment_sites": (here, there),
    }  # fmt: skip


# -- the matrix ---------------------------------------------------------------------------------------------------
# kinds: page (every signed-in user reads), page_op (operators only, GET), page_action (operators only, POST),
#        api_read, api_read_400 (a read refused for its bad filter), api_action (operators), api_admin
#        (administrators write the inventory, alarm rules), page_admin (administrators: alarm rules and webhooks),
#        audit_page, audit_api, public.

INVENTORY_API = ("site", "cloudlink", "cluster", "host", "datastore", "segment", "workload", "tag", "placementrule")
API_OBJECT = {"site": "site", "cloudlink": "link", "cluster": "cluster", "host": "host", "datastore": "datastore",
              "segment": "segment", "workload": "vm", "tag": "tag", "placementrule": "placement_rule"}  # fmt: skip


def operations(o) -> dict[str, list[tuple[str, str, str, dict | None]]]:
    """route name → [(method, url, kind, body)]; destructive operations last within the run (see ORDER)."""
    mig, plan, drill = o["migration"], o["plan"], o["drill"]
    rec, evac, site = o["recommendation"].pk, o["evacuation"].pk, o["site"].pk
    (a1, a2), (here, there) = (a.pk for a in o["assessments"]), o["assessment_sites"]
    alarm, alarm_rule, endpoint = o["alarm"].pk, o["alarm_rule"].pk, o["webhook_endpoint"].pk
    group, later = o["move_group"].pk, (timezone.now() + timedelta(days=31)).strftime("%Y-%m-%dT%H:%M")
    move_body = {"destination_host": o["other_host"].pk, "concurrency": 2, "policy": "force", "max_downtime_s": 0.3}
    c = o["container"].workload_id
    ops: dict[str, list] = {
        "login": [("GET", "/login/", "public", None)],
        "logout": [("POST", "/logout/", "logout", None)],
        "health": [("GET", "/health/", "public", None)],
        "api-schema": [("GET", "/api/schema/", "api_read", None)],
        "api-docs": [("GET", "/api/docs/", "api_read", None), ("GET", "/api/docs/?script=", "api_read", None)],
        "api-root": [("GET", "/api/", "api_read", None)],
        "audit": [("GET", "/audit/", "audit_page", None)],
        "audit-export": [("GET", "/audit/export.csv", "audit_page", None)],
        "audit-list": [("GET", "/api/audit/", "audit_api", None)],
        "audit-detail": [("GET", f"/api/audit/{o['audit'].pk}/", "audit_api", None)],
        "inventory:overview": [("GET", "/", "page", None)],
        "placement_rules": [
            ("GET", "/placement-rules/", "page", None),
            ("GET", f"/placement-rules/?tag={o['tag'].slug}", "page", None),
        ],
        "inventory:workload_list": [("GET", "/workloads/", "page", None)],
        "inventory:workload_export": [("GET", "/workloads/export.csv", "page", None)],
        "inventory:workload_detail": [("GET", f"/workloads/{o['vm'].pk}/", "page", None)],
        "inventory:site_list": [("GET", "/sites/", "page", None)],
        "inventory:site_detail": [("GET", f"/sites/{o['site'].pk}/", "page", None)],
        "inventory:host_detail": [("GET", f"/hosts/{o['host'].pk}/", "page", None)],
        "inventory:cluster_detail": [("GET", f"/clusters/{o['cluster'].pk}/", "page", None)],
        "inventory:segment_detail": [("GET", f"/segments/{o['segment'].pk}/", "page", None)],
        "inventory:estate_import_list": [("GET", "/imports/", "page_op", None)],
        "inventory:estate_import_upload": [("POST", "/imports/upload/", "page_action", {})],
        "inventory:estate_import_demo": [("POST", "/imports/demo/", "page_action", None)],
        "inventory:estate_import_detail": [
            ("GET", f"/imports/{o['estate_import'].pk}/", "page_op", None),
            ("POST", f"/imports/{o['estate_import'].pk}/", "page_action", {}),
        ],
        "inventory:estate_import_status": [("GET", f"/imports/{o['estate_import'].pk}/status.json", "page_op", None)],
        "migration:list": [("GET", "/migrations/", "page", None)],
        "migration:export": [("GET", "/migrations/export.csv", "page", None)],
        "migration:new": [("GET", f"/migrations/new/?workload={o['vm'].pk}", "page_op", None)],
        "migration:detail": [("GET", f"/migrations/{mig.pk}/", "page", None)],
        "migration:calibration": [("GET", "/migrations/calibration/", "page", None)],
        "migration:cancel": [("POST", f"/migrations/{mig.pk}/cancel/", "page_action", None)],
        "containers:index": [("GET", "/containers/", "page", None)],
        "containers:image_pull": [("POST", "/containers/images/pull/", "page_action", {"reference": "redis:7"})],
        "containers:host_detail": [("GET", f"/containers/hosts/{o['container_host'].name}/", "page", None)],
        "containers:container_detail": [("GET", f"/containers/vm/{c}/", "page", None)],
        "containers:container_action": [("POST", f"/containers/vm/{c}/restart/", "page_action", None)],
        "containers:cluster_detail": [("GET", f"/containers/clusters/{o['container_cluster'].name}/", "page", None)],
        "containers:pod_detail": [
            ("GET", f"/containers/pods/{o['pod'].pk}/", "page", None),
            ("POST", f"/containers/pods/{o['pod'].pk}/", "page_action", {}),
        ],
        "dr:plan_list": [("GET", "/dr/", "page", None)],
        "dr:plan_export": [("GET", "/dr/export.csv", "page", None)],
        "dr:plan_detail": [("GET", f"/dr/plans/{plan.pk}/", "page", None)],
        "dr:plan_schedule": [("POST", f"/dr/plans/{plan.pk}/schedule/", "page_action", {"remove": "on"})],
        "dr:plan_start_drill": [("POST", f"/dr/plans/{plan.pk}/drills/", "page_action", None)],
        "dr:plan_planned_migration": [
            ("GET", f"/dr/plans/{plan.pk}/planned-migration/", "page_op", None),
            ("POST", f"/dr/plans/{plan.pk}/planned-migration/", "page_action", None),
        ],
        "dr:drill_detail": [("GET", f"/dr/drills/{drill.pk}/", "page", None)],
        "dr:drill_cancel": [("POST", f"/dr/drills/{drill.pk}/cancel/", "page_action", None)],
        "dr:drill_report": [("GET", f"/dr/drills/{drill.pk}/report/", "page", None)],
        "api-migration-list": [
            ("GET", "/api/migrations/", "api_read", None),
            (
                "POST",
                "/api/migrations/",
                "api_action",
                {"workload": o["vm"].pk, "destination_host": o["other_host"].pk, "policy": "force"},
            ),
        ],  # fmt: skip
        "api-migration-precheck": [
            (
                "POST",
                "/api/migrations/precheck/",
                "api_action",
                {"workload": o["vm"].pk, "destination_host": o["other_host"].pk},
            ),
        ],  # fmt: skip
        "api-migration-detail": [("GET", f"/api/migrations/{mig.pk}/", "api_read", None)],
        "api-migration-cancel": [("POST", f"/api/migrations/{mig.pk}/cancel/", "api_action", None)],
        "containers-host-list": [("GET", "/api/container-hosts/", "api_read", None)],
        "containers-host-detail": [("GET", f"/api/container-hosts/{o['container_host'].name}/", "api_read", None)],
        "containers-image-list": [
            ("GET", "/api/images/", "api_read", None),
            ("POST", "/api/images/", "api_action", {"repository": "nginx", "tag": "1.27"}),
        ],
        "containers-image-detail": [("GET", f"/api/images/{o['image'].pk}/", "api_read", None)],
        "containers-container-list": [
            ("GET", "/api/containers/", "api_read", None),
            ("POST", "/api/containers/", "api_action", {}),
        ],
        "containers-container-detail": [
            ("GET", f"/api/containers/{c}/", "api_read", None),
            ("DELETE", f"/api/containers/{c}/?force=1", "api_action", None),
        ],
        "containers-container-events": [("GET", f"/api/containers/{c}/events/", "api_read", None)],
        "containers-container-remove": [("POST", f"/api/containers/{c}/remove/", "api_action", {"force": True})],
        "containers-container-restart": [("POST", f"/api/containers/{c}/restart/", "api_action", None)],
        "containers-container-start": [("POST", f"/api/containers/{c}/start/", "api_action", None)],
        "containers-container-stop": [("POST", f"/api/containers/{c}/stop/", "api_action", None)],
        "containers-cluster-list": [("GET", "/api/container-clusters/", "api_read", None)],
        "containers-cluster-detail": [
            ("GET", f"/api/container-clusters/{o['container_cluster'].name}/", "api_read", None)
        ],
        "containers-cluster-import-kubernetes": [
            ("POST", f"/api/container-clusters/{o['container_cluster'].name}/import/", "api_action", {})
        ],
        "containers-pod-list": [("GET", "/api/pods/", "api_read", None)],
        "containers-pod-detail": [("GET", f"/api/pods/{o['pod'].pk}/", "api_read", None)],
        "dr-plan-list": [("GET", "/api/dr/plans/", "api_read", None)],
        "dr-plan-detail": [("GET", f"/api/dr/plans/{plan.pk}/", "api_read", None)],
        "dr-plan-start-drill": [("POST", f"/api/dr/plans/{plan.pk}/drills/", "api_action", {})],
        "dr-plan-start-planned-migration": [("POST", f"/api/dr/plans/{plan.pk}/planned-migrations/", "api_action", {})],
        "dr-drill-list": [("GET", "/api/dr/drills/", "api_read", None)],
        "dr-drill-detail": [("GET", f"/api/dr/drills/{drill.pk}/", "api_read", None)],
        "capacity:index": [("GET", "/capacity/?range=7d", "page", None)],
        "capacity:host_detail": [("GET", f"/capacity/hosts/{o['host'].pk}/", "page", None)],
        "capacity:host_evacuate": [
            ("GET", f"/capacity/hosts/{o['evacuable_host'].pk}/evacuate/", "page", None),
            ("POST", f"/capacity/hosts/{o['evacuable_host'].pk}/evacuate/", "page_action", {}),
        ],
        "capacity:site_recommend": [("POST", f"/capacity/sites/{site}/recommend/", "page_action", None)],
        # A site evacuation's POST names the site itself as destination: the form refuses it (nothing moves).
        "capacity:site_evacuate": [
            ("GET", f"/capacity/sites/{site}/evacuate/", "page", None),
            ("POST", f"/capacity/sites/{site}/evacuate/", "page_action", {"destination": site}),
        ],
        "capacity:recommendation_detail": [("GET", f"/capacity/recommendations/{rec}/", "page", None)],
        "capacity:recommendation_apply": [
            (
                "POST",
                f"/capacity/recommendations/{rec}/apply/",
                "page_action",
                {"override_reason": "Accepted for the matrix: the moves copy their disks."},
            )
        ],
        "capacity:recommendation_dismiss": [("POST", f"/capacity/recommendations/{rec}/dismiss/", "page_action", None)],
        "capacity:evacuation_detail": [("GET", f"/capacity/evacuations/{evac}/", "page", None)],
        "capacity:evacuation_progress": [("GET", f"/capacity/evacuations/{evac}/progress/", "page", None)],
        "capacity-sample-list": [("GET", f"/api/capacity/samples/?scope=host&object={o['host'].pk}", "api_read", None)],
        "capacity-recommendation-list": [("GET", "/api/capacity/recommendations/", "api_read", None)],
        "capacity-recommendation-detail": [("GET", f"/api/capacity/recommendations/{rec}/", "api_read", None)],
        "capacity-recommendation-apply": [
            (
                "POST",
                f"/api/capacity/recommendations/{rec}/apply/",
                "api_action",
                {"override_reason": "Accepted for the matrix: the moves copy their disks."},
            )
        ],
        "capacity-recommendation-dismiss": [
            ("POST", f"/api/capacity/recommendations/{rec}/dismiss/", "api_action", None)
        ],
        "capacity-site-recommend": [("POST", f"/api/capacity/sites/{site}/recommendations/", "api_action", None)],
        "capacity-evacuation-list": [
            ("GET", "/api/capacity/evacuations/", "api_read", None),
            ("POST", "/api/capacity/evacuations/", "api_action", {"host": o["evacuable_host"].pk}),
        ],
        "capacity-evacuation-preview": [
            ("POST", "/api/capacity/evacuations/preview/", "api_action", {"host": o["evacuable_host"].pk})
        ],
        "capacity-evacuation-detail": [("GET", f"/api/capacity/evacuations/{evac}/", "api_read", None)],
        "assessment:index": [("GET", "/assessments/", "page", None)],
        "assessment:new": [
            ("GET", f"/assessments/new/?query=site%3D{here.pk}", "page_op", None),
            (
                "POST",
                "/assessments/new/",
                "page_action",
                {"scope_kind": "site", "scope_site": here.pk, "destination": there.pk},
            ),
        ],
        "assessment:compare": [("GET", f"/assessments/compare/?ids={a1}&ids={a2}", "page", None)],
        "assessment:detail": [("GET", f"/assessments/{a1}/", "page", None)],
        "assessment:progress": [("GET", f"/assessments/{a1}/progress/", "page", None)],
        "assessment:rerun": [("POST", f"/assessments/{a1}/rerun/", "page_action", {})],
        "assessment:export_csv": [("GET", f"/assessments/{a1}/export.csv", "page", None)],
        "assessment:export_xlsx": [("GET", f"/assessments/{a1}/export.xlsx", "page", None)],
        "assessment-list": [
            ("GET", "/api/assessments/", "api_read", None),
            (
                "POST",
                "/api/assessments/",
                "api_action",
                {"scope": {"kind": "site", "site": here.pk}, "destination": there.pk},
            ),
        ],
        "assessment-detail": [("GET", f"/api/assessments/{a1}/", "api_read", None)],
        # Alarms: everyone with a role reads; operators acknowledge and clear; rules and webhooks are for admins.
        "alarms:index": [
            ("GET", "/alarms/", "page", None),
            ("GET", "/alarms/?state=open&severity=warning", "page", None),
        ],
        "alarms:detail": [("GET", f"/alarms/{alarm}/", "page", None)],
        "alarms:acknowledge": [("POST", f"/alarms/{alarm}/acknowledge/", "page_action", {"note": "on it"})],
        "alarms:clear": [("POST", f"/alarms/{alarm}/clear/", "page_action", {})],
        "alarms:rules": [("GET", "/alarms/rules/", "page", None)],
        "alarms:rule_new": [
            ("GET", "/alarms/rules/new/", "page_admin", None),
            ("POST", "/alarms/rules/new/", "page_admin", {}),
        ],
        "alarms:rule_edit": [
            ("GET", f"/alarms/rules/{alarm_rule}/", "page", None),
            ("POST", f"/alarms/rules/{alarm_rule}/", "page_admin", {}),
        ],
        "alarms:evaluate": [("POST", "/alarms/rules/evaluate/", "page_admin", None)],
        "alarms:webhooks": [("GET", "/alarms/webhooks/", "page", None)],
        "alarms:webhook_new": [
            ("GET", "/alarms/webhooks/new/", "page_admin", None),
            ("POST", "/alarms/webhooks/new/", "page_admin", {}),
        ],
        "alarms:webhook_edit": [
            ("GET", f"/alarms/webhooks/{endpoint}/", "page_admin", None),
            ("POST", f"/alarms/webhooks/{endpoint}/", "page_admin", {}),
        ],
        "alarm-list": [
            ("GET", "/api/alarms/", "api_read", None),
            ("GET", "/api/alarms/?state=bogus", "api_read_400", None),
        ],
        "alarm-detail": [("GET", f"/api/alarms/{alarm}/", "api_read", None)],
        "alarm-acknowledge": [("POST", f"/api/alarms/{alarm}/acknowledge/", "api_action", {"note": "on it"})],
        "alarm-clear": [("POST", f"/api/alarms/{alarm}/clear/", "api_action", {})],
        "alarm-rule-list": [
            ("GET", "/api/alarms/rules/", "api_read", None),
            ("POST", "/api/alarms/rules/", "api_admin", {}),
        ],
        "alarm-rule-detail": [
            ("GET", f"/api/alarms/rules/{alarm_rule}/", "api_read", None),
            ("PUT", f"/api/alarms/rules/{alarm_rule}/", "api_admin", {}),
            ("PATCH", f"/api/alarms/rules/{alarm_rule}/", "api_admin", {"severity": "critical"}),
            ("DELETE", f"/api/alarms/rules/{alarm_rule}/", "api_admin", None),
        ],
        "alarm-delivery-list": [("GET", "/api/alarms/deliveries/", "api_read", None)],
        # Move groups: everyone with a role reads; operators select, check, create, reschedule and cancel.
        "moves:list": [("GET", "/moves/", "page", None)],
        "moves:new": [
            ("GET", f"/moves/new/?workload={o['vm'].pk}", "page_op", None),
            ("POST", "/moves/new/", "page_action", {**move_body, "workload": o["vm"].pk, "action": "check"}),
        ],
        "moves:detail": [("GET", f"/moves/{group}/", "page", None)],
        "moves:edit": [
            ("GET", f"/moves/{group}/edit/", "page_op", None),
            ("POST", f"/moves/{group}/edit/", "page_action", {"start_at": later, "concurrency": 2}),
        ],
        "moves:cancel": [("POST", f"/moves/{group}/cancel/", "page_action", None)],
        "api-move-group-list": [
            ("GET", "/api/move-groups/", "api_read", None),
            ("POST", "/api/move-groups/", "api_action", {**move_body, "workloads": [o["vm"].pk], "start_at": later}),
        ],
        "api-move-group-precheck": [
            ("POST", "/api/move-groups/precheck/", "api_action", {**move_body, "workloads": [o["vm"].pk]})
        ],
        "api-move-group-detail": [
            ("GET", f"/api/move-groups/{group}/", "api_read", None),
            ("PATCH", f"/api/move-groups/{group}/", "api_action", {"start_at": later}),
        ],
        "api-move-group-cancel": [("POST", f"/api/move-groups/{group}/cancel/", "api_action", None)],
    }
    plural = {"site": "sites", "cloudlink": "links", "cluster": "clusters", "host": "hosts",
              "datastore": "datastores", "segment": "segments", "workload": "workloads", "tag": "tags",
              "placementrule": "placement-rules"}  # fmt: skip
    for model in INVENTORY_API:
        obj = o[API_OBJECT[model]]
        base = f"/api/{plural[model]}/"
        ops[f"inventory-{model}-list"] = [("GET", base, "api_read", None), ("POST", base, "api_admin", {})]
        ops[f"inventory-{model}-detail"] = [
            ("GET", f"{base}{obj.pk}/", "api_read", None),
            ("PUT", f"{base}{obj.pk}/", "api_admin", {}),
            ("PATCH", f"{base}{obj.pk}/", "api_admin", {}),
            ("DELETE", f"{base}{obj.pk}/", "api_admin", None),
        ]
    return ops


# The usual success code when the operator's body is valid (everything else: any non-refusal below 500).
OPERATOR_SUCCESS = {
    # RVTools import: an empty upload is refused with the form (400); the demo example and a draft's sites go on.
    ("POST", "inventory:estate_import_upload"): {400},
    ("POST", "inventory:estate_import_demo"): {302},
    ("POST", "inventory:estate_import_detail"): {302},
    ("POST", "api-migration-precheck"): {200},
    ("POST", "api-migration-list"): {201},
    ("POST", "api-migration-cancel"): {200},
    ("POST", "containers-container-restart"): {200},
    ("POST", "dr-plan-start-drill"): {200, 201, 202},
    ("POST", "migration:cancel"): {302},
    ("POST", "dr:plan_start_drill"): {302},
    # Capacity: the API's apply runs first (operations sort by name); the page then finds it applied (a message).
    ("POST", "capacity-recommendation-apply"): {200},
    ("POST", "capacity-site-recommend"): {201},
    ("POST", "capacity-evacuation-list"): {201},
    ("POST", "capacity-evacuation-preview"): {200},
    ("POST", "capacity:recommendation_apply"): {302},
    ("POST", "capacity:site_recommend"): {302},
    # Started (201), refused by pre-checks (400) or behind the test drill started just before (409).
    ("POST", "dr-plan-start-planned-migration"): {201, 400, 409},
    ("POST", "dr:plan_planned_migration"): {302},
    ("POST", "assessment-list"): {201},
    ("POST", "assessment:new"): {302},
    ("POST", "assessment:rerun"): {302},
    # The API acknowledges the active alarm, then clears it; the page's buttons then find it cleared (a message).
    ("POST", "alarm-acknowledge"): {200},
    ("POST", "alarm-clear"): {200},
    ("POST", "alarms:acknowledge"): {302},
    ("POST", "alarms:clear"): {302},
    ("POST", "api-move-group-precheck"): {200},
    ("POST", "api-move-group-cancel"): {200},
    ("POST", "moves:cancel"): {302},
}


def expected(kind: str, role: str, method: str, name: str, status: int, response) -> str | None:
    """None when `status` is right for this role, else what was expected."""
    login = response.status_code == 302 and response.headers.get("Location", "").startswith(reverse("login"))
    if kind == "public":
        # The login page sends a signed-in user on to the overview.
        return None if status == 200 or (name == "login" and role != "anonymous" and status == 302) else "200"
    if kind == "logout":
        return None if status in (200, 302) else "200/302"
    is_api = kind.startswith("api") or kind == "audit_api"
    if role == "nogroup":
        if status != 403:
            return "403"
        if not is_api and NO_ROLE_PAGE not in response.content:
            return "403 with the page saying to ask an administrator"
        return None
    if role == "anonymous":
        if is_api:
            return None if status in (401, 403) else "401/403"
        return None if login else "a redirect to the login page"
    if kind in ("page", "api_read"):
        return None if status == 200 else "200"
    if kind == "api_read_400":
        return None if status == 400 else "400 naming the bad filter"
    if kind in ("audit_page", "audit_api"):
        if role == "viewer":
            return None if status == 403 else "403"
        return None if status == 200 else "200"
    if kind in ("api_admin", "page_admin"):
        if role in ("viewer", "operator"):
            return None if status == 403 else "403"
        return None if status not in (401, 403) and status < 500 else "not refused, no server error"
    # page_op, page_action, api_action: operators act.
    if role == "viewer":
        return None if status == 403 else "403"
    wanted = OPERATOR_SUCCESS.get((method, name))
    if wanted and role == "operator":
        return None if status in wanted else "/".join(map(str, sorted(wanted)))
    return None if status not in (401, 403) and status < 500 else "not refused, no server error"


def client_for(role: str, users: dict) -> Client:
    client = Client()
    if role != "anonymous":
        client.force_login(users[role])
    return client


def test_every_url_pattern_is_in_the_matrix_or_listed_with_a_reason(cloud):
    ops = operations(cloud)
    unmapped, skipped = [], {key: 0 for key in NOT_HERE}
    for route, name in project_patterns():
        if route.startswith(settings.ADMIN_URL):
            skipped["admin"] += 1
        elif is_format_suffix(route):
            skipped["format"] += 1
        elif route.startswith("docker/"):
            skipped[route.split("/")[0]] += 1
        elif name not in ops:
            unmapped.append((route, name))
    assert not unmapped, f"URL patterns missing from the permission matrix: {unmapped}"
    stale = [key for key, count in skipped.items() if not count and key not in IN_PROGRESS]
    assert not stale, f"a NOT_HERE reason no longer matches any pattern: {stale}"
    names = {name for _, name in project_patterns()}
    assert not set(ops) - names, f"matrix entries with no URL pattern: {set(ops) - names}"


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(role, cloud, viewer, operator, admin_user, no_role_user):
    users = {"viewer": viewer, "operator": operator, "admin": admin_user, "nogroup": no_role_user}
    client = client_for(role, users)
    ops = [(name, *op) for name, entries in operations(cloud).items() for op in entries]
    # Reads first, then actions, deletions and removals last: one run shares one cloud.
    order = {"GET": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 3}
    ops.sort(key=lambda op: (order[op[1]] + (2 if re.search(r"remove|logout", op[0]) else 0), op[0]))
    failures = []
    for name, method, url, kind, body in ops:
        response = (
            getattr(client, method.lower())(url, body if body is not None else {}, "application/json")
            if (kind.startswith("api") or kind == "audit_api") and method != "GET"
            else (client.post(url, body or {}) if method == "POST" else getattr(client, method.lower())(url))
        )
        problem = expected(kind, role, method, name, response.status_code, response)
        if problem:
            failures.append(f"{role} {method} {url} ({name}, {kind}): got {response.status_code}, want {problem}")
    assert not failures, "\n".join(failures)


def test_admin_is_for_administrators_only(cloud, viewer, operator, admin_user, no_role_user):
    """Every registered model's change list, add form and change form: administrators only."""
    users = {"viewer": viewer, "operator": operator, "admin": admin_user, "nogroup": no_role_user}
    admin_login = reverse("admin:login")
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        urls.append(reverse(f"admin:{info[0]}_{info[1]}_changelist"))
        obj = model._default_manager.first()
        if obj is not None:
            urls.append(reverse(f"admin:{info[0]}_{info[1]}_change", args=[obj.pk]))
    failures = []
    for role in ROLES:
        client = client_for(role, users)
        for url in urls:
            response = client.get(url)
            if role == "admin":
                ok = response.status_code == 200
            elif role == "nogroup":
                ok = response.status_code == 403 and NO_ROLE_PAGE in response.content
            else:
                # Signed-in non-staff go to the admin's login; anonymous users may meet the site's login first.
                logins = (admin_login, reverse("login")) if role == "anonymous" else (admin_login,)
                ok = response.status_code == 302 and response.headers["Location"].startswith(logins)
            if not ok:
                failures.append(f"{role} GET {url}: {response.status_code}")
    assert not failures, "\n".join(failures)
    # The audit trail is read-only even for administrators.
    add = Client()
    add.force_login(admin_user)
    assert add.get(reverse("admin:hybridcloud_auditentry_add")).status_code == 403
    assert AuditEntry.objects.exists()


def test_post_without_csrf_token_is_refused(cloud, operator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    mig = cloud["migration"]
    assert client.post(f"/migrations/{mig.pk}/cancel/").status_code == 403
    assert client.post(f"/dr/plans/{cloud['plan'].pk}/drills/").status_code == 403
    body = {"workload": cloud["vm"].pk, "destination_host": cloud["other_host"].pk}
    assert client.post("/api/migrations/precheck/", body, "application/json").status_code == 403
    assert client.post("/logout/").status_code == 403
    Migration.objects.get(pk=mig.pk)  # still there, not cancelled by the refused request
    assert Migration.objects.get(pk=mig.pk).state != "cancelled"


def test_token_clients_need_no_csrf_token(cloud, operator):
    token = Token.objects.create(user=operator)
    client = Client(enforce_csrf_checks=True)
    body = {"workload": cloud["vm"].pk, "destination_host": cloud["other_host"].pk}
    response = client.post(
        "/api/migrations/precheck/", body, "application/json", headers={"authorization": f"Token {token.key}"}
    )
    assert response.status_code == 200

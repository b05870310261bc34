"""The one table of default dirty rates and working sets (RVTools import and migration assessment both use it)."""

from __future__ import annotations

import pytest

from hybridcloud.core.units import GIB
from inventory.assumptions import DIRTY_RULES, MB, dirty_rule_for, workload_dirty_assumption


@pytest.mark.parametrize(
    ("name", "guest_os", "annotation", "role"),
    [
        ("sql-prod-01", "Microsoft Windows Server 2022", "", "database"),
        ("pg-replica-3", "Red Hat Enterprise Linux 9", "", "database"),
        ("ora19c", "Oracle Linux 8", "", "database"),
        ("redis-cache-1", "Debian 12", "", "cache"),
        ("kafka-broker-2", "Ubuntu 22.04", "", "cache"),
        ("www-frontend", "Ubuntu 22.04", "", "web"),
        ("tomcat-07", "Rocky Linux 9", "", "app"),
        ("jenkins-agent-4", "Ubuntu 22.04", "", "build"),
        ("dc01", "Microsoft Windows Server 2019", "", "infra"),
        ("vm-4711", "Microsoft Windows Server 2019", "", "windows"),
        ("vm-4712", "Ubuntu 22.04", "", "linux"),
        ("vm-4713", "", "", "linux"),
        ("vm-4714", "Ubuntu 22.04", "Runs the billing PostgreSQL\nOwner: finance", "database"),
    ],
)
def test_the_role_comes_from_the_name_or_annotation_else_the_os(name, guest_os, annotation, role):
    assert dirty_rule_for(name=name, guest_os=guest_os, annotation=annotation).role == role


def test_the_assumption_is_in_the_engines_units_and_within_memory():
    a = workload_dirty_assumption(name="sql-prod-01", guest_os="Windows", memory_bytes=64 * GIB)
    assert (a.role, a.dirty_rate_bps, a.working_set_bytes) == ("database", 50 * MB, 32 * GIB)
    assert a.rule == "Database: 50 MB/s, working set 50% of memory"
    for rule in DIRTY_RULES:
        assert 0 < rule.working_set_share <= 1 and rule.dirty_mb_s > 0
    tiny = workload_dirty_assumption(name="x", guest_os="", memory_bytes=1)
    assert 0 <= tiny.working_set_bytes <= 1

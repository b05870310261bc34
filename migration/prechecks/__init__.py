"""Pre-checks of a proposed move: the one place that decides whether a workload may go somewhere, and how.

`precheck_migration()` returns errors (the move cannot start), warnings (it may, with a written reason) and,
when nothing blocks it, the engine's prediction of rounds, total time and downtime, with suggestions when the
move would not converge within its downtime budget. VMs and container-VMs are checked the same way.

The package, by concern:

- `context`: what the checks read, each fact once (`PrecheckContext`, shared by planners across many checks), and
  the link keys that group migrations sharing bandwidth;
- `checks`: the named checks of one move (`MOVE_CHECKS`) and `precheck_migration`;
- `prediction`: the engine's inputs for a move (`engine_params`, `migration_world`) and its forecast, range, limit
  and suggestions;
- `refusals`: the registry through which layers above refuse a destination host (`register_host_refusal`).
"""

from migration.prechecks.checks import MAX_RTT_MS, MOVE_CHECKS, host_checks, host_load, precheck_migration
from migration.prechecks.context import ActiveMigration, PrecheckContext, link_key_for, link_key_limit
from migration.prechecks.move import Move, PrecheckResult
from migration.prechecks.prediction import (
    LIMIT_LABELS,
    HostStack,
    LinkStack,
    engine_params,
    migration_world,
    prediction_dict,
    suggestions,
    transport_between,
    transport_fields,
)
from migration.prechecks.refusals import HostCheck, register_host_refusal, unregister_host_refusal

__all__ = [
    "LIMIT_LABELS",
    "MAX_RTT_MS",
    "MOVE_CHECKS",
    "ActiveMigration",
    "HostCheck",
    "HostStack",
    "LinkStack",
    "Move",
    "PrecheckContext",
    "PrecheckResult",
    "engine_params",
    "host_checks",
    "host_load",
    "link_key_for",
    "link_key_limit",
    "migration_world",
    "precheck_migration",
    "prediction_dict",
    "register_host_refusal",
    "suggestions",
    "transport_between",
    "transport_fields",
    "unregister_host_refusal",
]

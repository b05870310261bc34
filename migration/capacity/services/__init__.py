"""Writes of the capacity app, by concern. Every move goes through `migration_start` (pre-checks, admission,
queueing); nothing here moves a workload by itself. Telemetry writes live in `migration.capacity.sampling`.

- `recommendations`: proposals to relieve hot hosts and sites (compute, apply, dismiss);
- `evacuations`: emptying a host or a site (plan, start, refresh, finish);
- `refusals`: what the actions refuse, and why.
"""

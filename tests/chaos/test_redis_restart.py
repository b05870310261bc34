"""Redis restarted in the middle of running migrations.

The session's Redis keeps nothing on disk, so a restart loses every queued Celery message (the step chains'
next steps), the chains' tokens and locks, and every channel-layer subscription. The worker and Daphne must
reconnect by themselves, the watchdog (beat) must restart the chains from the rows, and a live page must end up
showing the truth again (a new snapshot), with `seq` never going backwards.
"""

from __future__ import annotations

import time

import pytest

from migration.models import Migration
from migration.services import migration_start
from tests import factories
from tests.chaos.conftest import (
    LivePage,
    all_finished,
    assert_nothing_lost,
    assert_page_consistent,
    ensure_watchdog_schedule,
    session_cookie,
    wait_for,
)
from tests.conftest import make_user, start_celery_worker, start_daphne

pytestmark = [pytest.mark.integration, pytest.mark.chaos]


def test_redis_restart_mid_migration_worker_and_pages_reconnect_and_every_migration_completes(
    transactional_db, session_redis, client, settings
):
    settings.SIMULATION_SPEED = 3
    ensure_watchdog_schedule()
    topo = factories.topology()
    # About 10 s each once under way (three share each link), so that all are mid-way when Redis goes.
    wan = [factories.workload(topo.ca_hosts[0], segment=topo.stretched, memory_gib=8, disk_gib=4) for _ in range(3)]
    local = [factories.workload(topo.ca_hosts[0], memory_gib=8) for _ in range(3)]
    operator = make_user("chaos-otto", group="operators")
    cookie = session_cookie(client, operator)

    daphne, base_url = start_daphne("chaos-daphne")
    worker = start_celery_worker("chaos-redis", beat=True)
    pages_and_panel: list[LivePage] = []
    try:
        ids = [
            migration_start(workload=vm, destination_host=topo.va_hosts[0], override_reason="storage moves too").pk
            for vm in wan
        ] + [migration_start(workload=vm, destination_host=topo.ca_hosts[1]).pk for vm in local]
        pages = [LivePage(base_url, pk, cookie).start() for pk in ids]
        activity = LivePage(base_url, None, cookie, path="/ws/activity/").start()
        pages_and_panel = [*pages, activity]
        wait_for(
            lambda: Migration.objects.filter(pk__in=ids, state="precopy", bytes_sent__gt=0).count() == len(ids),
            timeout=30,
            what="every migration under way",
        )
        before = {m.pk: (m.seq, m.bytes_sent) for m in Migration.objects.filter(pk__in=ids)}
        before_panel = activity.applied[-1][0]

        session_redis.stop()
        time.sleep(1.0)  # down long enough for every client to notice
        restarted_at = time.monotonic()
        session_redis.start()

        wait_for(lambda: all_finished(ids), timeout=90, interval=0.25, what="every migration finishing")
        migrations = assert_nothing_lost(ids)
        assert [m.state for m in migrations] == ["completed"] * len(ids), [m.outcome_reason for m in migrations]
        for m in migrations:
            assert m.seq > before[m.pk][0] and m.bytes_sent >= before[m.pk][1]
        # The same worker and web server carried on: they reconnected rather than died.
        assert worker.alive() and daphne.alive()
        for page in pages:
            wait_for(lambda page=page: page.state == "completed", timeout=15, what=f"page {page.migration_id} done")
            assert_page_consistent(page, "completed")
            # After the restart the page received pushes through the channel layer again, not only snapshots.
            after = [kind for at, kind in page.received_at if at > restarted_at]
            assert any(kind != "snapshot" for kind in after), (page.migration_id, after)
        # The activity panel: every push after the restart is numbered above what it had seen before (a counter
        # that started again at 1 would have every push dropped as already seen), and it applied some of them.
        late = [(kind, seq) for at, kind, seq in activity.received if at > restarted_at and kind != "snapshot"]
        assert late and all(seq > before_panel for _, seq in late), (before_panel, late[:5])
        assert any(seq > before_panel and kind != "snapshot" for seq, _, kind in activity.applied)
        panel_seqs = [seq for seq, _, _ in activity.applied]
        assert panel_seqs == sorted(panel_seqs), panel_seqs
    finally:
        for page in pages_and_panel:
            page.stop()
        worker.stop()
        daphne.stop()

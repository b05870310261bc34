"""SIGKILL the very worker process that runs an RVTools import while it writes: nothing half-written remains (the
import is one transaction), and the watchdog has a new worker run it to its end, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from hybridcloud.core.models import AuditEntry
from inventory.choices import EstateImportStatus
from inventory.importers.runs import (
    STALE_AFTER_S,
    estate_import_create,
    estate_import_queue,
    estate_imports_resume_stale,
)
from inventory.importers.samples import synthetic_sample, tabs_to_xlsx
from inventory.models import Estate, EstateImport, Workload
from tests.reliability.helpers import alive, holder_pid, in_worker, wait_for

pytestmark = pytest.mark.integration
VMS = 3000


def test_killing_the_worker_during_the_writes_leaves_nothing_and_the_watchdog_finishes(transactional_db, operator):
    from hybridcloud.celery import app
    from tests.conftest import start_celery_worker

    app.control.purge()
    item = estate_import_create(content=tabs_to_xlsx(synthetic_sample(vms=VMS).tabs()), file_name="big.xlsx",
                                user=operator)  # fmt: skip
    worker = start_celery_worker("import-1")
    try:
        estate_import_queue(estate_import=item, site_choices={})

        def row():
            return EstateImport.objects.get(pk=item.pk)

        # "Valid: ..." is the last progress written before the one transaction that writes everything.
        wait_for(lambda: row().stage.startswith("Valid"), timeout=90, interval=0.02, what="the writes to start",
                 describe=lambda: f"{row().status} {row().stage} {row().progress}")  # fmt: skip
        pid = holder_pid(row().holder)
        assert in_worker(pid, worker), f"{row().holder} is not one of the worker's processes"
        worker.kill()
        wait_for(lambda: not alive(pid), timeout=5, what=f"the holder {pid} to die")
    finally:
        worker.stop()
    # Nothing half-written: no estate, no workload, no audit entry; the import still says running.
    assert row().status == EstateImportStatus.RUNNING
    assert not Estate.objects.exists() and not Workload.objects.exists()
    assert not AuditEntry.objects.filter(action="inventory.import").exists()

    second = start_celery_worker("import-2")
    try:
        later = timezone.now() + timedelta(seconds=STALE_AFTER_S + 1)  # as the watchdog sees it two minutes on
        assert estate_imports_resume_stale(now=later) == [item.pk]
        wait_for(lambda: row().status == EstateImportStatus.SUCCEEDED, timeout=120, what="the import to finish",
                 describe=lambda: f"{row().status} {row().stage}: {row().message}")  # fmt: skip
        assert holder_pid(row().holder) != pid
    finally:
        second.stop()
    assert Workload.objects.filter(estate__isnull=False).count() == VMS
    assert row().attempts == 1 and row().summary["counts"]["workloads"]["added"] == VMS
    assert AuditEntry.objects.filter(action="inventory.import").count() == 1

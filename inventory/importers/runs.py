"""Running RVTools imports: from the command line in-process, from the upload page as an `EstateImport` that a Celery
task runs.

Rules:
- `rvtools_import` reads, validates (the whole file, before any write) and applies in one transaction; it is what
  the command and the task both run.
- An upload is kept as a draft (its bytes in the database) until its datacenters' sites are chosen; then it is
  queued, and the task is enqueued after that commit. The task claims the import by a conditional update (queued →
  running, with a fresh token), so a duplicate delivery does nothing; every progress write is conditional on that
  token. The watchdog (beat, every minute) re-queues a running import whose heartbeat is older than
  `STALE_AFTER_S` (its worker died; the transaction it held rolled back, so running it again is safe), at most
  `MAX_ATTEMPTS` times, then fails it with the reason.
- Progress goes to the row while the file is read and validated (no transaction is open then); the writes run in
  one transaction and take a few seconds at 10,000 VMs, announced by their stage beforehand.
"""

from __future__ import annotations

import os
import secrets
import socket
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hybridcloud.core.models import AuditVia
from hybridcloud.core.units import MIB, format_bytes
from inventory.choices import EstateImportStatus
from inventory.importers.apply import estate_import_apply
from inventory.importers.records import MAX_LISTED_PROBLEMS, Problem, RVToolsExport, RVToolsRefused
from inventory.importers.rvtools import parse_rvtools, parse_source
from inventory.importers.sources import ExportUnreadable, read_export
from inventory.models import Estate, EstateDatacenter, EstateImport, EstateImportFile, Site

DEFAULT_MAX_UPLOAD_BYTES = 100 * MIB
STALE_AFTER_S = 120
MAX_ATTEMPTS = 3
DEMO_EXAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "rvtools_demo.xlsx"
TAB_ORDER = ("vHost", "vCluster", "vDatastore", "vNIC", "vSC_VMK", "vInfo", "vNetwork")
ProgressFn = Callable[[float, str], None]
RUN_TASK = "inventory.tasks.run_estate_import"  # sent by name: the task module imports this one


def max_upload_bytes() -> int:
    """The largest upload accepted (setting RVTOOLS_MAX_UPLOAD_BYTES, default 100 MiB)."""
    return int(getattr(settings, "RVTOOLS_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES))


def upload_too_large(*, name: str, size: int) -> str | None:
    """The refusal for an upload over the limit, or None."""
    limit = max_upload_bytes()
    if size <= limit:
        return None
    return (
        f"{name} is {format_bytes(size)}; the limit is {format_bytes(limit)}. Zip the CSV export, or export only the "
        "tabs used (vInfo, vHost, vCluster, vDatastore, vNetwork, vNIC, vSC_VMK)."
    )


def _enqueue(import_id: int) -> None:
    current_app.send_task(RUN_TASK, args=[import_id])


def rvtools_import(
    *,
    source: Path | bytes,
    file_name: str = "",
    site_choices: dict[str, int | None] | None = None,
    estate_name: str = "",
    actor=None,
    via: str | None = None,
    on_progress: ProgressFn | None = None,
    on_tab: Callable[[str, int], None] | None = None,
) -> dict[str, Any]:
    """Imports one RVTools export (an .xlsx, a zip of its CSVs, or a folder of them) and returns the summary.
    Raises `ExportUnreadable` or `RVToolsRefused`; either way nothing changed."""
    progress = on_progress or (lambda fraction, stage: None)

    def rows_read(tab: str, rows: int, total: int | None) -> None:
        if tab == "vInfo" and total:
            progress(0.05 + 0.55 * min(rows / total, 1.0), f"Reading vInfo: {rows:,} of {total:,} rows")

    progress(0.02, "Reading the file")
    sheets = read_export(source, filename=file_name, on_rows=rows_read)
    progress(0.62, "Validating every tab")
    export = parse_rvtools(sheets, on_tab=on_tab)
    progress(0.7, f"Valid: {len(export.vms):,} VMs, {len(export.hosts):,} hosts")
    return estate_import_apply(
        export=export, site_choices=site_choices, estate_name=estate_name, file_name=file_name, actor=actor,
        via=via, on_progress=progress,
    )  # fmt: skip


def problems_payload(exc: RVToolsRefused | ExportUnreadable) -> tuple[list[str], int]:
    """The first `MAX_LISTED_PROBLEMS` problems as sentences, and how many there were in all."""
    if isinstance(exc, RVToolsRefused):
        return [str(p) for p in exc.problems[:MAX_LISTED_PROBLEMS]], len(exc.problems)
    return [str(exc)], 1


def upload_scan(content: bytes, *, file_name: str) -> dict[str, Any]:
    """What the sites form needs from an upload, read quickly (vHost and vSource only, even for a large workbook):
    the datacenters its hosts are in and the estate it belongs to, if already imported. Raises `ExportUnreadable` /
    `RVToolsRefused` when even that much cannot be read."""
    sheets = read_export(content, filename=file_name, tabs=("vHost", "vSource"))
    if "vHost" not in sheets:
        raise RVToolsRefused([Problem("vHost", None, None, "required tab missing")])
    header = [h.strip().lower() for h in sheets["vHost"].header]
    if "datacenter" not in header:
        raise RVToolsRefused([Problem("vHost", 1, "Datacenter", "required column 'Datacenter' missing")])
    position = header.index("datacenter")
    datacenters = sorted(
        {str(v[position]).strip() for _n, v in sheets["vHost"].rows if position < len(v) and v[position]}
    )
    source = RVToolsExport()
    parse_source(sheets.get("vSource"), source)
    estate = Estate.objects.filter(vcenter_uuid=source.vcenter_uuid).first() if source.vcenter_uuid else None
    estate = estate or (Estate.objects.filter(name=source.vcenter).first() if source.vcenter else None)
    return {"datacenters_found": datacenters, "estate_found": estate.pk if estate else None}


def default_site_for(datacenter: str, *, estate_id: int | None, sites: list[Site]) -> int | None:
    """The site a datacenter goes to unless the operator says otherwise: where it went last time, else the site of
    the same name, else none (a new private site)."""
    if estate_id is not None:
        remembered = EstateDatacenter.objects.filter(estate_id=estate_id, name=datacenter).first()
        if remembered:
            return remembered.site_id
    return next((s.pk for s in sites if s.name == datacenter), None)


@transaction.atomic
def estate_import_create(*, content: bytes, file_name: str, user, estate_name: str = "") -> EstateImport:
    """Keeps an upload as a draft import (the bytes in the database). Raises `ExportUnreadable` when the file is
    too large or is not an RVTools export at all."""
    too_large = upload_too_large(name=file_name, size=len(content))
    if too_large:
        raise ExportUnreadable(too_large)
    scan = upload_scan(content, file_name=file_name)
    if estate_name:
        named = Estate.objects.filter(name=estate_name).first()
        scan["estate_found"] = named.pk if named else scan["estate_found"]
    estate_import = EstateImport.objects.create(
        file_name=file_name[:255], file_size=len(content), estate_name=estate_name[:100], requested_by=user,
        status=EstateImportStatus.DRAFT, summary=scan,
    )  # fmt: skip
    EstateImportFile.objects.create(estate_import=estate_import, content=content)
    return estate_import


def estate_import_queue(*, estate_import: EstateImport, site_choices: dict[str, int | None]) -> bool:
    """Queues a draft with its sites (datacenter → site id, or None for a new private site) and
    enqueues its task after commit. False when it was not a draft any more (a second click)."""
    with transaction.atomic():
        queued = EstateImport.objects.filter(pk=estate_import.pk, status=EstateImportStatus.DRAFT).update(
            status=EstateImportStatus.QUEUED, site_choices=site_choices, stage="Queued", heartbeat_at=timezone.now()
        )
        if queued:
            transaction.on_commit(lambda: _enqueue(estate_import.pk))
    return bool(queued)


def estate_import_run(*, import_id: int) -> str:
    """Runs a queued import to its end (the task's body); returns its final status, or "" when another worker
    holds it or it was not queued."""
    token = secrets.token_hex(8)
    now = timezone.now()
    claimed = EstateImport.objects.filter(pk=import_id, status=EstateImportStatus.QUEUED).update(
        status=EstateImportStatus.RUNNING, token=token, started_at=now, heartbeat_at=now, stage="Starting",
        progress=0.0, holder=f"{socket.gethostname()}:{os.getpid()}",
    )  # fmt: skip
    if not claimed:
        return ""
    estate_import = EstateImport.objects.select_related("requested_by").get(pk=import_id)
    mine = EstateImport.objects.filter(pk=import_id, token=token, status=EstateImportStatus.RUNNING)
    last = [0.0]

    def progress(fraction: float, stage: str) -> None:
        if transaction.get_connection().in_atomic_block:
            return  # inside the import's transaction: SQLite would wait on its own lock
        if time.monotonic() - last[0] >= 0.3 or fraction >= 0.7:
            last[0] = time.monotonic()
            mine.update(progress=round(fraction, 4), stage=stage[:200], heartbeat_at=timezone.now())

    upload = EstateImportFile.objects.filter(estate_import_id=import_id).first()
    try:
        if upload is None:
            raise ExportUnreadable("The uploaded file is gone (this import ran before).")
        summary = rvtools_import(
            source=bytes(upload.content), file_name=estate_import.file_name,
            site_choices={k: int(v) if v is not None else None for k, v in (estate_import.site_choices or {}).items()},
            estate_name=estate_import.estate_name, actor=estate_import.requested_by, via=AuditVia.UI,
            on_progress=progress,
        )  # fmt: skip
    except (RVToolsRefused, ExportUnreadable) as exc:
        errors, count = problems_payload(exc)
        mine.update(
            status=EstateImportStatus.REFUSED, errors=errors, error_count=count, finished_at=timezone.now(),
            stage="Refused: nothing changed", message=f"{count} problem(s); nothing was changed.",
        )  # fmt: skip
        return EstateImportStatus.REFUSED
    except Exception as exc:  # a bug or the database going away: the transaction rolled back
        mine.update(
            status=EstateImportStatus.FAILED, finished_at=timezone.now(), stage="Failed: nothing changed",
            message=f"The import failed ({type(exc).__name__}: {exc}); nothing was changed.",
        )  # fmt: skip
        raise
    estate_id = summary.pop("estate_id")
    mine.update(
        status=EstateImportStatus.SUCCEEDED, estate_id=estate_id, summary=summary, progress=1.0,
        stage="Imported", finished_at=timezone.now(), message=summary["headline"],
    )  # fmt: skip
    EstateImportFile.objects.filter(estate_import_id=import_id).delete()
    return EstateImportStatus.SUCCEEDED


def estate_imports_resume_stale(*, now=None) -> list[int]:
    """The watchdog: re-queues running imports whose worker stopped sending heartbeats, or fails them after
    `MAX_ATTEMPTS`; returns the ids it re-queued (their tasks are enqueued after commit)."""
    now = now or timezone.now()
    stale = EstateImport.objects.filter(
        status=EstateImportStatus.RUNNING, heartbeat_at__lt=now - timedelta(seconds=STALE_AFTER_S)
    )
    requeued = []
    for item in stale.only("pk", "attempts", "token"):
        base = EstateImport.objects.filter(pk=item.pk, status=EstateImportStatus.RUNNING, token=item.token)
        if item.attempts + 1 >= MAX_ATTEMPTS:
            base.update(
                status=EstateImportStatus.FAILED, finished_at=now, stage="Failed: nothing changed",
                message=f"Its worker stopped {MAX_ATTEMPTS} times; nothing was changed. Upload the file again.",
            )  # fmt: skip
        elif base.update(status=EstateImportStatus.QUEUED, attempts=item.attempts + 1, token="", heartbeat_at=now):
            requeued.append(item.pk)
    for pk in requeued:
        transaction.on_commit(lambda pk=pk: _enqueue(pk))
    return requeued

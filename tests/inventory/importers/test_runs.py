"""The upload page and the import's run as the Celery task runs it (its body called here; the browser test runs it
in a real worker): draft → sites → queued → running → imported or refused, a duplicate delivery doing nothing, the
watchdog, the size limit and unsafe zips refused on the page."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from hybridcloud.core.units import MIB
from inventory.choices import EstateImportStatus
from inventory.importers.apply import estate_import_apply
from inventory.importers.runs import MAX_ATTEMPTS, STALE_AFTER_S, estate_import_run, estate_imports_resume_stale
from inventory.importers.rvtools import parse_rvtools
from inventory.importers.samples import tabs_to_xlsx
from inventory.importers.sources import read_export
from inventory.models import EstateImport, EstateImportFile, Host, Workload
from tests import factories
from tests.inventory.importers.builders import UUIDS, cell, small_estate

pytestmark = pytest.mark.django_db


def upload(client, data: bytes, name: str = "export.xlsx", **extra):
    return client.post("/imports/upload/", {"file": SimpleUploadedFile(name, data), **extra})


def test_upload_choose_sites_and_run(operator_client):
    west = factories.site("West Coast DC")
    response = upload(operator_client, tabs_to_xlsx(small_estate().tabs()), estate_name="Corp")
    item = EstateImport.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/imports/{item.pk}/"
    assert item.status == EstateImportStatus.DRAFT and item.summary["datacenters_found"] == ["DC-East", "DC-West"]
    page = operator_client.get(f"/imports/{item.pk}/").content.decode()
    assert "Datacenter <strong>DC-East</strong>" in page and "A new private site named after it" in page
    # DC-East (index 0) to a new site, DC-West to the existing one.
    response = operator_client.post(f"/imports/{item.pk}/", {"dc_0": "", "dc_1": str(west.pk)})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.status == EstateImportStatus.QUEUED and item.site_choices == {"DC-East": None, "DC-West": west.pk}
    assert operator_client.post(f"/imports/{item.pk}/", {"dc_1": ""}).status_code == 302  # a second click
    item.refresh_from_db()
    assert item.site_choices["DC-West"] == west.pk

    assert estate_import_run(import_id=item.pk) == EstateImportStatus.SUCCEEDED
    item.refresh_from_db()
    assert (item.status, item.progress, item.estate.name) == (EstateImportStatus.SUCCEEDED, 1.0, "Corp")
    assert item.summary["datacenters"] == {"DC-East": "DC-East", "DC-West": "West Coast DC"}
    assert not EstateImportFile.objects.filter(estate_import=item).exists()  # the upload is not kept
    assert Workload.objects.filter(estate=item.estate).count() == 5
    # A duplicate delivery of the task does nothing.
    assert estate_import_run(import_id=item.pk) == ""
    status = operator_client.get(f"/imports/{item.pk}/status.json").json()
    assert status["status"] == "succeeded" and status["finished"] and status["estate_id"] == item.estate_id
    page = operator_client.get(f"/imports/{item.pk}/").content.decode()
    assert "5 workloads" in page and "Templates skipped: 1" in page


def test_a_refused_file_is_listed_on_its_page_and_changes_nothing(operator_client):
    tabs = small_estate().tabs()
    cell(tabs, "vInfo", 4, "Memory", "a lot")
    upload(operator_client, tabs_to_xlsx(tabs))
    item = EstateImport.objects.get()
    operator_client.post(f"/imports/{item.pk}/", {})
    assert estate_import_run(import_id=item.pk) == EstateImportStatus.REFUSED
    item.refresh_from_db()
    assert item.errors == ["vInfo row 4, column 'Memory': 'a lot' is not a number"] and item.error_count == 1
    assert not Workload.objects.exists()
    page = operator_client.get(f"/imports/{item.pk}/").content.decode()
    assert "Refused: nothing was changed" in page and "column &#x27;Memory&#x27;: &#x27;a lot&#x27;" in page


def test_the_upload_is_size_limited_with_a_clear_message(operator_client, settings):
    settings.RVTOOLS_MAX_UPLOAD_BYTES = MIB
    response = upload(operator_client, b"PK\x03\x04" + b"0" * (3 * MIB // 2), name="huge.xlsx")
    assert response.status_code == 400
    assert "huge.xlsx is 1.5 MiB; the limit is 1.0 MiB." in response.content.decode()
    assert not EstateImport.objects.exists()


def test_unsafe_or_unreadable_uploads_are_refused_on_the_page(operator_client):
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("RVTools_tabvHost.csv", b"0" * (64 * MIB))
    response = upload(operator_client, bomb.getvalue(), name="bomb.zip")
    assert response.status_code == 400 and "a zip bomb" in response.content.decode()
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("../RVTools_tabvHost.csv", "Host,Datacenter\n")
    response = upload(operator_client, evil.getvalue(), name="evil.zip")
    assert response.status_code == 400 and "points outside the archive" in response.content.decode()
    response = upload(operator_client, b"hello", name="notes.txt")
    assert response.status_code == 400 and "neither an .xlsx workbook nor a .zip" in response.content.decode()
    tabs = small_estate().tabs()
    del tabs["vHost"]
    response = upload(operator_client, tabs_to_xlsx(tabs))
    assert response.status_code == 400 and "vHost: required tab missing" in response.content.decode()
    assert not EstateImport.objects.exists()


def test_the_watchdog_requeues_an_import_whose_worker_died_then_gives_up(django_capture_on_commit_callbacks):
    stale = timezone.now() - timedelta(seconds=STALE_AFTER_S + 5)
    item = EstateImport.objects.create(file_name="x.xlsx", status=EstateImportStatus.RUNNING, token="dead",
                                       heartbeat_at=stale)  # fmt: skip
    fresh = EstateImport.objects.create(file_name="y.xlsx", status=EstateImportStatus.RUNNING, token="alive",
                                        heartbeat_at=timezone.now())  # fmt: skip
    with django_capture_on_commit_callbacks() as callbacks:
        assert estate_imports_resume_stale() == [item.pk]
    assert len(callbacks) == 1  # its task is sent again once this commits
    item.refresh_from_db()
    assert (item.status, item.attempts, item.token) == (EstateImportStatus.QUEUED, 1, "")
    fresh.refresh_from_db()
    assert fresh.status == EstateImportStatus.RUNNING
    EstateImport.objects.filter(pk=item.pk).update(status="running", token="t", attempts=MAX_ATTEMPTS - 1,
                                                   heartbeat_at=stale)  # fmt: skip
    assert estate_imports_resume_stale() == []
    item.refresh_from_db()
    assert item.status == EstateImportStatus.FAILED and "stopped 3 times" in item.message


def test_an_imported_workload_and_host_show_where_they_came_from(operator_client):
    estate_import_apply(export=parse_rvtools(read_export(tabs_to_xlsx(small_estate().tabs()))), estate_name="Corp")
    sql = Workload.objects.get(external_id=UUIDS[2])
    page = operator_client.get(f"/workloads/{sql.pk}/").content.decode()
    assert "Corp</a>" in page and UUIDS[2] in page
    assert "Owner: DBA team, &quot;critical&quot;<br>Backups: nightly, 02:00" in page
    host = Host.objects.get(name="esx-w1.corp.example")
    page = operator_client.get(f"/hosts/{host.pk}/").content.decode()
    assert "MTU 9000 bytes" in page and "Intel(R) Xeon(R) Gold 6248" in page and "EVC intel-cascadelake" in page
    nameless = Workload.objects.get(external_id=UUIDS[3])
    assert "none reported" in operator_client.get(f"/workloads/{nameless.pk}/").content.decode()

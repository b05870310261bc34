import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hybridcloud.core.units import GIB
from inventory.choices import PowerState, WorkloadKind
from inventory.models import Estate, Workload
from inventory.panels import register_workload_panel, unregister_workload_panel
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def topo():
    return factories.topology()


def bulk_workloads(topo, count: int, *, start: int = 0) -> None:
    """Many workloads quickly (bulk_create): spread over CA and VA hosts, every tenth one a container-VM."""
    hosts = topo.ca_hosts + topo.va_hosts
    rows = []
    for i in range(start, start + count):
        host = hosts[i % len(hosts)]
        segment = topo.stretched
        rows.append(
            Workload(
                name=f"bulk-{i:05d}", kind=WorkloadKind.CONTAINER_VM if i % 10 == 0 else WorkloadKind.VM, vcpus=1,
                memory_bytes=GIB, disk_bytes=10 * GIB, host=host,
                datastore=topo.ca_datastore if host in topo.ca_hosts else topo.va_datastore, segment=segment,
                ip_address=str(segment.network.network_address + 10 + i), working_set_bytes=GIB // 4,
            )
        )  # fmt: skip
    Workload.objects.bulk_create(rows)


def names(response) -> list[str]:
    return [w["name"] for w in response.context["page"].object_list]


def test_workloads_page_query_count_constant(viewer_client, topo):
    bulk_workloads(topo, 10)
    with CaptureQueriesContext(connection) as small:
        assert viewer_client.get("/workloads/?ordering=site").status_code == 200
    bulk_workloads(topo, 990, start=10)
    with CaptureQueriesContext(connection) as large:
        response = viewer_client.get("/workloads/?ordering=site")
    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 50
    assert len(large) == len(small), [q["sql"] for q in large.captured_queries]


def test_workloads_page_lists_vms_and_container_vms_with_kind_badges(viewer_client, topo):
    factories.workload(topo.ca_hosts[0], name="web-frontend-01", segment=topo.stretched)
    factories.workload(topo.va_hosts[0], name="checkout-svc-01", kind=WorkloadKind.CONTAINER_VM, segment=topo.va_local)
    html = viewer_client.get("/workloads/").content.decode()
    assert "web-frontend-01" in html and "checkout-svc-01" in html
    assert html.count("kind-badge") == 2 and "Container-VM</span>" in html


def test_workloads_page_filters_by_kind_site_host_power_and_segment(viewer_client, topo):
    factories.workload(topo.ca_hosts[0], name="ca-vm", segment=topo.stretched)
    factories.workload(topo.ca_hosts[1], name="ca-ctr", kind=WorkloadKind.CONTAINER_VM, segment=topo.ca_local)
    factories.workload(topo.va_hosts[0], name="va-off", power_state=PowerState.OFF, segment=topo.stretched)
    assert names(viewer_client.get("/workloads/?kind=container_vm")) == ["ca-ctr"]
    assert names(viewer_client.get(f"/workloads/?site={topo.va.pk}")) == ["va-off"]
    assert names(viewer_client.get(f"/workloads/?host={topo.ca_hosts[0].pk}")) == ["ca-vm"]
    assert names(viewer_client.get("/workloads/?power_state=off")) == ["va-off"]
    assert names(viewer_client.get(f"/workloads/?segment={topo.stretched.pk}")) == ["ca-vm", "va-off"]


def test_workloads_page_searches_by_name_or_ip_prefix(viewer_client, topo):
    factories.workload(topo.ca_hosts[0], name="pg-primary-02", segment=topo.ca_local, ip="10.20.5.7")
    factories.workload(topo.ca_hosts[0], name="web-frontend-07", segment=topo.stretched, ip="10.10.1.9")
    assert names(viewer_client.get("/workloads/?q=PRIMARY")) == ["pg-primary-02"]
    assert names(viewer_client.get("/workloads/?q=10.10.1.")) == ["web-frontend-07"]
    assert names(viewer_client.get("/workloads/?search=10.20")) == ["pg-primary-02"]


def test_workloads_page_sorts_by_column_both_ways(viewer_client, topo):
    for name, mem in (("b-mid", 4), ("a-big", 16), ("c-small", 1)):
        factories.workload(topo.ca_hosts[0], name=name, memory_gib=mem, segment=topo.stretched)
    assert names(viewer_client.get("/workloads/")) == ["a-big", "b-mid", "c-small"]
    assert names(viewer_client.get("/workloads/?ordering=memory")) == ["c-small", "b-mid", "a-big"]
    response = viewer_client.get("/workloads/?ordering=-memory")
    assert names(response) == ["a-big", "b-mid", "c-small"]
    assert 'aria-sort="descending"' in response.content.decode()


def test_workloads_page_paginates_by_fifty_keeping_the_filters(viewer_client, topo):
    bulk_workloads(topo, 120)
    response = viewer_client.get("/workloads/?kind=vm&page=2")
    page = response.context["page"]
    assert page.paginator.count == 108 and page.number == 2 and len(page.object_list) == 50
    html = response.content.decode()
    assert "Page 2 of 3" in html
    assert "?kind=vm&amp;page=3" in html


def test_csv_export_streams_the_filtered_set(viewer_client, topo):
    bulk_workloads(topo, 60)
    response = viewer_client.get("/workloads/export.csv?kind=container_vm&ordering=-name")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["name", "kind", "site"]
    assert [r[0] for r in rows[1:]] == [f"bulk-{i:05d}" for i in (50, 40, 30, 20, 10, 0)]
    assert {r[1] for r in rows[1:]} == {"container_vm"}
    # The simulation's inputs are exported too, so a fleet can be analysed outside.
    assert rows[0][-3:] == ["dirty_rate_bps", "working_set_bytes", "disk_write_rate_bps"]
    assert all(len(r) == len(rows[0]) for r in rows)


def test_detail_pages_link_to_each_other(viewer_client, topo):
    wl = factories.workload(topo.ca_hosts[0], name="pg-primary-02", segment=topo.stretched)
    pages = {
        "workload": f"/workloads/{wl.pk}/",
        "host": f"/hosts/{wl.host.pk}/",
        "cluster": f"/clusters/{topo.ca_cluster.pk}/",
        "site": f"/sites/{topo.ca.pk}/",
        "segment": f"/segments/{topo.stretched.pk}/",
    }
    html = {key: viewer_client.get(url).content.decode() for key, url in pages.items()}
    assert all(pages[k] in html["workload"] for k in ("host", "cluster", "site", "segment"))
    assert pages["workload"] in html["host"] and pages["cluster"] in html["host"] and pages["site"] in html["host"]
    assert pages["host"] in html["cluster"] and pages["site"] in html["cluster"]
    assert pages["cluster"] in html["site"] and pages["host"] in html["site"] and pages["segment"] in html["site"]
    assert f"/sites/{topo.va.pk}/" in html["site"], "links to the linked site"
    assert pages["workload"] in html["segment"] and pages["site"] in html["segment"]
    assert "ca-vsan" in html["site"] and "65 ms" in html["site"]


def test_migrate_button_only_for_operators(client, viewer, operator, topo):
    wl = factories.workload(topo.ca_hosts[0], segment=topo.stretched)
    client.force_login(viewer)
    assert f"/migrations/new/?workload={wl.pk}" not in client.get(f"/workloads/{wl.pk}/").content.decode()
    client.force_login(operator)
    assert f"/migrations/new/?workload={wl.pk}" in client.get(f"/workloads/{wl.pk}/").content.decode()


def test_other_apps_can_add_panels_to_the_workload_page(viewer_client, topo, settings, tmp_path):
    (tmp_path / "panel.html").write_text('<section class="card">Image: {{ panel.context.image }}</section>')
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path]}]
    ctr = factories.workload(topo.ca_hosts[0], kind=WorkloadKind.CONTAINER_VM, segment=topo.stretched)
    vm = factories.workload(topo.ca_hosts[0], segment=topo.stretched)
    register_workload_panel("panel.html", lambda request, w: {"image": "nginx:1.27"} if w.is_container_vm else None)
    try:
        assert "Image: nginx:1.27" in viewer_client.get(f"/workloads/{ctr.pk}/").content.decode()
        assert "Image:" not in viewer_client.get(f"/workloads/{vm.pk}/").content.decode()
    finally:
        unregister_workload_panel("panel.html")


def test_overview_shows_counts_capacity_and_links(viewer_client, topo):
    factories.workload(topo.ca_hosts[0], memory_gib=64, vcpus=8, segment=topo.stretched)
    factories.workload(topo.va_hosts[0], kind=WorkloadKind.CONTAINER_VM, segment=topo.stretched)
    response = viewer_client.get("/")
    assert response.context["vm_count"] == 1 and response.context["container_vm_count"] == 1
    ca = next(c for c in response.context["capacities"] if c.site == topo.ca)
    assert ca.memory_used_bytes == 64 * GIB and ca.memory_bytes == 2 * 512 * GIB and ca.vcpus_used == 8
    data = response.context["chart"]
    assert {(link["rtt_ms"], link["mbit"]) for link in data["links"]} == {(65.0, 10_000), (160.0, 5_000)}
    html = response.content.decode()
    assert 'id="overview-data"' in html and "vendor/plotly/plotly.min.js" in html and "cdn" not in html.lower()


def test_overview_query_count_does_not_grow_with_workloads(viewer_client, topo):
    bulk_workloads(topo, 10)
    with CaptureQueriesContext(connection) as small:
        viewer_client.get("/")
    bulk_workloads(topo, 500, start=10)
    with CaptureQueriesContext(connection) as large:
        viewer_client.get("/")
    assert len(large) == len(small)


def test_pages_require_login(client, topo):
    response = client.get("/workloads/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_workload_page_shows_the_disk_write_rate_next_to_the_dirty_rate(viewer_client, topo):
    wl = factories.workload(topo.ca_hosts[0], dirty_rate_bps=20_000_000)
    Workload.objects.filter(pk=wl.pk).update(disk_write_rate_bps=12_500_000)
    html = viewer_client.get(f"/workloads/{wl.pk}/").content.decode()
    assert "<dt>Dirty rate</dt><dd>20.0 MB/s</dd>" in html
    assert "<dt>Disk write rate</dt><dd>12.5 MB/s</dd>" in html


def test_the_count_says_whether_filters_narrowed_it_any_filter_counts(viewer_client, topo):
    estate = Estate.objects.create(name="Frankfurt export")
    one = factories.workload(topo.ca_hosts[0])
    factories.workload(topo.ca_hosts[0])
    Workload.objects.filter(pk=one.pk).update(estate=estate)

    def count_line(query):
        body = viewer_client.get(f"/workloads/{query}").content.decode()
        return body.split('id="workload-count">', 1)[1].split("</p>", 1)[0]

    assert count_line("").endswith("2 workloads.")
    assert count_line("?ordering=name").endswith("2 workloads."), "an order is not a filter"
    assert count_line(f"?estate={estate.pk}").endswith("1 workload matches the filters.")
    assert count_line(f"?host={topo.ca_hosts[0].pk}").endswith("2 workloads match the filters.")

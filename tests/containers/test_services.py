"""Creating and running container-VMs through the services: placement, addresses, ports, limits and refusals."""

import pytest

from containers.choices import ContainerState
from containers.docker_api.parsing import parse_memory
from containers.models import ContainerEvent, ContainerHost, ContainerSpec, Image, PublishedPort
from containers.services.create import container_create
from containers.services.images import image_pull, image_resolve
from containers.services.lifecycle import container_remove, container_restart, container_start, container_stop
from containers.services.refusals import ContainerRefused
from hybridcloud.core.units import GIB, MIB
from inventory.choices import PowerState, WorkloadKind
from inventory.models import Workload
from migration.capacity.models import Evacuation
from tests import factories


def counts():
    return (
        Workload.objects.count(),
        ContainerSpec.objects.count(),
        PublishedPort.objects.count(),
        ContainerEvent.objects.count(),
    )


def create(container_host, name="web", **kwargs):
    params = {"image_ref": "nginx:1.27", "command": None, "env": None, "ports": [], "cpus": 1, "memory_bytes": GIB}
    params.update(kwargs)
    return container_create(container_host=container_host, name=name, user=None, **params)


def test_create_places_a_running_container_vm_on_the_cluster_with_the_first_free_address(container_host, topo):
    workload = create(
        container_host,
        command="nginx -g 'daemon off;'",
        env={"TZ": "UTC"},
        ports=["8080:80", {"host_port": 8443, "container_port": 443, "protocol": "tcp"}],
        cpus="1.5",
        memory_bytes="2g",
    )

    assert workload.kind == WorkloadKind.CONTAINER_VM
    assert workload.power_state == PowerState.ON
    assert workload.host in topo.ca_hosts
    assert workload.datastore == topo.ca_datastore
    assert workload.segment == topo.stretched
    assert workload.ip_address == "10.10.0.2"  # .0 is the network, .1 the gateway
    assert workload.vcpus == 2 and workload.memory_bytes == 2 * GIB
    assert 0 < workload.working_set_bytes <= workload.memory_bytes and workload.dirty_rate_bps > 0
    spec = workload.container
    assert spec.image.reference == "nginx:1.27"
    assert spec.command == ["nginx", "-g", "daemon off;"]
    assert spec.environment == {"TZ": "UTC"}
    assert spec.state == ContainerState.RUNNING and spec.started_at is not None
    assert spec.ports == [
        {"host_port": 8080, "container_port": 80, "protocol": "tcp"},
        {"host_port": 8443, "container_port": 443, "protocol": "tcp"},
    ]
    assert list(ContainerEvent.objects.filter(workload=workload).order_by("pk").values_list("action", flat=True)) == [
        "create",
        "start",
    ]


def test_addresses_skip_those_already_used_on_the_segment(container_host, topo):
    factories.workload(topo.ca_hosts[0], segment=topo.stretched, ip="10.10.0.2")
    factories.workload(topo.ca_hosts[0], segment=topo.stretched, ip="10.10.0.3")
    assert create(container_host, "one").ip_address == "10.10.0.4"
    assert create(container_host, "two").ip_address == "10.10.0.5"


def test_placement_spreads_containers_to_the_host_with_most_free_memory(container_host, topo):
    factories.workload(topo.ca_hosts[0], memory_gib=100, segment=topo.stretched)
    assert create(container_host, "one").host == topo.ca_hosts[1]


def test_create_without_start_leaves_the_container_created_and_powered_off(container_host):
    workload = create(container_host, start=False)
    assert workload.power_state == PowerState.OFF
    assert workload.container.state == ContainerState.CREATED


def test_unknown_image_is_refused_and_creates_nothing(container_host):
    before = counts()
    with pytest.raises(ContainerRefused) as exc:
        create(container_host, image_ref="nginx:9.9")
    assert exc.value.messages == ["No such image: nginx:9.9"]
    assert exc.value.code == "no_such_image"
    assert counts() == before


@pytest.mark.parametrize("name", ["-web", "a", "web server", "wéb", "x/y"])
def test_bad_names_are_refused_with_dockers_rule_and_create_nothing(container_host, name):
    before = counts()
    with pytest.raises(ContainerRefused) as exc:
        create(container_host, name=name)
    assert "[a-zA-Z0-9][a-zA-Z0-9_.-]+" in exc.value.messages[0]
    assert counts() == before


def test_a_name_already_used_by_any_workload_is_refused(container_host, topo):
    factories.workload(topo.ca_hosts[0], name="db01", segment=topo.stretched)
    create(container_host, name="web")
    before = counts()
    for name in ("web", "db01"):
        with pytest.raises(ContainerRefused) as exc:
            create(container_host, name=name)
        assert f'"{name}" is already in use' in exc.value.messages[0]
    assert counts() == before


def test_a_port_already_published_on_the_container_host_is_refused(container_host, topo):
    create(container_host, name="web", ports=["8080:80"])
    before = counts()
    with pytest.raises(ContainerRefused) as exc:
        create(container_host, name="web2", ports=["9090:90", "8080:80/tcp"])
    assert "8080/tcp failed: port is already allocated (published by container web)" in exc.value.messages[0]
    assert exc.value.code == "port_in_use"
    assert counts() == before
    # Another protocol, or another container host, may use the same number.
    create(container_host, name="dns", ports=["8080:53/udp"])
    other = ContainerHost.objects.create(
        name="ca-docker-2", cluster=topo.ca_cluster, cpu_limit=4, memory_limit_bytes=8 * GIB, segment=topo.stretched
    )
    create(other, name="web3", ports=["8080:80"])


def test_the_container_hosts_limits_refuse_more_and_say_how_much_is_free(container_host):
    create(container_host, name="big", cpus=12, memory_bytes=60 * GIB)
    before = counts()
    with pytest.raises(ContainerRefused) as exc:
        create(container_host, name="more", cpus=2, memory_bytes=8 * GIB)
    message = exc.value.messages[0]
    assert exc.value.code == "no_capacity"
    assert "needs 2 CPUs and 8.0 GiB" in message and "leave 4 CPUs and 4.0 GiB free" in message
    assert counts() == before


def test_no_host_with_enough_memory_is_refused_and_says_needed_versus_free(container_host, topo):
    container_host.memory_limit_bytes = 4096 * GIB
    container_host.save()
    factories.workload(topo.ca_hosts[0], memory_gib=400, segment=topo.stretched)
    factories.workload(topo.ca_hosts[1], memory_gib=300, segment=topo.stretched)
    before = counts()
    with pytest.raises(ContainerRefused) as exc:
        create(container_host, name="huge", memory_bytes=250 * GIB)
    assert "needs 1 vCPU and 250 GiB of memory; the host with the most free, ca-esx-02, has" in exc.value.messages[0]
    assert "212 GiB free" in exc.value.messages[0]
    assert counts() == before


def test_bad_cpu_and_memory_values_are_refused(container_host):
    before = counts()
    with pytest.raises(ContainerRefused, match="Minimum memory limit allowed is 6MB"):
        create(container_host, memory_bytes=1024)
    with pytest.raises(ContainerRefused, match="Invalid CPU limit"):
        create(container_host, cpus="lots")
    with pytest.raises(ContainerRefused, match="Invalid port"):
        create(container_host, ports=["http"])
    assert counts() == before


def test_stop_start_restart_change_power_and_state_and_record_events(container_host, operator):
    workload = create(container_host)
    container_stop(workload=workload, user=operator)
    workload.refresh_from_db()
    assert workload.power_state == PowerState.OFF
    assert workload.container.state == ContainerState.EXITED and workload.container.exit_code == 0
    container_stop(workload=workload, user=operator)  # already stopped: nothing more happens
    container_start(workload=workload, user=operator)
    workload.refresh_from_db()
    assert workload.power_state == PowerState.ON and workload.container.state == ContainerState.RUNNING
    container_restart(workload=workload, user=operator)
    events = list(ContainerEvent.objects.filter(workload=workload).order_by("pk"))
    assert [e.action for e in events] == ["create", "start", "stop", "start", "restart"]
    assert all(e.user == operator for e in events[2:])


def test_starting_beyond_the_container_hosts_limits_is_refused(container_host):
    first = create(container_host, name="first", cpus=10)
    container_stop(workload=first)
    create(container_host, name="second", cpus=10)
    with pytest.raises(ContainerRefused, match="No capacity on container host ca-docker"):
        container_start(workload=first)
    first.refresh_from_db()
    assert first.power_state == PowerState.OFF


def test_remove_refuses_a_running_container_unless_forced_and_keeps_its_history(container_host):
    workload = create(container_host, ports=["8080:80"])
    with pytest.raises(ContainerRefused, match="You cannot remove a running container"):
        container_remove(workload=workload)
    assert Workload.objects.filter(pk=workload.pk).exists()
    container_remove(workload=workload, force=True)
    assert not Workload.objects.filter(pk=workload.pk).exists()
    assert not PublishedPort.objects.exists()
    assert list(ContainerEvent.objects.filter(subject="web").order_by("pk").values_list("action", flat=True)) == [
        "create",
        "start",
        "remove",
    ]
    # The port and the name are free again.
    create(container_host, ports=["8080:80"])


def test_remove_of_a_stopped_container_needs_no_force(container_host):
    workload = create(container_host)
    container_stop(workload=workload)
    container_remove(workload=workload)
    assert not Workload.objects.filter(name="web").exists()


def test_image_pull_is_deterministic_and_idempotent(db):
    first = image_pull(repository="grafana/grafana", tag="11.2")
    again = image_pull(repository="grafana/grafana", tag="11.2")
    assert first.pk == again.pk and Image.objects.count() == 1
    assert first.digest.startswith("sha256:") and len(first.digest) == 71
    assert 400_000_000 < first.size_bytes < 500_000_000
    assert image_resolve("grafana/grafana:11.2") == first
    assert image_resolve(first.digest[7:19]) == first
    assert image_resolve("docker.io/library/redis:7.4".replace("redis:7.4", "grafana/grafana:11.2")) == first
    with pytest.raises(ContainerRefused, match="invalid reference format"):
        image_pull(repository="Not A Repo", tag="x")


def test_memory_accepts_dockers_units():
    assert parse_memory("512m") == 512 * MIB
    assert parse_memory("2g") == 2 * GIB
    assert parse_memory(1_000_000_000) == 1_000_000_000


def test_remove_is_refused_while_the_container_vm_is_migrating(container_host, topo):
    from django.apps import apps

    try:
        migration_model = apps.get_model("migration", "Migration")
    except LookupError:
        pytest.skip("the migration app has no Migration model yet")
    workload = create(container_host)
    container_stop(workload=workload)
    migration = migration_model.objects.create(
        workload=workload,
        source_host=workload.host,
        destination_host=topo.va_hosts[0],
        source_datastore=workload.datastore,
        destination_datastore=topo.va_datastore,
        link_key="test",
        state="precopy",
    )
    with pytest.raises(ContainerRefused, match=f"while it is migrating \\(migration {migration.pk} is precopy\\)"):
        container_remove(workload=workload, force=True)
    assert Workload.objects.filter(pk=workload.pk).exists()
    migration_model.objects.filter(pk=migration.pk).update(state="completed")
    container_remove(workload=workload)
    assert not Workload.objects.filter(pk=workload.pk).exists()


def test_a_host_being_evacuated_takes_no_new_container_vm(container_host, topo):
    """As for a move: a host being emptied takes nothing new, or its evacuation would never end."""
    # Without the evacuation the first Californian host (the one with the most room) would take it.
    factories.workload(topo.ca_hosts[1], memory_gib=64, segment=topo.stretched)
    assert create(container_host, name="probe").host == topo.ca_hosts[0]
    evacuation = Evacuation.objects.create(scope="host", host=topo.ca_hosts[0], site=topo.ca)
    assert create(container_host, name="web").host == topo.ca_hosts[1]
    # Both hosts emptied: refused, saying why, and nothing is created.
    Evacuation.objects.create(scope="host", host=topo.ca_hosts[1], site=topo.ca)
    before = counts()
    with pytest.raises(ContainerRefused) as exc:
        create(container_host, name="api")
    assert exc.value.code == "no_capacity"
    assert exc.value.messages[0] == (
        "No capacity for container api on cluster ca-compute: no host takes it. "
        f"Host ca-esx-01 is being evacuated (evacuation #{evacuation.pk}); it takes no new workloads. "
        f"Host ca-esx-02 is being evacuated (evacuation #{evacuation.pk + 1}); it takes no new workloads."
    )
    assert counts() == before

"""Move groups in the admin are records: listed, searched and shown with their members; never added, edited or
deleted there (the pages and the API run the pre-checks and start a group exactly once)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from migration.moves.models import MoveGroup, MoveGroupMember
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def group():
    topo = factories.topology()
    workloads = [factories.workload(topo.ca_hosts[0], memory_gib=1, segment=topo.stretched) for _ in range(2)]
    group = MoveGroup.objects.create(
        name="Exit CA wave 1", destination_host=topo.va_hosts[0], start_at=timezone.now() + timedelta(hours=1)
    )
    for position, workload in enumerate(workloads):
        MoveGroupMember.objects.create(group=group, workload=workload, position=position)
    return group


def test_the_list_searches_by_name_and_by_member(client, admin_user, group):
    client.force_login(admin_user)
    listed = client.get("/admin/moves/movegroup/", {"q": "wave 1"})
    assert listed.status_code == 200 and b"Exit CA wave 1" in listed.content
    member = group.members.first().workload.name
    assert b"Exit CA wave 1" in client.get("/admin/moves/movegroup/", {"q": member}).content
    assert b"Exit CA wave 1" not in client.get("/admin/moves/movegroup/", {"q": "no such"}).content


def test_the_change_page_shows_members_and_refuses_edits(client, admin_user, group):
    client.force_login(admin_user)
    page = client.get(f"/admin/moves/movegroup/{group.pk}/change/")
    assert page.status_code == 200
    assert group.members.first().workload.name.encode() in page.content
    assert b'name="name"' not in page.content  # read-only: no input for the name
    client.post(f"/admin/moves/movegroup/{group.pk}/change/", {"name": "renamed", "concurrency": 9})
    group.refresh_from_db()
    assert group.name == "Exit CA wave 1" and group.concurrency == 4
    assert client.get("/admin/moves/movegroup/add/").status_code == 403
    assert client.post(f"/admin/moves/movegroup/{group.pk}/delete/", {"post": "yes"}).status_code == 403
    assert MoveGroup.objects.filter(pk=group.pk).exists()

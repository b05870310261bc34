"""Capacity in the admin: settings editable by administrators, the records read-only."""

import pytest
from django.test import Client

from migration.capacity.models import CapacitySettings, Evacuation, Recommendation, UtilisationSample

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def test_administrator_edits_thresholds_sampling_and_retention(admin_client_):
    CapacitySettings.get()
    url = "/admin/capacity/capacitysettings/1/change/"
    assert admin_client_.get(url).status_code == 200
    body = {"threshold_cpu_pct": 70, "threshold_mem_pct": 85, "seed": 42, "workload_sample_every": 6,
            "raw_retention_days": 3, "hourly_retention_days": 30, "workload_retention_days": 2}  # fmt: skip
    assert admin_client_.post(url, body).status_code == 302
    s = CapacitySettings.get()
    assert (s.threshold_cpu_pct, s.threshold_mem_pct, s.workload_sample_every, s.raw_retention_days) == (70, 85, 6, 3)
    assert s.workload_retention_days == 2
    bad = admin_client_.post(url, {**body, "threshold_cpu_pct": 150})
    assert bad.status_code == 200 and CapacitySettings.get().threshold_cpu_pct == 70


def test_samples_proposals_and_evacuations_are_read_only_in_the_admin(admin_client_):
    for model in (UtilisationSample, Recommendation, Evacuation):
        base = f"/admin/capacity/{model._meta.model_name}/"
        assert admin_client_.get(base).status_code == 200
        assert admin_client_.get(base + "add/").status_code == 403

"""Chart series are grouped and averaged by the database (EpochBucket): bucket starts in UTC, means per bucket,
objects and times in order, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from migration.capacity.choices import Scope
from migration.capacity.models import UtilisationSample
from migration.capacity.selectors import _series

T0 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


@pytest.fixture
def samples(db):
    rows = [
        # host 1: two samples in the 10:00 five-minute bucket, one at 10:05:30, one in the next hour
        (1, T0 + timedelta(seconds=10), 10.0, 20.0),
        (1, T0 + timedelta(minutes=4, seconds=59, microseconds=999000), 20.0, 40.0),
        (1, T0 + timedelta(minutes=5, seconds=30), 31.0, 50.0),
        (1, T0 + timedelta(hours=1, minutes=1), 70.0, 80.0),
        # host 2: one sample; a sample before `since` that must not count
        (2, T0 + timedelta(minutes=7), 55.54, 66.66),
        (2, T0 - timedelta(minutes=1), 99.0, 99.0),
    ]
    UtilisationSample.objects.bulk_create(
        UtilisationSample(scope=Scope.HOST, object_id=o, at=at, cpu_pct=c, mem_pct=m) for o, at, c, m in rows
    )


def test_five_minute_buckets_average_what_falls_in_them(samples):
    series = _series(Scope.HOST, [1, 2], T0, 300)
    assert series[1] == [
        ("2026-11-30T10:00:00+00:00", 15.0, 30.0),
        ("2026-11-30T10:05:00+00:00", 31.0, 50.0),
        ("2026-11-30T11:00:00+00:00", 70.0, 80.0),
    ]
    assert series[2] == [("2026-11-30T10:05:00+00:00", 55.5, 66.7)]  # rounded to 0.1 %


def test_hourly_buckets_and_only_the_ids_asked_for(samples):
    series = _series(Scope.HOST, [1], T0, 3600)
    assert dict(series) == {1: [("2026-11-30T10:00:00+00:00", 20.3, 36.7), ("2026-11-30T11:00:00+00:00", 70.0, 80.0)]}
    assert _series(Scope.SITE, [1, 2], T0, 3600) == {}

"""Durations on the migration pages read the same in the wizard (server) and on the live page (HC.formatSeconds)."""

import pytest

from migration.templatetags.migration_tags import duration


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0.171, "171 ms"), (42.46, "42.5 s"), (5455.1, "90 min 55 s"), (119.9, "119.9 s"), (11520, "3 h 12 min")],
)
def test_durations_read_like_the_live_page(seconds, shown):
    assert duration(seconds) == shown


def test_a_missing_duration_is_a_dash():
    assert duration(None) == "–"

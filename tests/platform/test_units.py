"""The one set of units (hybridcloud/core/units.py): what each value reads as. CASES is also run through the page's
JavaScript (static/js/units.js) in tests/platform/test_browser_units.py, which must give the same strings."""

import math
from datetime import UTC, datetime

import pytest
from django.template import Context, Template

from hybridcloud.core import times, units

NAN = math.nan

# (Python function, arguments, keyword arguments, expected text)


def formatter(name: str):
    """The formatter by name: instants in hybridcloud.core.times, every other value in hybridcloud.core.units."""
    return getattr(times if hasattr(times, name) and not hasattr(units, name) else units, name)


CASES = [
    # sizes: binary, one decimal below 10 of the unit
    ("format_bytes", (0,), {}, "0 B"),
    ("format_bytes", (None,), {}, "–"),
    ("format_bytes", ("",), {}, "–"),
    ("format_bytes", (NAN,), {}, "–"),
    ("format_bytes", ("many",), {}, "–"),
    ("format_bytes", (True,), {}, "–"),
    ("format_bytes", (1,), {}, "1 B"),
    ("format_bytes", (-1,), {}, "-1 B"),
    ("format_bytes", (1023,), {}, "1,023 B"),
    ("format_bytes", (1024,), {}, "1.0 KiB"),
    ("format_bytes", (1536,), {}, "1.5 KiB"),
    ("format_bytes", (10239,), {}, "10 KiB"),
    ("format_bytes", (2**29,), {}, "512 MiB"),
    ("format_bytes", (1023.6 * 2**20,), {}, "1.0 GiB"),
    ("format_bytes", (2**31,), {}, "2.0 GiB"),
    ("format_bytes", ("4294967296",), {}, "4.0 GiB"),
    ("format_bytes", (16 * 2**30,), {}, "16 GiB"),
    ("format_bytes", (-(2**30),), {}, "-1.0 GiB"),
    ("format_bytes", (1.5 * 2**40,), {}, "1.5 TiB"),
    ("format_bytes", (2**60,), {}, "1.0 EiB"),
    ("format_bytes", (2**70,), {}, "1,024 EiB"),
    # data rates: decimal MB/s, GB/s from 10 GB/s
    ("format_rate", (0,), {}, "0.0 MB/s"),
    ("format_rate", (None,), {}, "–"),
    ("format_rate", (47.7e6,), {}, "47.7 MB/s"),
    ("format_rate", (50 * 2**20,), {}, "52.4 MB/s"),
    ("format_rate", (50e6,), {}, "50.0 MB/s"),
    ("format_rate", (0.05e6,), {}, "0.1 MB/s"),
    ("format_rate", (-5e6,), {}, "-5.0 MB/s"),
    ("format_rate", (9_999e6,), {}, "9,999.0 MB/s"),
    ("format_rate", (10e9,), {}, "10.0 GB/s"),
    ("format_rate", (1e15,), {}, "1,000,000.0 GB/s"),
    # links and NICs: bits per second
    ("format_bitrate", (0,), {}, "0 bit/s"),
    ("format_bitrate", (999,), {}, "999 bit/s"),
    ("format_bitrate", (1000,), {}, "1 kbit/s"),
    ("format_bitrate", (250e6,), {}, "250 Mbit/s"),
    ("format_bitrate", (999_999_000,), {}, "1 Gbit/s"),
    ("format_bitrate", (1.25e9,), {}, "1.25 Gbit/s"),
    ("format_bitrate", (10e9,), {}, "10 Gbit/s"),
    ("format_bitrate", (-2e9,), {}, "-2 Gbit/s"),
    ("format_bitrate", (None,), {}, "–"),
    ("format_mbit", (100,), {}, "100 Mbit/s"),
    ("format_mbit", (2500,), {}, "2.5 Gbit/s"),
    ("format_mbit", (10000,), {}, "10 Gbit/s"),
    ("format_mbit", (None,), {}, "–"),
    # durations: one style
    ("format_duration", (0,), {}, "0 ms"),
    ("format_duration", (0.0004,), {}, "0 ms"),
    ("format_duration", (0.0025,), {}, "3 ms"),
    ("format_duration", (0.123,), {}, "123 ms"),
    ("format_duration", (0.3,), {}, "300 ms"),
    ("format_duration", (0.9996,), {}, "1.0 s"),
    ("format_duration", (1,), {}, "1.0 s"),
    ("format_duration", (4.2,), {}, "4.2 s"),
    ("format_duration", (42.46,), {}, "42.5 s"),
    ("format_duration", (59.94,), {}, "59.9 s"),
    ("format_duration", (59.96,), {}, "1 min 00 s"),
    ("format_duration", (200,), {}, "3 min 20 s"),
    ("format_duration", (3599.4,), {}, "59 min 59 s"),
    ("format_duration", (3599.6,), {}, "1 h 00 min"),
    ("format_duration", (7500,), {}, "2 h 05 min"),
    ("format_duration", (11520,), {}, "3 h 12 min"),
    ("format_duration", (3 * 86400,), {}, "72 h 00 min"),
    ("format_duration", (1e9,), {}, "277,777 h 47 min"),
    ("format_duration", (-0.5,), {}, "-500 ms"),
    ("format_duration", (-200,), {}, "-3 min 20 s"),
    ("format_duration", (None,), {}, "–"),
    ("format_duration", (NAN,), {}, "–"),
    ("format_duration", ("12.5",), {}, "12.5 s"),
    # percentages
    ("format_percent", (0,), {}, "0.0 %"),
    ("format_percent", (0.042,), {}, "4.2 %"),
    ("format_percent", (1,), {}, "100.0 %"),
    ("format_percent", (1.234,), {}, "123.4 %"),
    ("format_percent", (-0.1,), {}, "-10.0 %"),
    ("format_percent", (-0.0001,), {}, "0.0 %"),
    ("format_percent", (0.00125,), {}, "0.1 %"),
    ("format_percent", (None,), {}, "–"),
    ("format_signed_percent", (0.042,), {}, "+4.2 %"),
    ("format_signed_percent", (0,), {}, "+0.0 %"),
    ("format_signed_percent", (-0.1,), {}, "-10.0 %"),
    ("format_signed_percent", (None,), {}, "–"),
    # usage bars
    ("usage_level", (None,), {}, "ok"),
    ("usage_level", (0,), {}, "ok"),
    ("usage_level", (-1,), {}, "ok"),
    ("usage_level", (0.69,), {}, "ok"),
    ("usage_level", (0.7,), {}, "warn"),
    ("usage_level", (0.89,), {}, "warn"),
    ("usage_level", (0.9,), {}, "high"),
    ("usage_level", (1.5,), {}, "high"),
    ("usage_fraction", (5, 10), {}, 0.5),
    ("usage_fraction", (5, 0), {}, 0.0),
    ("usage_fraction", (None, 10), {}, 0.0),
    ("usage_fraction", (20, 10), {}, 1.0),
    ("usage_fraction", (-3, 10), {}, 0.0),
    # instants, in the operator's time zone (UTC here), named
    ("format_datetime", ("2026-12-01T12:22:38.123456+00:00",), {}, "2026-12-01 12:22 UTC"),
    ("format_datetime", ("2026-12-01T12:22:38+00:00",), {"seconds": True}, "2026-12-01 12:22:38 UTC"),
    ("format_datetime", ("2026-12-31T23:30:00-01:00",), {}, "2027-01-01 00:30 UTC"),
    ("format_datetime", (None,), {}, "–"),
    ("format_datetime", ("not a time",), {}, "–"),
    ("format_time", ("2026-12-01T12:22:38Z",), {}, "12:22:38 UTC"),
    ("format_time", (None,), {}, "–"),
    ("format_time", ("2026-12-01T12:22:38Z",), {"seconds": False}, "12:22 UTC"),
]


@pytest.mark.parametrize(("name", "args", "kwargs", "expected"), CASES)
def test_each_value_reads_as_the_rule_says(name, args, kwargs, expected):
    assert formatter(name)(*args, **kwargs) == expected


def test_times_are_shown_in_the_operators_zone_and_name_it(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    assert times.format_datetime("2026-07-01T12:00:00+00:00") == "2026-07-01 14:00 Europe/Berlin"
    assert times.format_time("2026-12-01T12:00:00+00:00") == "13:00:00 Europe/Berlin"


def test_a_datetime_object_and_a_naive_one_read_as_utc():
    assert times.format_datetime(datetime(2026, 12, 1, 9, 5, tzinfo=UTC)) == "2026-12-01 09:05 UTC"
    assert times.format_datetime(datetime(2026, 12, 1, 9, 5)) == "2026-12-01 09:05 UTC"


def test_binary_constants():
    assert (units.KIB, units.MIB, units.GIB, units.TIB) == (1024, 1024**2, 1024**3, 1024**4)
    assert units.MB == 1_000_000


def test_the_template_library_uses_the_same_rules():
    html = Template(
        "{% load units %}{{ m|bytes }}|{{ r|rate }}|{{ mbit|mbit }}|{{ b|bitrate }}|{{ s|duration }}|{{ f|percent }}|"
        "{{ f|signed_percent }}|{{ u|fraction:t|usage_level }}|{{ u|fraction:t|bar_width }}|{{ at|datetime }}|"
        "{{ at|datetime_seconds }}|{{ at|time_of_day }}|{% time_zone %}"
    ).render(
        Context(
            {
                "m": 2**31,
                "r": 47.7e6,
                "mbit": 10000,
                "b": 250e6,
                "s": 200,
                "f": 0.042,
                "u": 80,
                "t": 100,
                "at": "2026-12-01T12:22:38+00:00",
            }
        )  # fmt: skip
    )
    assert html == (
        "2.0 GiB|47.7 MB/s|10 Gbit/s|250 Mbit/s|3 min 20 s|4.2 %|+4.2 %|warn|80.0%|2026-12-01 12:22 UTC|"
        "2026-12-01 12:22:38 UTC|12:22:38 UTC|UTC"
    )


@pytest.mark.parametrize(
    ("fraction", "text"),
    [(0, "0 %"), (0.0001, "0.01 %"), (0.0125, "1.25 %"), (1e-7, "0.00001 %"), (0.5, "50 %"), (None, "–")],
)
def test_a_loss_rate_keeps_three_significant_digits(fraction, text):
    """A hundredth of a percent of loss already caps a long link's streams: it must not read "0.0 %"."""
    assert units.format_loss(fraction) == text

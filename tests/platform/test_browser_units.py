"""The page's JavaScript (static/js/units.js, HC.units) formats every value exactly as hybridcloud/core/units.py does,
in a real Chromium; and pages show the one set of units, server-rendered and live alike."""

import math

import pytest

from hybridcloud.core import units
from tests import factories
from tests.conftest import browser_login, make_user, screenshot
from tests.platform.test_units import CASES, formatter

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JS_NAMES = {
    "format_bytes": "formatBytes", "format_rate": "formatRate", "format_bitrate": "formatBitrate",
    "format_mbit": "formatMbit", "format_duration": "formatDuration", "format_percent": "formatPercent",
    "format_signed_percent": "formatSignedPercent", "usage_level": "usageLevel", "usage_fraction": "usageFraction",
    "format_datetime": "formatDatetime", "format_time": "formatTime",
}  # fmt: skip

RUN_IN_PAGE = """([zone, cases]) => {
  document.documentElement.dataset.timeZone = zone;
  return cases.map(([name, args, options]) => HC.units[name](...args, ...(options ? [options] : [])));
}"""


def _js_cases(cases):
    return [[JS_NAMES[name], list(args), kwargs or None] for name, args, kwargs, _ in cases]


def _python(cases):
    return [formatter(name)(*args, **kwargs) for name, args, kwargs, _ in cases]


def test_the_javascript_formats_every_value_as_python_does(live_server_url, page, settings):
    page.goto(live_server_url + "/login/")
    assert page.locator("html").get_attribute("data-time-zone") == "UTC"
    assert set(JS_NAMES) == {name for name, *_ in CASES}

    shown = page.evaluate(RUN_IN_PAGE, ["UTC", _js_cases(CASES)])
    expected = _python(CASES)
    mismatches = [(c[:3], py, js) for c, py, js in zip(CASES, expected, shown, strict=True) if py != js]
    assert mismatches == []

    # Another operator's zone: both name it and convert to it.
    settings.TIME_ZONE = "Europe/Berlin"
    instants = [
        (name, args, kwargs, None) for name, args, kwargs, _ in CASES if name in ("format_datetime", "format_time")
    ]
    instants.append(("format_datetime", ("2026-07-01T23:59:59+00:00",), {"seconds": True}, None))
    assert page.evaluate(RUN_IN_PAGE, ["Europe/Berlin", _js_cases(instants)]) == _python(instants)
    assert _python(instants)[-1] == "2026-07-02 01:59:59 Europe/Berlin"
    assert page.console_errors == []


def test_random_values_read_the_same_in_both(live_server_url, page):
    """A few thousand values across every magnitude, so that rounding at a boundary cannot differ unseen."""
    values = [0.0]
    for exponent in range(-4, 22):
        for mantissa in (1, 1.05, 2.5, 4.999, 5.0049, 9.95, 9.9951, 99.95, 999.5, 1023.5, 1023.96):
            values += [mantissa * 10**exponent, -mantissa * 10**exponent, mantissa * 2 ** (exponent * 3)]
    values = [v for v in values if math.isfinite(v)]
    cases = [(name, (v,), {}, None) for name in JS_NAMES if name not in ("format_datetime", "format_time",
             "usage_fraction") for v in values]  # fmt: skip
    page.goto(live_server_url + "/login/")
    shown = page.evaluate(RUN_IN_PAGE, ["UTC", _js_cases(cases)])
    expected = _python(cases)
    mismatches = [(c[:2], py, js) for c, py, js in zip(cases, expected, shown, strict=True) if py != js]
    assert len(cases) > 2000
    assert mismatches == []


def test_pages_show_binary_sizes_decimal_rates_and_one_duration_style(live_server_url, page):
    topo = factories.topology()
    host = topo.ca_hosts[0]
    big = factories.workload(host, name="db-01", memory_gib=200, vcpus=8, dirty_rate_bps=47_700_000)
    factories.workload(host, name="web-01", memory_gib=0.5)
    make_user("ivan", group="operators")
    browser_login(page, live_server_url, "ivan")

    page.goto(live_server_url + big.get_absolute_url())
    text = page.locator("main").inner_text()
    assert "200 GiB" in text and "47.7 MB/s" in text and " GB " not in text
    screenshot(page, "units-01-workload-detail")

    page.goto(live_server_url + host.get_absolute_url())
    text = page.locator("main").inner_text()
    assert f"{units.format_bytes(host.memory_bytes)}" in text
    bars = page.locator(".meter .bar").evaluate_all("bars => bars.map(b => b.className)")
    assert bars and all(set(b.split()) & {"ok", "warn", "high"} for b in bars)
    screenshot(page, "units-02-host-detail")

    page.goto(live_server_url + topo.ca.get_absolute_url())
    assert "10 Gbit/s" in page.locator("main").inner_text()
    assert page.console_errors == []

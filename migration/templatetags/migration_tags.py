"""Template filters of the migration pages; they read like the live page's JavaScript (HC.formatSeconds)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def duration(seconds) -> str:
    """Seconds as a person reads them: "171 ms", "42.5 s", "90 min 55 s", "3 h 12 min" (as static/js/app.js)."""
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        return "–"
    if s != s:  # NaN
        return "–"
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 120:
        return f"{s:.1f} s"
    minutes = int(s // 60)
    if minutes < 120:
        return f"{minutes} min {round(s - minutes * 60)} s"
    return f"{minutes // 60} h {minutes % 60} min"


@register.filter
def rate(bytes_per_s) -> str:
    """A rate in decimal megabytes per second, "96.8 MB/s", or gigabytes per second from 10 GB/s (as HC.formatRate)."""
    try:
        r = float(bytes_per_s)
    except (TypeError, ValueError):
        return "–"
    if r != r:  # NaN
        return "–"
    if r >= 10e9:
        return f"{r / 1e9:.1f} GB/s"
    return f"{r / 1e6:.1f} MB/s"


@register.filter
def percent_signed(fraction) -> str:
    """A signed percentage, "+4.2 %" (as HC.formatSignedPercent)."""
    try:
        f = float(fraction)
    except (TypeError, ValueError):
        return "–"
    return f"{f * 100:+.1f} %"


@register.filter
def percent(fraction) -> str:
    """A fraction as a percentage, "4.2 %"."""
    try:
        f = float(fraction)
    except (TypeError, ValueError):
        return "–"
    return f"{f * 100:.1f} %"

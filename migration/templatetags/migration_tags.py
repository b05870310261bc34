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

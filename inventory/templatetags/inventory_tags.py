"""Units for people: bytes as GiB/TiB, bytes per second as MB/s, link bandwidth as Gbit/s."""

from django import template

register = template.Library()

GIB = 2**30


@register.filter
def gib(value) -> str:
    """4294967296 → "4 GiB"; 1.5 TiB and more shown in TiB."""
    if value is None:
        return "–"
    value = float(value)
    if value >= 1024 * GIB:
        return f"{value / (1024 * GIB):,.1f} TiB"
    amount = value / GIB
    return f"{amount:,.0f} GiB" if amount >= 10 or amount == int(amount) else f"{amount:,.1f} GiB"


@register.filter
def mbps(value) -> str:
    """Bytes per second → "25.0 MB/s" (decimal megabytes, like the migration engine)."""
    return "–" if value is None else f"{float(value) / 1e6:,.1f} MB/s"


@register.filter
def link_bandwidth(mbit) -> str:
    """Mbit/s → "10 Gbit/s" or "500 Mbit/s"."""
    if mbit is None:
        return "–"
    return f"{mbit / 1000:g} Gbit/s" if mbit >= 1000 else f"{mbit} Mbit/s"


@register.filter
def percent(used, total) -> float:
    """Share of total, 0-100, for bar widths."""
    try:
        return round(min(100.0, 100.0 * float(used or 0) / float(total)), 1)
    except (TypeError, ZeroDivisionError):
        return 0.0


@register.filter
def bar_colour(pct) -> str:
    """Green-ish under 70 %, amber to 90 %, red above."""
    pct = float(pct or 0)
    return "red" if pct >= 90 else "amber" if pct >= 70 else ""

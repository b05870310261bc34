from django import template

register = template.Library()


@register.filter
def secs(value) -> str:
    """Seconds as a short duration: 850 ms, 42.0 s, 12 min 5 s, 2 h 3 min."""
    if value is None or value == "":
        return "–"
    s = float(value)
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 120:
        return f"{s:.1f} s"
    m = int(s // 60)
    if m < 120:
        return f"{m} min {round(s - m * 60)} s"
    return f"{m // 60} h {m % 60} min"


@register.filter
def gib(value) -> str:
    return "–" if value is None else f"{float(value) / 2**30:,.1f} GiB"


@register.filter
def pct_class(value) -> str:
    v = float(value or 0)
    return "red" if v > 80 else "amber" if v > 65 else ""

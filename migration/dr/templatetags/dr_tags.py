from django import template

register = template.Library()


@register.filter
def duration(seconds) -> str:
    """12.3 s, 5 min, 4 min 05 s, 1 h, 2 h 10 min; '–' when unknown."""
    if seconds is None or seconds == "":
        return "–"
    s = float(seconds)
    if s < 120:
        return f"{s:.1f} s"
    whole = round(s)
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes} min" if rest == 0 else f"{minutes} min {rest:02d} s"
    hours, rest = divmod(whole, 3600)
    return f"{hours} h" if rest // 60 == 0 else f"{hours} h {rest // 60:02d} min"


@register.filter
def gib(n) -> str:
    if n is None:
        return "–"
    return f"{float(n) / 2**30:.1f} GiB"

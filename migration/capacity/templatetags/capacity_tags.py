from django import template

from migration.templatetags.migration_tags import duration

register = template.Library()


# Durations read the same on every page (and as the pages' JavaScript writes them).
register.filter("secs", duration)


@register.filter
def gib(value) -> str:
    return "–" if value is None else f"{float(value) / 2**30:,.1f} GiB"


@register.filter
def pct_class(value) -> str:
    v = float(value or 0)
    return "red" if v > 80 else "amber" if v > 65 else ""

"""`{% load units %}`: the template side of `hybridcloud.core.units` (its docstring has the rules)."""

from django import template

from hybridcloud.core import times, units

register = template.Library()

register.filter("bytes", units.format_bytes)
register.filter("rate", units.format_rate)
register.filter("bitrate", units.format_bitrate)
register.filter("mbit", units.format_mbit)
register.filter("duration", units.format_duration)
register.filter("percent", units.format_percent)
register.filter("signed_percent", units.format_signed_percent)
register.filter("usage_level", units.usage_level)


@register.filter
def fraction(used, total) -> float:
    """`{{ used|fraction:total }}`: how full, 0.0 to 1.0."""
    return units.usage_fraction(used, total)


@register.filter
def bar_width(fraction_) -> str:
    """A usage bar's CSS width for a fraction: `style="width: {{ f|bar_width }}"` → "42.0%"."""
    return f"{units.usage_fraction(fraction_, 1) * 100:.1f}%"


@register.filter
def datetime(value) -> str:
    """ "2026-12-01 14:05 UTC", in the operator's time zone."""
    return times.format_datetime(value)


@register.filter
def datetime_seconds(value) -> str:
    """ "2026-12-01 14:05:09 UTC", in the operator's time zone."""
    return times.format_datetime(value, seconds=True)


@register.filter
def time_of_day(value) -> str:
    """ "14:05:09 UTC", in the operator's time zone."""
    return times.format_time(value)


@register.filter
def loss_percent(value) -> str:
    """A loss rate kept in percent (a link's `loss_percent`): 0.01 → "0.01 %", to three significant digits."""
    return units.format_loss(value / 100 if isinstance(value, int | float) and not isinstance(value, bool) else None)


@register.filter
def clock(value) -> str:
    """ "14:05 UTC", in the operator's time zone (a scheduled start, a window's end)."""
    return times.format_time(value, seconds=False)


@register.simple_tag
def time_zone() -> str:
    """The operator's time zone, for `<html data-time-zone>` that static/js/units.js formats live instants in."""
    return times.time_zone_name()

from decimal import Decimal

from django import template

from containers.choices import ContainerState, EventAction, PodPhase

register = template.Library()


@register.filter
def size(value) -> str:
    """Bytes for people: 512 MiB, 2.0 GiB, 188 MB for images."""
    if value in (None, ""):
        return "–"
    value = int(value)
    if value == 0:
        return "0"
    if value >= 2**30:
        return f"{value / 2**30:.1f} GiB"
    if value >= 2**20:
        return f"{value / 2**20:.0f} MiB"
    return f"{value / 2**10:.0f} KiB"


@register.filter
def cpus(value) -> str:
    if value in (None, ""):
        return "–"
    return f"{Decimal(str(value)).normalize():f}"


@register.filter
def percent_of(used, total) -> int:
    try:
        return max(0, min(100, round(float(used) * 100 / float(total))))
    except (TypeError, ValueError, ZeroDivisionError):
        return 0


@register.filter
def state_colour(value: str) -> str:
    return ContainerState(value).colour if value in ContainerState.values else "grey"


@register.filter
def phase_colour(value: str) -> str:
    return PodPhase(value).colour if value in PodPhase.values else "grey"


@register.filter
def event_colour(value: str) -> str:
    return EventAction(value).colour if value in EventAction.values else "grey"


@register.filter
def bar_class(pct: int) -> str:
    return "red" if pct >= 90 else "amber" if pct >= 75 else "teal"

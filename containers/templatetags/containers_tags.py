from decimal import Decimal

from django import template

from containers.choices import ContainerState, EventAction, PodPhase

register = template.Library()


@register.filter
def cpus(value) -> str:
    if value in (None, ""):
        return "–"
    return f"{Decimal(str(value)).normalize():f}"


@register.filter
def state_colour(value: str) -> str:
    return ContainerState(value).colour if value in ContainerState.values else "grey"


@register.filter
def phase_colour(value: str) -> str:
    return PodPhase(value).colour if value in PodPhase.values else "grey"


@register.filter
def event_colour(value: str) -> str:
    return EventAction(value).colour if value in EventAction.values else "grey"

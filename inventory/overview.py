"""Cards on the overview page, contributed by the apps above inventory without inventory importing them.

Register from your AppConfig.ready()::

    from inventory.overview import register_overview_card

    def drill_alerts(request):
        alerts = failed_drill_alerts()
        return {"dr_alerts": alerts} if alerts else None      # None: no card on this page

    register_overview_card("dr/_overview_alerts.html", drill_alerts, slot=ALERTS, order=10)

The overview renders each slot with ``{% overview_cards "alerts" %}`` (templatetag library ``overview``): a card's
template is included with the dict its function returned added to the page's context, so a card template reads
its own names (``dr_alerts`` above) whichever page includes it. Slots: ``alerts`` (above the figures) and
``cards`` (below the capacity charts). Cards are shown in ascending ``order``; ``scripts`` are static paths the
page loads for the card (once each). Keep each context function to a constant number of queries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

ALERTS = "alerts"
CARDS = "cards"
SLOTS = (ALERTS, CARDS)

ContextFn = Callable[[HttpRequest], dict[str, Any] | None]


@dataclass(frozen=True)
class OverviewCard:
    template: str
    context_fn: ContextFn
    slot: str
    order: int
    scripts: tuple[str, ...]


@dataclass(frozen=True)
class RenderedCard:
    template: str
    context: dict[str, Any]


@dataclass(frozen=True)
class OverviewCards:
    """The overview's cards, per slot, and the scripts they need."""

    slots: dict[str, list[RenderedCard]]
    scripts: list[str]


_cards: dict[str, OverviewCard] = {}


def register_overview_card(
    template: str, context_fn: ContextFn, *, slot: str = CARDS, order: int = 100, scripts: tuple[str, ...] = ()
) -> None:
    """Adds (or replaces, by template name: ready() may run twice) a card on the overview page."""
    if slot not in SLOTS:
        raise ValueError(f"Unknown overview slot {slot!r}: one of {', '.join(SLOTS)}.")
    _cards[template] = OverviewCard(template, context_fn, slot, order, tuple(scripts))


def unregister_overview_card(template: str) -> None:
    _cards.pop(template, None)


def overview_cards(request: HttpRequest) -> OverviewCards:
    """The cards to show now, in order, per slot; a context function returning None hides its card (and its
    scripts)."""
    slots: dict[str, list[RenderedCard]] = {slot: [] for slot in SLOTS}
    scripts: list[str] = []
    for card in sorted(_cards.values(), key=lambda c: (c.order, c.template)):
        context = card.context_fn(request)
        if context is None:
            continue
        slots[card.slot].append(RenderedCard(template=card.template, context=context))
        scripts += [s for s in card.scripts if s not in scripts]
    return OverviewCards(slots=slots, scripts=scripts)

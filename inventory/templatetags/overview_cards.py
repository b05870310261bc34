"""`{% overview_slot "alerts" %}`: the overview's cards of one slot (see inventory/overview.py)."""

from django import template
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag(takes_context=True)
def overview_slot(context: template.Context, slot: str) -> SafeString:
    """Each card of `slot`, its template rendered like `{% include %}` would, with the card's own names added to
    the page's context for the time of its template."""
    html = SafeString()
    for card in context["overview"].slots[slot]:
        card_template = context.template.engine.get_template(card.template)
        with context.push(**card.context):
            html += card_template.render(context)
    return html

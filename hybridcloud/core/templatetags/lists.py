"""`{% load lists %}`: links of a list page that keep its filters, for one table among several."""

from django import template
from django.template.defaulttags import querystring

register = template.Library()


@register.simple_tag(takes_context=True)
def table_query(context, table, **changes) -> str:
    """Django's `{% querystring %}` with each key under the table's prefix (`images-` → `images-ordering=...`); a
    page's only list has no prefix, so `{% table_query table page=2 %}` is `{% querystring page=2 %}`."""
    return querystring(context, **{f"{table.prefix}{key}": value for key, value in changes.items()})

"""The placement rules page: every rule, its members and where they run, and what breaks it now."""

from django.shortcuts import render

from inventory.models import Tag
from migration.placement import placement_rule_statuses


def placement_rule_list(request):
    tag = request.GET.get("tag", "").strip()
    return render(
        request,
        "migration/placement_rules.html",
        {
            "statuses": placement_rule_statuses(tag=tag),
            "tag": Tag.objects.filter(slug=tag).first() if tag else None,
            "tag_asked": tag,
        },
    )

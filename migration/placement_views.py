"""The placement rules page: every rule, its members and where they run, and what breaks it now."""

from django.shortcuts import render

from hybridcloud.core.lists import list_response, table_list
from inventory.models import PlacementRule, Tag
from migration.filtersets import PlacementRulePageFilterSet
from migration.placement import placement_rule_statuses
from migration.tables import PlacementRuleTable


def placement_rule_list(request):
    tag = request.GET.get("tag", "").strip()
    table = table_list(
        request, queryset=PlacementRule.objects.order_by("name"), filterset_class=PlacementRulePageFilterSet,
        table_class=PlacementRuleTable,
    )  # fmt: skip
    table.statuses = {s.rule.pk: s for s in placement_rule_statuses(rules=table.filterset.qs)}
    if tag:
        table.filtered_empty_text = "No rule uses this tag."
    if export := list_response(request, [table]):
        return export
    context = {"table": table, "tag": Tag.objects.filter(slug=tag).first() if tag else None, "tag_asked": tag}
    return render(request, "migration/placement_rules.html", context)

"""Extra panels on the workload detail page, contributed by other apps without editing inventory's templates.

Register from your AppConfig.ready()::

    from inventory.panels import register_workload_panel

    def container_spec(request, workload):
        if not workload.is_container_vm:
            return None                      # None: no panel for this workload
        return {"spec": ContainerSpec.objects.filter(workload=workload).first()}

    register_workload_panel("containers/_workload_spec_panel.html", container_spec, order=10)

The detail page renders ``{% for panel in extra_panels %}{% include panel.template %}{% endfor %}``; inside your
template the dict your function returned is ``panel.context`` (the page's own context, with ``workload``, is also
there). Panels are shown in ascending ``order``. Keep each context function to a constant number of queries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from inventory.models import Workload

ContextFn = Callable[[HttpRequest, Workload], dict[str, Any] | None]


@dataclass(frozen=True)
class WorkloadPanel:
    template: str
    context_fn: ContextFn | None
    order: int


@dataclass(frozen=True)
class RenderedPanel:
    template: str
    context: dict[str, Any]


_panels: dict[str, WorkloadPanel] = {}


def register_workload_panel(template: str, context_fn: ContextFn | None = None, *, order: int = 100) -> None:
    """Adds (or replaces, by template name: ready() may run twice) a panel on every workload detail page."""
    _panels[template] = WorkloadPanel(template=template, context_fn=context_fn, order=order)


def unregister_workload_panel(template: str) -> None:
    _panels.pop(template, None)


def workload_panels(request: HttpRequest, workload: Workload) -> list[RenderedPanel]:
    """The panels to show for this workload, in order; a context function returning None hides its panel."""
    rendered = []
    for panel in sorted(_panels.values(), key=lambda p: (p.order, p.template)):
        context = panel.context_fn(request, workload) if panel.context_fn else {}
        if context is not None:
            rendered.append(RenderedPanel(template=panel.template, context=context))
    return rendered

"""The one operator-required check of every page that changes something (migrations, drills, containers, imports,
alarms, capacity actions): viewers read, operators act (hybridcloud.core.roles)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from hybridcloud.core.roles import is_operator

OPERATORS_ONLY = "Only operators may do this; viewers have read-only access."


def require_operator(request: HttpRequest, message: str = OPERATORS_ONLY) -> None:
    """Refuse (403, nothing done) a request whose user is not an operator: for a view that acts on POST only."""
    if not is_operator(request.user):
        raise PermissionDenied(message)


def operator_required(view: Callable | None = None, *, message: str = OPERATORS_ONLY) -> Callable:
    """A view for operators only (403 for anyone else, before the view runs): ``@operator_required`` or
    ``@operator_required(message=...)``."""

    def decorate(view_fn: Callable) -> Callable:
        @wraps(view_fn)
        def operators_only(request: HttpRequest, *args, **kwargs):
            require_operator(request, message)
            return view_fn(request, *args, **kwargs)

        return operators_only

    return decorate(view) if view is not None else decorate


class OperatorRequiredMixin:
    """The same for a class-based view: put it first among the bases (``operator_message`` overrides the text)."""

    operator_message = OPERATORS_ONLY

    def dispatch(self, request: HttpRequest, *args, **kwargs):
        require_operator(request, self.operator_message)
        return super().dispatch(request, *args, **kwargs)

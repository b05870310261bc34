"""hybridcloud.core.views: the one operator-required check (decorator, POST-only helper, class-based mixin)."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import RequestFactory
from django.views import View

from hybridcloud.core.views import OPERATORS_ONLY, OperatorRequiredMixin, operator_required, require_operator

pytestmark = pytest.mark.django_db

calls = []


@operator_required
def start_something(request, pk):
    calls.append(pk)
    return HttpResponse(f"started {pk}")


@operator_required(message="Only operators may start drills.")
def start_drill(request):
    calls.append("drill")
    return HttpResponse("drill started")


class StartView(OperatorRequiredMixin, View):
    def post(self, request):
        calls.append("class")
        return HttpResponse("class started")


def _request(user):
    request = RequestFactory().post("/")
    request.user = user
    return request


@pytest.fixture(autouse=True)
def _no_calls():
    calls.clear()


def test_an_operator_runs_the_view(operator, admin_user):
    assert start_something(_request(operator), 7).content == b"started 7"
    assert start_drill(_request(admin_user)).status_code == 200
    assert StartView.as_view()(_request(operator)).content == b"class started"
    assert calls == [7, "drill", "class"]


@pytest.mark.parametrize("who", ["viewer", "no_role_user", "anonymous"])
def test_anyone_else_is_refused_before_the_view_runs(who, request):
    user = AnonymousUser() if who == "anonymous" else request.getfixturevalue(who)
    with pytest.raises(PermissionDenied, match=OPERATORS_ONLY):
        start_something(_request(user), 7)
    with pytest.raises(PermissionDenied, match="Only operators may start drills."):
        start_drill(_request(user))
    with pytest.raises(PermissionDenied, match=OPERATORS_ONLY):
        StartView.as_view()(_request(user))
    with pytest.raises(PermissionDenied):
        require_operator(_request(user))
    assert calls == []


def test_the_decorator_keeps_the_view_s_name():
    assert start_something.__name__ == "start_something"
    assert start_drill.__name__ == "start_drill"

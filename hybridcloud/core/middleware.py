from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from django.contrib.auth.views import LogoutView
from django.http import JsonResponse
from django.shortcuts import render
from rest_framework.views import APIView

from hybridcloud.core.audit import reset_current_request, set_current_request
from hybridcloud.core.roles import NO_ROLE, is_viewer


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Django's login-required default, except for REST API views.

    API views authenticate themselves (session or token) and answer 401/403 in JSON rather than
    redirecting a script to an HTML login page.
    """

    def process_view(self, request, view_func, view_args, view_kwargs):
        view_class = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
        if view_class is not None and isinstance(view_class, type) and issubclass(view_class, APIView):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class RoleRequiredMiddleware:
    """Signed in is not enough: a user with no role (in neither `viewers` nor `operators`, not staff) gets 403 on
    every page and on the API, with a page saying to ask an administrator. Views open without a login (the login
    page, /health/, the Docker endpoint, which checks its token's user itself) and signing out stay open.

    The API's own permissions ask the same question (`hybridcloud.core.roles.is_viewer`) for token clients, whom this
    middleware cannot see yet (DRF authenticates a token inside the view)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or is_viewer(user):
            return None
        view_class = getattr(view_func, "view_class", None) or getattr(view_func, "cls", None)
        if isinstance(view_class, type) and issubclass(view_class, APIView):
            # Before the login_required test: DRF marks every API view login_not_required (it authenticates itself).
            return JsonResponse({"detail": NO_ROLE}, status=403)
        if not getattr(view_func, "login_required", True):
            return None
        if isinstance(view_class, type) and issubclass(view_class, LogoutView):
            return None
        return render(request, "registration/no_role.html", status=403)


class AuditRequestMiddleware:
    """Makes the current request available to services (`hybridcloud.core.audit.current_request()`) for auditing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = set_current_request(request)
        try:
            return self.get_response(request)
        finally:
            reset_current_request(token)

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from rest_framework.views import APIView


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


class AuditRequestMiddleware:
    """Makes the current request available to services (`hybridcloud.audit.current_request()`) for auditing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from hybridcloud.audit import reset_current_request, set_current_request

        token = set_current_request(request)
        try:
            return self.get_response(request)
        finally:
            reset_current_request(token)

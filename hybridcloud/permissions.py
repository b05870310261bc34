from rest_framework.permissions import SAFE_METHODS, BasePermission

from hybridcloud.roles import is_operator, is_viewer


class ReadForViewersWriteForOperators(BasePermission):
    """Any signed-in user reads; only operators (and superusers) change anything."""

    message = "Only operators may do this; viewers have read-only access."

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return is_viewer(request.user)
        return is_operator(request.user)


class AdminWritesOnly(BasePermission):
    """Inventory: any signed-in user reads; only staff with the model permission edit."""

    message = "Only administrators may edit the inventory."

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return is_viewer(request.user)
        return bool(request.user.is_authenticated and request.user.is_staff)

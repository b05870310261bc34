from rest_framework.permissions import SAFE_METHODS, BasePermission, DjangoModelPermissions

from hybridcloud.core.roles import NO_ROLE, is_operator, is_viewer


class ReadForViewersWriteForOperators(BasePermission):
    """Users with a role read (a signed-in user in no group does not); only operators (and superusers) change
    anything."""

    message = "Only operators may do this; viewers have read-only access."

    def has_permission(self, request, view) -> bool:
        if not is_viewer(request.user):
            self.message = NO_ROLE
            return False
        if request.method in SAFE_METHODS:
            return True
        return is_operator(request.user)


class ReadForViewersWriteWithModelPermission(DjangoModelPermissions):
    """Inventory: users with a role read; a write needs the Django model permission it changes (add, change or
    delete of that model: the ones the admin asks for), whoever holds it: superusers, or anyone granted it by an
    administrator directly or through a group."""

    message = "Only administrators may edit the inventory: you lack the permission to {action} {model}."
    ACTIONS = {"POST": "add", "PUT": "change", "PATCH": "change", "DELETE": "delete"}

    def has_permission(self, request, view) -> bool:
        if not is_viewer(request.user):
            self.message = NO_ROLE
            return False
        if request.method in SAFE_METHODS:
            return True
        allowed = super().has_permission(request, view)
        if not allowed:
            model = self._queryset(view).model._meta.verbose_name_plural
            self.message = self.message.format(action=self.ACTIONS.get(request.method, "change"), model=model)
        return allowed

"""Who may do what: viewers read, operators act (migrations, drills, containers), superusers do everything; a user
in no group has no role and sees nothing."""

from django.contrib.auth.models import AnonymousUser, User

VIEWERS = "viewers"
OPERATORS = "operators"
NO_ROLE = "Your account has no role in HybridCloud (neither viewer nor operator): ask an administrator for access."


def is_operator(user: User | AnonymousUser) -> bool:
    """Operators and superusers may start and cancel migrations, drills and containers."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_hybridcloud_is_operator", None)
    if cached is None:
        cached = user.groups.filter(name=OPERATORS).exists()
        user._hybridcloud_is_operator = cached
    return cached


def is_viewer(user: User | AnonymousUser) -> bool:
    """Who may read: members of `viewers` or `operators`, staff and superusers. A signed-in user in no group has
    no role and reads nothing (RoleRequiredMiddleware, the API's permissions and the websockets all ask this)."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser or user.is_staff:
        return True
    cached = getattr(user, "_hybridcloud_is_viewer", None)
    if cached is None:
        cached = user.groups.filter(name__in=(VIEWERS, OPERATORS)).exists()
        user._hybridcloud_is_viewer = cached
    return cached

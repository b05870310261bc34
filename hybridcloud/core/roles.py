"""Who may do what: viewers read, operators act (migrations, drills, containers), superusers do everything; a user
in no group has no role and sees nothing."""

from django.contrib.auth.models import AnonymousUser, User

VIEWERS = "viewers"
OPERATORS = "operators"
NO_ROLE = "Your account has no role in HybridCloud (neither viewer nor operator): ask an administrator for access."


def _roles(user: User) -> frozenset[str]:
    """The user's HybridCloud groups, read once per user object (one query answers both questions below)."""
    cached = getattr(user, "_hybridcloud_roles", None)
    if cached is None:
        cached = frozenset(user.groups.filter(name__in=(VIEWERS, OPERATORS)).values_list("name", flat=True))
        user._hybridcloud_roles = cached
    return cached


def is_operator(user: User | AnonymousUser) -> bool:
    """Operators and superusers may start and cancel migrations, drills and containers."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return OPERATORS in _roles(user)


def is_viewer(user: User | AnonymousUser) -> bool:
    """Who may read: members of `viewers` or `operators`, staff and superusers. A signed-in user in no group has
    no role and reads nothing (RoleRequiredMiddleware, the API's permissions and the websockets all ask this)."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser or user.is_staff:
        return True
    return bool(_roles(user))

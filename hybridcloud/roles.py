"""Who may do what: viewers read, operators act (migrations, drills, containers), superusers do everything."""

from django.contrib.auth.models import AnonymousUser, User

VIEWERS = "viewers"
OPERATORS = "operators"


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
    """Every signed-in, active user may read."""
    return bool(user.is_authenticated and user.is_active)

from django.conf import settings

from hybridcloud.core.roles import is_operator


def navigation(request):
    """What the base layout needs on every page: the user's role and the admin path."""
    user = getattr(request, "user", None)
    return {
        "user_is_operator": bool(user and is_operator(user)),
        "admin_url": "/" + settings.ADMIN_URL,
    }

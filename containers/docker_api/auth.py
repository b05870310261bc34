"""Who is calling the Docker endpoint: a per-user API token in `Authorization: Token <key>`, which the docker CLI
sends from the HttpHeaders of its config.json. Session cookies do not count (these views are CSRF-exempt)."""

from __future__ import annotations

from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token

from hybridcloud.core.roles import is_operator

UNAUTHORIZED = (
    "Unauthorized: this HybridCloud container host needs your API token. Put "
    '{"HttpHeaders": {"Authorization": "Token <key>"}} in your docker config.json (see the container host\'s page).'
)
FORBIDDEN = "Forbidden: {user} may list and inspect, but only operators may change containers and images."


def token_user(authorization: str) -> User | None:
    """The active user whose token the header carries, or None."""
    scheme, _, key = (authorization or "").strip().partition(" ")
    key = key.strip()
    if scheme.lower() not in ("token", "bearer") or not key or len(key) > 40:
        return None
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return None
    return token.user


def may_change(user: User) -> bool:
    return is_operator(user)


def token_for(user: User, *, create: bool = False) -> Token | None:
    """The user's token; a new one when create is set and they have none."""
    if create:
        return Token.objects.get_or_create(user=user)[0]
    return Token.objects.filter(user=user).first()

"""The base of every websocket consumer: signed-in users only, JSON in and out, a snapshot first."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from hybridcloud.core.roles import is_viewer

# Close codes in the 4000 range are the application's own (RFC 6455 leaves them to us).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


class AuthenticatedJsonConsumer(AsyncJsonWebsocketConsumer):
    """Refuses anonymous users (4401) and users with no role (4403), joins `group_names()` and sends
    `snapshot()` as the first message.

    Subclasses implement `group_names()` and `snapshot()` (both may touch the database: they run
    through `database_sync_to_async`), and may override `has_permission()`. Pushes are hints; the
    snapshot is the truth, so a client that reconnects or sees a gap in `seq` asks for a new one by
    sending `{"action": "resync"}`.
    """

    def __init_subclass__(cls, **kwargs) -> None:
        # A consumer without a snapshot would accept a client and then fail: refuse to define one at import.
        super().__init_subclass__(**kwargs)
        if not callable(getattr(cls, "snapshot", None)):
            raise TypeError(f"{cls.__name__} must define snapshot(): the first message a client receives.")

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_active:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not await database_sync_to_async(is_viewer)(user):
            await self.close(code=CLOSE_FORBIDDEN)  # signed in, but no role: ask an administrator
            return
        allowed = await database_sync_to_async(self.has_permission)(user)
        if allowed is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        if not allowed:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.joined_groups = list(self.group_names())
        for group in self.joined_groups:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json(await database_sync_to_async(self.snapshot)())

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "joined_groups", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        if isinstance(content, dict) and content.get("action") == "resync":
            await self.send_json(await database_sync_to_async(self.snapshot)())

    def has_permission(self, user) -> bool | None:
        """True to accept, False to refuse (403), None when the object does not exist (404)."""
        return True

    async def send_event(self, event: dict) -> None:
        """Forward an event published by `hybridcloud.core.events`: its message was encoded to JSON once for every
        socket of the group (`text`), so it is sent as it is (no database, no re-encoding); an event sent to the
        channel layer some other way (`message`, a dict) is encoded here."""
        text = event.get("text")
        if text is None:
            await self.send_json(event["message"])
        else:
            await self.send(text_data=text)

    def group_names(self) -> list[str]:
        return []

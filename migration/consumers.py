from hybridcloud.consumers import AuthenticatedJsonConsumer

ACTIVITY_GROUP = "activity"


class ActivityConsumer(AuthenticatedJsonConsumer):
    """Everything that happens: migrations starting, progressing and ending, for the activity panel."""

    def group_names(self) -> list[str]:
        return [ACTIVITY_GROUP]

    def snapshot(self) -> dict:
        return {"type": "snapshot", "seq": 0, "state": "connected", "active": []}

    async def activity_event(self, event: dict) -> None:
        await self.send_json(event["message"])

from hybridcloud.core.consumers import AuthenticatedJsonConsumer
from migration.dr.models import DrillRun
from migration.dr.runner import drill_group_name
from migration.dr.selectors import drill_state


class DrillConsumer(AuthenticatedJsonConsumer):
    """One drill's steps as they run: a snapshot of the whole drill first, then every push (each with seq)."""

    def run_id(self) -> int:
        return int(self.scope["url_route"]["kwargs"]["pk"])

    def has_permission(self, user) -> bool | None:
        return True if DrillRun.objects.filter(pk=self.run_id()).exists() else None

    def group_names(self) -> list[str]:
        return [drill_group_name(self.run_id())]

    def snapshot(self) -> dict:
        message = drill_state(DrillRun.objects.select_related("plan").get(pk=self.run_id()))
        message["type"] = "snapshot"
        return message

    async def drill_update(self, event: dict) -> None:
        await self.send_event(event)

"""Websockets: one migration's progress (/ws/migrations/<id>/) and all activity (/ws/activity/)."""

from hybridcloud.consumers import AuthenticatedJsonConsumer
from migration.progress import ACTIVITY_GROUP, migration_group


async def send_pushed(consumer: AuthenticatedJsonConsumer, event: dict) -> None:
    """Forward a push: `migration.progress` encodes each message to JSON once (`text`) for every socket of the
    group, so it is sent as it is (no database, no re-encoding); a plain `message` dict is encoded here."""
    text = event.get("text")
    if text is not None:
        await consumer.send(text_data=text)
    else:
        await consumer.send_json(event["message"])


class ActivityConsumer(AuthenticatedJsonConsumer):
    """Everything that happens: migrations starting, progressing and ending, for the activity panel.

    The snapshot lists the active migrations; each push is `{"type": "migration", "seq", "state", "items": [...]}`
    (the items of one driver step; with `"item"` too when there is one) or `{"type": "workload", ...}`, with `seq`
    from one Redis counter shared by every publisher (see migration.progress)."""

    def group_names(self) -> list[str]:
        return [ACTIVITY_GROUP]

    def snapshot(self) -> dict:
        from migration.selectors import activity_snapshot

        return activity_snapshot()

    async def activity_event(self, event: dict) -> None:
        await send_pushed(self, event)


class MigrationConsumer(AuthenticatedJsonConsumer):
    """One migration: a full snapshot first, then its progress pushes in `seq` order; 4404 for an unknown id."""

    def has_permission(self, user) -> bool | None:
        from migration.models import Migration

        self.migration_id = int(self.scope["url_route"]["kwargs"]["pk"])
        return True if Migration.objects.filter(pk=self.migration_id).exists() else None

    def group_names(self) -> list[str]:
        return [migration_group(self.migration_id)]

    def snapshot(self) -> dict:
        from migration.selectors import migration_queryset, migration_snapshot

        return migration_snapshot(migration_queryset().get(pk=self.migration_id))

    async def migration_progress(self, event: dict) -> None:
        await send_pushed(self, event)

"""Websockets: one migration's progress (/ws/migrations/<id>/) and all activity (/ws/activity/)."""

import asyncio
import contextlib

from channels.db import database_sync_to_async

from hybridcloud.core.consumers import AuthenticatedJsonConsumer
from hybridcloud.core.events import ACTIVITY_GROUP
from migration.choices import FINAL_STATES
from migration.models import Migration
from migration.progress import link_step_group, migration_group
from migration.selectors import activity_snapshot, migration_queryset, migration_snapshot


class ActivityConsumer(AuthenticatedJsonConsumer):
    """Everything that happens: migrations starting, progressing and ending, for the activity panel.

    The snapshot lists the active migrations; each push is `{"type": "migration", "seq", "state", "items": [...]}`
    (the items of one driver step; with `"item"` too when there is one) or `{"type": "workload", ...}`, with `seq`
    from one Redis counter shared by every publisher (see hybridcloud.core.events)."""

    def group_names(self) -> list[str]:
        return [ACTIVITY_GROUP]

    def snapshot(self) -> dict:
        return activity_snapshot()

    async def activity_event(self, event: dict) -> None:
        await self.send_event(event)


#: A live page that has heard nothing for this long is sent a fresh snapshot if the migration moved on meanwhile.
QUIET_RESYNC_S = 5.0


class MigrationConsumer(AuthenticatedJsonConsumer):
    """One migration: a full snapshot first, then its progress pushes in `seq` order; 4404 for an unknown id.

    A socket that has received nothing for `QUIET_RESYNC_S` gets a new snapshot when the row's `seq` differs from the
    last snapshot it was sent: while the channel layer reconnects to Redis (a restart drops its subscriptions
    without a word) pushes are lost, and a lost last push (`completed`) has no successor whose gap would make the
    page ask. A snapshot read while a push arrived is dropped (the push may be newer), so `seq` never goes back.
    """

    async def connect(self) -> None:
        self.pushes = 0
        self.snapshot_seq: int | None = None
        await super().connect()
        if getattr(self, "joined_groups", None) is not None:
            self.quiet_watch = asyncio.ensure_future(self.resync_when_quiet())

    async def disconnect(self, code: int) -> None:
        watch = getattr(self, "quiet_watch", None)
        if watch is not None:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watch
        await super().disconnect(code)

    def has_permission(self, user) -> bool | None:
        self.migration_id = int(self.scope["url_route"]["kwargs"]["pk"])
        self.link_key = Migration.objects.filter(pk=self.migration_id).values_list("link_key", flat=True).first()
        return None if self.link_key is None else True

    def group_names(self) -> list[str]:
        # Its own changes (start, admission, cancel), and the driver's steps of its link (one event for all the
        # link's migrations: `migration_step` picks this one's messages out).
        return [migration_group(self.migration_id), link_step_group(self.link_key)]

    def read_snapshot(self) -> dict:
        return migration_snapshot(migration_queryset().get(pk=self.migration_id))

    def snapshot(self) -> dict:
        return self.sent(self.read_snapshot())

    def sent(self, snapshot: dict) -> dict:
        """Note the snapshot this socket is sent."""
        self.snapshot_seq, self.snapshot_final = snapshot["seq"], snapshot["state"] in FINAL_STATES
        return snapshot

    async def resync_when_quiet(self) -> None:
        while not getattr(self, "snapshot_final", False):
            pushes = self.pushes
            await asyncio.sleep(QUIET_RESYNC_S)
            if self.pushes != pushes:
                continue
            snapshot = await database_sync_to_async(self.read_snapshot)()
            if self.pushes == pushes and snapshot["seq"] != self.snapshot_seq:
                await self.send_json(self.sent(snapshot))

    async def migration_progress(self, event: dict) -> None:
        self.pushes += 1
        await self.send_event(event)

    async def migration_step(self, event: dict) -> None:
        for text in event["texts"].get(str(self.migration_id), ()):
            self.pushes += 1
            await self.send(text_data=text)

"""Celery tasks of move groups. They take ids, are idempotent (a duplicate delivery starts nothing twice: see
`move_group_start`) and never sleep."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from migration.moves.choices import MoveGroupState
from migration.moves.models import MoveGroupMember
from migration.moves.services import move_group_feed, move_groups_start_due


@shared_task(ignore_result=True)
def move_groups_tick() -> list[int]:
    """The beat's task (every 5 s): start the scheduled groups whose time has come, feed the running ones."""
    return move_groups_start_due()


@shared_task(acks_late=True, ignore_result=True)
def move_group_feed_task(group_id: int) -> list[int]:
    """Start the group's next members under its cap."""
    return move_group_feed(group_id=group_id)


def feed_groups_of(migration_ids: list[int]) -> None:
    """The driver's end hook (registered in `MovesConfig.ready`): the running groups those migrations belong to
    start their next members now, not at their next tick."""
    groups = set(
        MoveGroupMember.objects.filter(migration_id__in=migration_ids, group__state=MoveGroupState.RUNNING).values_list(
            "group_id", flat=True
        )
    )
    for group_id in sorted(groups):
        transaction.on_commit(lambda group_id=group_id: move_group_feed_task.delay(group_id))

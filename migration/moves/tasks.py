"""Celery tasks of move groups. They take ids, are idempotent (a duplicate delivery starts nothing twice: see
`move_group_start`) and never sleep."""

from __future__ import annotations

from celery import shared_task

from migration.moves.services import move_group_feed, move_groups_start_due


@shared_task(ignore_result=True)
def move_groups_tick() -> list[int]:
    """The beat's task (every 5 s): start the scheduled groups whose time has come, feed the running ones."""
    return move_groups_start_due()


@shared_task(acks_late=True, ignore_result=True)
def move_group_feed_task(group_id: int) -> list[int]:
    """Start the group's next members under its cap."""
    return move_group_feed(group_id=group_id)

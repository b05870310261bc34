"""Planning pauses the cyclic collector (`cyclic_gc_paused`) and, after the block, leaves what it made to the oldest
generation instead of to a young-generation collection that would walk it all; a server's frozen objects stay
frozen."""

import gc

from migration.capacity.planning import cyclic_gc_paused


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: tracked by the collector


def generation_of(obj: object) -> int | None:
    return next((g for g in range(3) if any(o is obj for o in gc.get_objects(generation=g))), None)


def test_what_the_block_made_joins_the_oldest_generation_and_the_collector_runs_again():
    assert gc.isenabled()
    with cyclic_gc_paused():
        assert not gc.isenabled()
        made = Node()
        assert generation_of(made) == 0
    assert gc.isenabled()
    assert generation_of(made) == 2
    assert gc.get_count()[0] < 10  # the young generation starts empty: nothing to walk


def test_objects_frozen_before_stay_frozen():
    before = Node()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with cyclic_gc_paused():
            made = Node()
        assert gc.get_freeze_count() == frozen and gc.isenabled()
        assert generation_of(before) is None  # still in the permanent generation
        assert generation_of(made) == 0  # left to the collector as it was
    finally:
        gc.unfreeze()


def test_a_collector_paused_by_the_caller_stays_paused():
    gc.disable()
    try:
        with cyclic_gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()

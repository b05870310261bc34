"""Each workload's destination among tiers of hosts, without weighing every host for every workload
(`TargetChooser`, the evacuation's placement over the planner's in-memory index)."""

from __future__ import annotations

import heapq
from collections import defaultdict

from migration.capacity.planning import Candidate, TargetHost, TargetIndex
from migration.engine.placement_rules import Spot


class TargetChooser:
    """Each workload's destination among tiers of hosts, by `evacuation_plan`'s rule: the first tier with a host that
    can take it (`TargetIndex.blocker`); there a host of the source's CPU baseline first, then the most memory free
    after the move, then the name. Without weighing every host for every workload: hosts wait in heaps by memory
    free per (site, baseline), a site that cannot take the workload (segment, link) is ruled out whole, and the
    search stops at the first host too small for it (every host after it has less room)."""

    def __init__(self, index: TargetIndex, tiers: list[list[TargetHost]]) -> None:
        self.index = index
        self.tiers: list[dict[tuple[int, int], list]] = []
        self.where: dict[int, list[list]] = defaultdict(list)  # host -> the heaps it is in
        self.site_names: dict[int, str] = {}
        for tier in tiers:
            groups: dict[tuple[int, int], list] = defaultdict(list)
            for t in tier:
                groups[(t.site_id, t.baseline_level)].append(self._entry(t))
                self.site_names[t.site_id] = t.site_name
            for heap in groups.values():
                heapq.heapify(heap)
                for entry in heap:
                    self.where[entry[2]].append(heap)
            self.tiers.append(groups)

    @staticmethod
    def _entry(t: TargetHost) -> tuple[float, str, int]:
        return (-(t.memory_bytes - t.alloc_memory), t.name, t.pk)

    def choose(self, c: Candidate, reasons: list[str], decided: list[str]) -> TargetHost | None:
        """The destination, or None; appends why hosts were passed over to `reasons` (and those that a placement
        rule turned down to `decided`). Call `commit` after planning the move."""
        w = c.workload
        source = self.index.hosts[w.host_id]
        for groups in self.tiers:
            same, other = [], []
            for (site_id, level), heap in groups.items():
                why = self.index.site_blocker(c, source, site_id, self.site_names[site_id])
                if why:
                    reasons.append(why)
                elif heap:
                    (same if level == source.baseline_level else other).append(heap)
            for heaps in (same, other):
                found = self._best(heaps, c, reasons, decided)
                if found is not None:
                    return found
        return None

    def _best(self, heaps: list[list], c: Candidate, reasons: list[str], decided: list[str]) -> TargetHost | None:
        w = c.workload
        hosts = self.index.hosts
        aside: list[tuple[list, tuple]] = []
        found = None
        while True:
            top = None
            for heap in heaps:
                while heap:
                    # The host's room now? (Its name and pk are its own: only the room can be older.)
                    room, _, pk = heap[0]
                    h = hosts[pk]
                    if room == -(h.memory_bytes - h.alloc_memory):
                        break
                    heapq.heappop(heap)  # an older entry of a host that has taken a move since
                if heap and (top is None or heap[0] < top[0]):
                    top = heap
            if top is None:
                break
            entry = top[0]
            t = hosts[entry[2]]
            if c.live and -entry[0] < w.memory_bytes:  # the roomiest host left is too small: so is every other
                reasons.append(self.index.blocker(c, t) or f"host {t.name} is full")
                break
            aside.append((top, heapq.heappop(top)))
            why = self.index.blocker(c, t)
            if why is None:
                found = t
                break
            reasons.append(why)
            if why in self.index.rules.broken_on(w.pk, w.name, Spot(t.name, t.site_name)):
                decided.append(why)
        for heap, entry in aside:
            heapq.heappush(heap, entry)
        return found

    def commit(self, c: Candidate, target: TargetHost) -> None:
        """Plan the move in the index and re-file the hosts whose room changed."""
        self.index.commit(c, target)
        for host in (target, self.index.hosts[c.workload.host_id]):
            for heap in self.where.get(host.pk, ()):
                heapq.heappush(heap, self._entry(host))

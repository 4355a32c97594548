"""Which Kafka offsets may be committed when work finishes out of order.

A crawler finishes pages in any order, but a partition's committed offset means "every
record before this one is done". :class:`OffsetTracker` keeps the pending offsets per
partition and answers the highest offset that is safe to commit: the lowest pending one,
or one past the highest finished when nothing is pending. Pure; not thread-safe.
"""

from __future__ import annotations

from collections.abc import Hashable


class OffsetTracker:
    def __init__(self) -> None:
        self._pending: dict[Hashable, set[int]] = {}
        self._next: dict[Hashable, int] = {}
        self._committed: dict[Hashable, int] = {}

    def started(self, partition: Hashable, offset: int) -> None:
        self._pending.setdefault(partition, set()).add(offset)
        self._next[partition] = max(self._next.get(partition, 0), offset + 1)

    def finished(self, partition: Hashable, offset: int) -> None:
        """Mark a record done; a record never started (or already finished) is ignored."""
        self._pending.get(partition, set()).discard(offset)

    def pending(self) -> int:
        return sum(len(p) for p in self._pending.values())

    def committable(self) -> dict[Hashable, int]:
        """``{partition: offset}`` to commit now: only partitions whose safe point moved."""
        out = {}
        for partition, upto in self._next.items():
            pending = self._pending.get(partition)
            safe = min(pending) if pending else upto
            if safe > self._committed.get(partition, -1):
                out[partition] = safe
        return out

    def committed(self, offsets: dict[Hashable, int]) -> None:
        self._committed.update(offsets)

    def forget(self, partitions: set[Hashable]) -> None:
        """Drop partitions this process no longer owns (after a rebalance)."""
        for partition in partitions:
            self._pending.pop(partition, None)
            self._next.pop(partition, None)
            self._committed.pop(partition, None)

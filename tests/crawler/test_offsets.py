from __future__ import annotations

from crawler.offsets import OffsetTracker


def test_commits_only_up_to_the_lowest_pending_offset() -> None:
    t = OffsetTracker()
    for offset in (10, 11, 12):
        t.started("p0", offset)
    assert t.committable() == {"p0": 10}
    t.committed({"p0": 10})
    t.finished("p0", 12)
    assert t.committable() == {}, "11 and 10 are still pending"
    t.finished("p0", 10)
    assert t.committable() == {"p0": 11}
    t.committed({"p0": 11})
    t.finished("p0", 11)
    assert t.committable() == {"p0": 13} and t.pending() == 0


def test_partitions_are_independent_and_can_be_forgotten() -> None:
    t = OffsetTracker()
    t.started("a", 0)
    t.started("b", 5)
    t.finished("b", 5)
    assert t.committable() == {"a": 0, "b": 6}
    t.forget({"a"})
    t.finished("a", 0)  # finishing work of a revoked partition is harmless
    assert t.committable() == {"b": 6} and t.pending() == 0


def test_unknown_and_repeated_finishes_are_ignored() -> None:
    t = OffsetTracker()
    t.finished("x", 3)
    t.started("x", 3)
    t.finished("x", 3)
    t.finished("x", 3)
    assert t.committable() == {"x": 4}

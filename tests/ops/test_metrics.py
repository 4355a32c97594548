"""Consumer lag: end offsets minus positions, measured at most every few seconds, on the
caller's thread; served as a gauge by topic and partition."""

from __future__ import annotations

from typing import Any

from kafka.structs import TopicPartition

from ops.metrics import ConsumerLag, FamilyCollector, consumer_lag, exposition, new_registry

A0, A1 = TopicPartition("images.hashed.v1", 0), TopicPartition("images.hashed.v1", 1)


class FakeConsumer:
    def __init__(self, ends: dict[Any, int], positions: dict[Any, int | None]) -> None:
        self.ends = ends
        self.positions = positions
        self.broker_calls = 0
        self.down = False

    def assignment(self) -> set[Any]:
        return set(self.positions)

    def end_offsets(self, partitions: list[Any]) -> dict[Any, int]:
        self.broker_calls += 1
        if self.down:
            raise TimeoutError("no broker")
        return {tp: self.ends[tp] for tp in partitions}

    def position(self, tp: Any, timeout_ms: int | None = None) -> int | None:
        assert timeout_ms == 0, "the lag must never wait for a position"
        return self.positions[tp]


def test_lag_is_end_offset_minus_position() -> None:
    consumer = FakeConsumer({A0: 10, A1: 5}, {A0: 7, A1: 5})
    assert consumer_lag(consumer) == {("images.hashed.v1", 0): 3, ("images.hashed.v1", 1): 0}
    assert consumer_lag(FakeConsumer({}, {})) == {}
    assert consumer_lag(FakeConsumer({A0: 4}, {A0: None})) == {}  # position not known yet


def test_lag_is_measured_at_most_every_few_seconds_and_survives_an_outage() -> None:
    consumer = FakeConsumer({A0: 10}, {A0: 2})
    lag = ConsumerLag("radar_test_consumer_lag_records", every_seconds=5)
    assert lag.refresh(consumer, now=100.0)
    assert not lag.refresh(consumer, now=103.0)
    assert consumer.broker_calls == 1
    consumer.down = True
    assert not lag.refresh(consumer, now=106.0)
    assert lag.errors == 1 and lag.snapshot() == {("images.hashed.v1", 0): 8}

    registry = new_registry()
    registry.register(FamilyCollector(lag.families))
    body, content_type = exposition(registry)
    assert content_type.startswith("text/plain")
    line = 'radar_test_consumer_lag_records{partition="0",topic="images.hashed.v1"} 8.0'
    assert line in body.decode().splitlines()

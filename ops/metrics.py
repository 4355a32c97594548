"""Prometheus metrics shared by every role: a registry per role, Kafka consumer lag, the
exposition format.

Each role builds its own :class:`prometheus_client.CollectorRegistry` (never the
process-global one), so two roles, or two tests, in one process never collide. Names
follow Prometheus conventions: ``radar_<role>_<what>_<unit>``, ``_total`` for counters,
``_seconds`` for durations. Depends on nothing else in the project.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

# Latency buckets (seconds): a fetch or a match takes milliseconds to tens of seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# From a fetch to its stored hit: seconds when the pipeline keeps up, hours when it lags.
PIPELINE_BUCKETS = (1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600)

Partition = tuple[str, int]  # (topic, partition)


def new_registry() -> CollectorRegistry:
    """An empty registry for one role (no process or platform collectors: the pod's own
    figures come from the kubelet)."""
    return CollectorRegistry()


def exposition(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The registry's samples in the Prometheus text format, and its content type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST


class FamilyCollector(Collector):
    """Metric families computed at scrape time by ``families`` (called from the scraping
    thread: it must be cheap and thread-safe)."""

    def __init__(self, families: Callable[[], Iterable[Metric]]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return list(self.families())


def consumer_lag(consumer: Any) -> dict[Partition, int]:
    """Records not yet consumed per assigned partition: the end offset minus the
    consumer's position (kafka-python's ``assignment``/``end_offsets``/``position``).
    Empty when nothing is assigned; a partition whose position is not known yet is left
    out (``timeout_ms=0``: never waits for it). Blocks on the broker for the end offsets
    (at most the consumer's request timeout); call it on the consumer's own thread (a
    kafka-python consumer is not thread-safe)."""
    assigned = list(consumer.assignment())
    if not assigned:
        return {}
    ends = consumer.end_offsets(assigned)
    lag = {}
    for tp in assigned:
        position = consumer.position(tp, timeout_ms=0)
        if position is not None and tp in ends:
            lag[(tp.topic, tp.partition)] = max(0, ends[tp] - position)
    return lag


class ConsumerLag:
    """The last measured lag of one consumer, as the gauge ``name`` by topic and partition.

    :meth:`refresh` is called from the consumer's thread as often as convenient and asks
    the broker at most every ``every_seconds``; a scrape only reads the last snapshot.
    A failed measurement keeps the previous one (and is counted in ``errors``)."""

    def __init__(self, name: str, every_seconds: float = 10.0) -> None:
        self.name = name
        self.every_seconds = every_seconds
        self.errors = 0
        self._lag: dict[Partition, int] = {}
        self._at = float("-inf")
        self._lock = threading.Lock()

    def refresh(self, consumer: Any, now: float | None = None) -> bool:
        """Measure again if the last measurement is old enough; True if it measured."""
        now = time.monotonic() if now is None else now
        if now - self._at < self.every_seconds:
            return False
        self._at = now
        try:
            lag = consumer_lag(consumer)
        except Exception:  # the broker away: the lag is unknown, the loop goes on
            self.errors += 1
            return False
        self.set(lag)
        return True

    def set(self, lag: Mapping[Partition, int]) -> None:
        with self._lock:
            self._lag = dict(lag)

    def snapshot(self) -> dict[Partition, int]:
        with self._lock:
            return dict(self._lag)

    def families(self) -> Iterable[Metric]:
        gauge = GaugeMetricFamily(
            self.name,
            "Records not yet consumed, per assigned topic partition (end offset - position).",
            labels=["topic", "partition"],
        )
        for (topic, partition), lag in sorted(self.snapshot().items()):
            gauge.add_metric([topic, str(partition)], lag)
        yield gauge

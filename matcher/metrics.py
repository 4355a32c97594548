"""The matcher's Prometheus metrics (``radar_matcher_*``), in a registry of its own.

Counts are taken when the work is done for good: records, hits and dead letters once
their batch is committed (a retried batch is not counted twice); durations as they are
measured. ``fetch_to_hit_seconds`` runs from the record's ``fetched_at`` (the crawler's
clock, second precision) to the hit being accepted by the hit store.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from prometheus_client import Counter, Gauge, Histogram

from ops.metrics import (
    LATENCY_BUCKETS,
    PIPELINE_BUCKETS,
    ConsumerLag,
    FamilyCollector,
    new_registry,
)
from wire import Hit
from wire.records import parse_timestamp

OUTCOMES = ("matched", "unmatched", "dead_letter")
ALGORITHMS = ("pdq", "phash")


class MatcherMetrics:
    def __init__(self) -> None:
        self.registry = r = new_registry()
        self.records = Counter(
            "radar_matcher_records",
            "Hash records handled, by outcome (matched, unmatched, dead_letter).",
            ["outcome"],
            registry=r,
        )
        self.hits = Counter(
            "radar_matcher_hits",
            "Hits stored in the hit store, by headline algorithm.",
            ["algorithm"],
            registry=r,
        )
        self.hit_store_errors = Counter(
            "radar_matcher_hit_store_errors",
            "Failed writes to the hit store (each one makes the batch retry).",
            registry=r,
        )
        self.batch_retries = Counter(
            "radar_matcher_batch_retries",
            "Batches not committed and retried (any failure: bank, hit store, Kafka).",
            registry=r,
        )
        self.bank_loads = Counter(
            "radar_matcher_bank_loads", "Bank (re)loads after a bank change.", registry=r
        )
        self.bank_hashes = Gauge(
            "radar_matcher_bank_hashes", "Reference hashes in the loaded bank.", registry=r
        )
        self.match_seconds = Histogram(
            "radar_matcher_match_seconds",
            "Time to match one record against the bank.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.fetch_to_hit_seconds = Histogram(
            "radar_matcher_fetch_to_hit_seconds",
            "From the crawler's fetch of an image to its hit being stored.",
            buckets=PIPELINE_BUCKETS,
            registry=r,
        )
        self.lag = ConsumerLag("radar_matcher_consumer_lag_records")
        r.register(FamilyCollector(self.lag.families))
        for outcome in OUTCOMES:  # every series exists from the start: rate() sees the first
            self.records.labels(outcome)
        for algorithm in ALGORITHMS:
            self.hits.labels(algorithm)

    def committed(self, records: int, matched: int, dead: int, hits: Iterable[Hit]) -> None:
        """Count a committed batch: ``records`` in all, ``matched`` of them with a hit,
        ``dead`` dead letters, and the hits stored."""
        self.records.labels("matched").inc(matched)
        self.records.labels("dead_letter").inc(dead)
        self.records.labels("unmatched").inc(max(0, records - matched - dead))
        now = datetime.now(UTC)
        for hit in hits:
            self.hits.labels(hit.algorithm).inc()
            try:
                fetched = parse_timestamp(hit.fetched_at)
            except ValueError:
                continue
            self.fetch_to_hit_seconds.observe(max(0.0, (now - fetched).total_seconds()))

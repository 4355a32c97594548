"""The matcher's metrics move with its work: records by outcome, hits, dead letters and
hit-store errors once the batch is committed (a retried batch counts once), and the
match and fetch-to-hit histograms; the lag gauge follows the consumer."""

from __future__ import annotations

import json

from kafka.structs import TopicPartition

import store
from ops.metrics import exposition
from tests.matcher.test_service import FakeBus, matching, service
from tests.matcher.test_service import db as db  # the fixture
from tests.wire.test_records import POISON, VALID


def sample(registry, name: str, labels: dict[str, str] | None = None) -> float:  # type: ignore[no-untyped-def]
    value = registry.get_sample_value(name, labels or {})
    assert value is not None, f"{name}{labels or ''} is not exported"
    return float(value)


def test_a_committed_batch_moves_the_counters_and_histograms(db: store.SqlStore) -> None:
    unmatched = json.dumps({**VALID, "image_url": "https://ok.example/x.jpg"}).encode()
    log = [
        (b"ok.example", matching(db, 0)),
        (b"ok.example", unmatched),
        (b"poison.example", POISON["deeply-nested-json"]),
    ]
    matcher, _ = service(db, log, FakeBus(), hit_failures=1)
    registry = matcher.metrics.registry

    assert matcher.run_once() == 0  # the hit store refused: nothing counted but the error
    assert sample(registry, "radar_matcher_hit_store_errors_total") == 1
    assert sample(registry, "radar_matcher_batch_retries_total") == 1
    assert sample(registry, "radar_matcher_records_total", {"outcome": "matched"}) == 0
    assert matcher.run_once() == 3
    assert sample(registry, "radar_matcher_records_total", {"outcome": "matched"}) == 1
    assert sample(registry, "radar_matcher_records_total", {"outcome": "unmatched"}) == 1
    assert sample(registry, "radar_matcher_records_total", {"outcome": "dead_letter"}) == 1
    assert sample(registry, "radar_matcher_hits_total", {"algorithm": "pdq"}) == 1
    assert sample(registry, "radar_matcher_hit_store_errors_total") == 1
    # Matched twice (the first attempt and the retry), two records each time.
    assert sample(registry, "radar_matcher_match_seconds_count") == 4
    assert sample(registry, "radar_matcher_fetch_to_hit_seconds_count") == 1
    # VALID was fetched long ago: the hit is in the top bucket only.
    assert sample(registry, "radar_matcher_fetch_to_hit_seconds_bucket", {"le": "86400.0"}) == 0
    assert sample(registry, "radar_matcher_fetch_to_hit_seconds_bucket", {"le": "+Inf"}) == 1
    assert sample(registry, "radar_matcher_bank_loads_total") == 1
    assert sample(registry, "radar_matcher_bank_hashes") == 2


def test_the_lag_gauge_follows_the_consumer(db: store.SqlStore) -> None:
    matcher, fake = service(db, [(b"ok.example", matching(db, 0))] * 5, FakeBus())
    tp = TopicPartition("images.hashed.v1", 0)
    fake.assignment = lambda: {tp}  # type: ignore[attr-defined]
    fake.end_offsets = lambda partitions: {tp: len(fake.log)}  # type: ignore[attr-defined]
    fake.position = lambda partition, timeout_ms: fake.position_  # type: ignore[attr-defined]
    fake.position_ = 2  # type: ignore[attr-defined]
    assert matcher.metrics.lag.refresh(fake)
    labels = {"topic": "images.hashed.v1", "partition": "0"}
    registry = matcher.metrics.registry
    assert sample(registry, "radar_matcher_consumer_lag_records", labels) == 3
    body, _ = exposition(registry)
    assert b'radar_matcher_consumer_lag_records{partition="0",topic="images.hashed.v1"} 3.0' in body

"""The matcher as a service: a Kafka consumer group writing hits to Elasticsearch.

Loop: poll a batch of ``images.hashed.v1`` records -> match (pure) -> write the hits to
the hit store (durable) -> route dead letters to ``images.rejected.v1`` -> announce hits on
``hits.matched.v1`` -> commit the offsets. Offsets are committed only after every earlier
step succeeded; on any failure the consumer seeks back to the batch's first offsets and
retries with exponential back-off, so a record is never lost, and hit ids are
deterministic, so a record processed twice overwrites instead of duplicating. Any number
of replicas share the partitions; SIGTERM finishes the batch in hand and leaves.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kafka.structs import OffsetAndMetadata

from bus.kafka import KafkaBus, KafkaSettings, consumer
from matcher.feed import BankFeed
from matcher.worker import Batch, MatchWorker
from ops.health import HealthServer
from store.elastic import ElasticHitStore, ElasticSettings
from wire import HASHES_TOPIC, HITS_TOPIC, REJECTED_TOPIC, utc_now

log = logging.getLogger(__name__)
_MAX_DEAD_LETTER_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class MatcherSettings:
    kafka: KafkaSettings
    elastic: ElasticSettings
    group_id: str = "radar-matchers"
    batch_size: int = 200
    poll_seconds: float = 1.0
    max_backoff_seconds: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> MatcherSettings:
        return cls(
            kafka=KafkaSettings.from_env(env),
            elastic=ElasticSettings.from_env(env),
            group_id=env.get("RADAR_MATCHER_GROUP", "radar-matchers"),
            batch_size=int(env.get("RADAR_MATCHER_BATCH", "200")),
            max_backoff_seconds=float(env.get("RADAR_MATCHER_MAX_BACKOFF", "30")),
        )


def dead_letter(key: str, value: bytes, reason: str, where: str) -> bytes:
    """The dead-letter record: the reason, where it came from, and the raw value as text
    (capped: a dead letter is for a person to read, not a second copy of the stream)."""
    return json.dumps(
        {
            "schema_version": 1,
            "reason": reason,
            "source": where,
            "key": key,
            "rejected_at": utc_now(),
            "value": value[:_MAX_DEAD_LETTER_BYTES].decode("utf-8", "replace"),
        }
    ).encode()


class MatcherService:
    def __init__(self, settings: MatcherSettings) -> None:
        self.settings = settings
        self.hit_store = ElasticHitStore(settings.elastic)
        self.hit_store.ensure_index()
        self.feed = BankFeed(settings.kafka)
        self.worker = MatchWorker(self.feed, self.hit_store)
        self.bus = KafkaBus(settings.kafka)
        self.consumer = consumer(
            settings.kafka, settings.group_id, [HASHES_TOPIC], max_poll_records=settings.batch_size
        )
        self.running = True
        self.failures = 0
        self.health = HealthServer(
            "matcher",
            ready=lambda: self.failures == 0,
            counters=lambda: dict(self.worker.stats),
            stall_seconds=4 * settings.max_backoff_seconds + 60,
        )

    def stop(self, *_: Any) -> None:
        self.running = False

    def _deliver(self, batch: Batch, where: str) -> None:
        """Everything that must succeed before the batch's offsets may be committed."""
        self.hit_store.upsert_hits(batch.hits)
        deliveries = [
            self.bus.send(REJECTED_TOPIC, key, dead_letter(key, raw, reason, where))
            for key, raw, reason in batch.dead
        ]
        deliveries += [
            self.bus.send(
                HITS_TOPIC, hit.id, json.dumps({**hit.to_dict(), "matched_at": utc_now()}).encode()
            )
            for hit in batch.hits
        ]
        for delivery in deliveries:
            delivery.result(timeout=60)

    def run_once(self) -> int:
        """Poll and process one batch; return the number of records handled."""
        polled = self.consumer.poll(timeout_ms=int(self.settings.poll_seconds * 1000))
        if not polled:
            return 0
        messages = []
        first: dict[Any, int] = {}
        last: dict[Any, int] = {}
        for tp, records in polled.items():
            first[tp], last[tp] = records[0].offset, records[-1].offset
            messages += [(r.key.decode() if r.key else "", r.value or b"") for r in records]
        try:
            batch = self.worker.process(messages)
            self._deliver(batch, f"{HASHES_TOPIC}")
            self.consumer.commit({tp: OffsetAndMetadata(o + 1, "", -1) for tp, o in last.items()})
        except Exception as exc:
            self.failures += 1
            backoff = min(self.settings.max_backoff_seconds, 0.5 * 2 ** min(self.failures, 10))
            log.warning(
                "batch of %d not committed (%s); retrying in %.1fs", len(messages), exc, backoff
            )
            for tp, offset in first.items():
                self.consumer.seek(tp, offset)
            time.sleep(backoff)
            return 0
        self.failures = 0
        self.worker.count_written(batch)
        return len(messages)

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        log.info(
            "matcher up: group %s, bank of %d hashes", self.settings.group_id, len(self.worker.bank)
        )
        self.health.start()
        try:
            while self.running:
                self.health.beat()
                self.run_once()
        finally:
            self.health.stop()
            self.consumer.close()
            self.bus.close()
            self.feed.close()
            log.info("matcher down: %s", dict(self.worker.stats))


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("RADAR_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    MatcherService(MatcherSettings.from_env()).run()

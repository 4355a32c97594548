"""The matcher as a service: a Kafka consumer group writing hits to Elasticsearch.

Loop: poll a batch of ``images.hashed.v1`` records -> match (pure) -> write the hits to
the hit store (durable) -> route dead letters to ``images.rejected.v1`` -> announce hits on
``hits.matched.v1`` -> commit the offsets. Offsets are committed only after every earlier
step succeeded; on any failure the consumer seeks back to the batch's first offsets and
retries with exponential back-off, so a record is never lost, and hit ids are
deterministic, so a record processed twice overwrites instead of duplicating. What a
failed attempt already published (a dead letter, a hit event) is remembered per source
offset (:class:`Published`), so the retry does not publish it again. A record that does
not parse is a dead letter, never a retry. Any number of replicas share the partitions;
SIGTERM finishes the batch in hand and leaves.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from collections.abc import Hashable, Mapping, Sequence
from typing import Annotated, Any, Self

from kafka.structs import OffsetAndMetadata
from pydantic import BeforeValidator, Field

from bus import Bus
from bus.kafka import KafkaBus, KafkaSettings
from bus.kafka import consumer as kafka_consumer
from matcher.feed import BankFeed
from matcher.metrics import MatcherMetrics
from matcher.worker import Batch, MatchWorker
from ops.health import HealthServer
from ops.settings import RadarSettings, whole_number
from store.base import HitStore, StoreError
from store.elastic import ElasticHitStore, ElasticSettings
from wire import HASHES_TOPIC, HITS_TOPIC, REJECTED_TOPIC, Hit, utc_now

log = logging.getLogger(__name__)
_MAX_DEAD_LETTER_BYTES = 64 * 1024
ROLLOVER_CHECK_SECONDS = 300.0  # how often each matcher asks whether the hit index is due


def _batch(value: object) -> object:
    return whole_number("RADAR_MATCHER_BATCH", value)


class MatcherSettings(RadarSettings):
    """A matcher's settings; ``from_env`` reads ``RADAR_MATCHER_GROUP``, ``_BATCH`` and
    ``_MAX_BACKOFF``, and ``RADAR_KAFKA_*`` and ``RADAR_ES_*``."""

    kafka: KafkaSettings
    elastic: ElasticSettings
    group_id: str = Field(default="radar-matchers", validation_alias="RADAR_MATCHER_GROUP")
    batch_size: Annotated[int, BeforeValidator(_batch)] = Field(
        default=200, validation_alias="RADAR_MATCHER_BATCH"
    )
    poll_seconds: float = 1.0
    max_backoff_seconds: float = Field(default=30.0, validation_alias="RADAR_MATCHER_MAX_BACKOFF")

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, **values: Any) -> Self:
        """The settings in ``env``, Kafka's and Elasticsearch's too; ``values`` take
        precedence."""
        nested = {"kafka": KafkaSettings.from_env(env), "elastic": ElasticSettings.from_env(env)}
        return super().from_env(env, **{**nested, **values})


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


Origin = tuple[Hashable, int]  # (topic partition, offset) of the record an event is for


class Published:
    """The events already published for records whose offsets are not committed yet.

    A retried batch asks :meth:`publish` again for everything; events whose (origin,
    topic, key) were acknowledged before are skipped, so each dead letter and each hit
    event goes out once per record even when a later step failed. Entries go once their
    offsets are committed. A process that dies before committing forgets them: the next
    owner of the partition publishes again (at least once across crashes; keys are
    deterministic, so readers can drop the repeats)."""

    def __init__(self) -> None:
        self._done: set[tuple[Hashable, int, str, str]] = set()

    def __len__(self) -> int:
        return len(self._done)

    def publish(
        self, bus: Bus, events: Sequence[tuple[Origin, str, str, bytes]], timeout: float = 60
    ) -> None:
        """Send every event not sent before and wait for all acknowledgements; raise the
        first failure after recording every event that did get through."""
        pending = []
        error: Exception | None = None
        for (partition, offset), topic, key, value in events:
            ident = (partition, offset, topic, key)
            if ident in self._done:
                continue
            try:
                pending.append((ident, bus.send(topic, key, value)))
            except Exception as exc:
                error = exc
                break
        for ident, delivery in pending:
            try:
                delivery.result(timeout=timeout)
            except Exception as exc:
                error = error or exc
            else:
                self._done.add(ident)
        if error is not None:
            raise error

    def committed(self, offsets: Mapping[Hashable, int]) -> None:
        """Forget the events of records below each partition's committed offset."""
        self._done = {e for e in self._done if e[0] not in offsets or e[1] >= offsets[e[0]]}


def hit_event(hit: Hit) -> dict[str, Any]:
    """The ``hits.matched.v1`` value: the hit as stored, plus when it was matched."""
    return {**hit.to_dict(), "matched_at": utc_now()}


class MatcherService:
    """The matcher role. ``hit_store``, ``feed``, ``bus`` and ``consumer`` default to the
    Elasticsearch, bank-topic and Kafka ones built from ``settings`` (tests pass their own)."""

    def __init__(
        self,
        settings: MatcherSettings,
        *,
        hit_store: HitStore | None = None,
        feed: BankFeed | None = None,
        bus: Bus | None = None,
        consumer: Any = None,
    ) -> None:
        self.settings = settings
        if hit_store is None:
            elastic = ElasticHitStore(settings.elastic)
            elastic.ensure_index()
            hit_store = elastic
        self.hit_store = hit_store
        self.feed = feed if feed is not None else BankFeed(settings.kafka)
        self.metrics = MatcherMetrics()
        self.worker = MatchWorker(self.feed, self.hit_store, metrics=self.metrics)
        self.bus = bus if bus is not None else KafkaBus(settings.kafka)
        self.consumer = consumer or kafka_consumer(
            settings.kafka, settings.group_id, [HASHES_TOPIC], max_poll_records=settings.batch_size
        )
        self.published = Published()
        self.running = True
        self.failures = 0
        self.health = HealthServer(
            "matcher",
            ready=lambda: self.failures == 0,
            registry=self.metrics.registry,
            stall_seconds=4 * settings.max_backoff_seconds + 60,
        )

    def stop(self, *_: Any) -> None:
        self.running = False

    def maybe_rollover(self) -> str | None:
        """Roll the hit index over if its conditions are met (``RADAR_ES_ROLLOVER_MAX_SIZE``...;
        every matcher checks every ``ROLLOVER_CHECK_SECONDS``). A failure is logged and
        counted, never fatal: the current write index keeps taking hits."""
        rollover = getattr(self.hit_store, "rollover", None)
        if rollover is None:
            return None
        try:
            return rollover()
        except StoreError as exc:
            self.metrics.hit_store_errors.inc()
            log.warning("hit index rollover failed: %s", exc)
            return None

    def _deliver(self, batches: Sequence[tuple[Origin, Batch]], where: str) -> None:
        """Everything that must succeed before the batch's offsets may be committed: the
        hits stored first, then (once stored) the dead letters and hit events, each once."""
        try:
            self.hit_store.upsert_hits([hit for _, batch in batches for hit in batch.hits])
        except Exception:
            self.metrics.hit_store_errors.inc()
            raise
        events: list[tuple[Origin, str, str, bytes]] = []
        for origin, batch in batches:
            events += [
                (origin, REJECTED_TOPIC, key, dead_letter(key, raw, reason, where))
                for key, raw, reason in batch.dead
            ]
            events += [
                (origin, HITS_TOPIC, hit.id, json.dumps(hit_event(hit)).encode())
                for hit in batch.hits
            ]
        self.published.publish(self.bus, events)

    def run_once(self) -> int:
        """Poll and process one batch; return the number of records handled."""
        polled = self.consumer.poll(timeout_ms=int(self.settings.poll_seconds * 1000))
        if not polled:
            return 0
        messages: list[tuple[Origin, str, bytes]] = []
        first: dict[Any, int] = {}
        last: dict[Any, int] = {}
        for tp, records in polled.items():
            first[tp], last[tp] = records[0].offset, records[-1].offset
            messages += [
                # A key that is not UTF-8 must not stop the loop before the record is read.
                ((tp, r.offset), r.key.decode("utf-8", "replace") if r.key else "", r.value or b"")
                for r in records
            ]
        try:
            batches = [
                (origin, self.worker.process([(key, value)])) for origin, key, value in messages
            ]
            self._deliver(batches, f"{HASHES_TOPIC}")
            self.consumer.commit({tp: OffsetAndMetadata(o + 1, "", -1) for tp, o in last.items()})
        except Exception as exc:
            self.failures += 1
            self.metrics.batch_retries.inc()
            backoff = min(self.settings.max_backoff_seconds, 0.5 * 2 ** min(self.failures, 10))
            log.warning(
                "batch of %d not committed (%s); retrying in %.1fs", len(messages), exc, backoff
            )
            for tp, offset in first.items():
                self.consumer.seek(tp, offset)
            time.sleep(backoff)
            return 0
        self.published.committed({tp: o + 1 for tp, o in last.items()})
        self.failures = 0
        for _, batch in batches:
            self.worker.count_written(batch)
        return len(messages)

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        log.info(
            "matcher up: group %s, bank of %d hashes", self.settings.group_id, len(self.worker.bank)
        )
        self.health.start()
        rolled_at = 0.0
        try:
            while self.running:
                self.health.beat()
                self.run_once()
                self.metrics.lag.refresh(self.consumer)  # at most every 10 s
                if time.monotonic() - rolled_at >= ROLLOVER_CHECK_SECONDS:
                    rolled_at = time.monotonic()
                    self.maybe_rollover()
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

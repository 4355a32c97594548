"""The matcher service's loop without a broker: poison records become dead letters with a
reason and the batch is committed (issue 12, row 5); a retried batch publishes each dead
letter and hit event once (row 14); an outage of the bank or the hit store still retries.

The consumer and the bus are small fakes with Kafka's interface; the hit store and the
bank are a real SQLite store. The loop against real Kafka and Elasticsearch is
``tests/integration/test_distributed.py``.
"""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import Future
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from kafka.structs import TopicPartition

import store
from bus.kafka import KafkaSettings
from hashing import MatchRule, hash_file
from matcher.service import MatcherService, MatcherSettings, Published
from store.elastic import ElasticSettings
from tests.wire.test_records import POISON, VALID
from wire import HITS_TOPIC, REJECTED_TOPIC, HashRecord

TP = TopicPartition("images.hashed.v1", 0)


class FakeConsumer:
    """One partition over a fixed log: poll from the position, seek, commit."""

    def __init__(self, log: list[tuple[bytes | None, bytes | None]], batch_size: int = 100):
        self.log = log
        self.batch_size = batch_size
        self.position = 0
        self.committed: list[int] = []
        self.fail_commits = 0

    def poll(self, timeout_ms: int) -> dict[TopicPartition, list[Any]]:
        chunk = self.log[self.position : self.position + self.batch_size]
        if not chunk:
            return {}
        records = [
            SimpleNamespace(offset=self.position + i, key=key, value=value)
            for i, (key, value) in enumerate(chunk)
        ]
        self.position += len(chunk)
        return {TP: records}

    def seek(self, tp: TopicPartition, offset: int) -> None:
        assert tp == TP
        self.position = offset

    def commit(self, offsets: dict[TopicPartition, Any]) -> None:
        if self.fail_commits:
            self.fail_commits -= 1
            raise RuntimeError("CommitFailedError: the group rebalanced")
        self.committed.append(offsets[TP].offset)


class FakeBus:
    """Records every accepted send; ``fail_at`` lists send numbers (1-based, counted over
    the bus's life) that fail: ``raise`` at send time or a ``future`` that fails."""

    def __init__(self, fail_at: dict[int, str] | None = None) -> None:
        self.sent: list[tuple[str, str, bytes]] = []
        self.calls = 0
        self.fail_at = fail_at or {}

    def send(self, topic: str, key: str, value: bytes) -> Future[None]:
        self.calls += 1
        done: Future[None] = Future()
        how = self.fail_at.get(self.calls)
        if how == "raise":
            raise TimeoutError("Kafka has not acknowledged for 60s")
        if how == "future":
            done.set_exception(OSError("broker went away"))
            return done
        self.sent.append((topic, key, value))
        done.set_result(None)
        return done

    def on(self, topic: str) -> list[dict[str, Any]]:
        return [json.loads(value) for t, _key, value in self.sent if t == topic]

    def close(self) -> None:
        pass


class FlakyStore:
    """The SQLite store as hit store, refusing the first ``failures`` writes."""

    def __init__(self, db: store.SqlStore, failures: int = 0) -> None:
        self.db = db
        self.failures = failures

    def upsert_hits(self, hits: Any) -> None:
        if self.failures:
            self.failures -= 1
            raise store.StoreError("Elasticsearch write failed: connection refused")
        self.db.upsert_hits(hits)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


@pytest.fixture
def db(tmp_store: store.SqlStore, kodak: list[Path]) -> store.SqlStore:
    hashes = hash_file(kodak[0])
    tmp_store.create_case(store.Case("c", "case", MatchRule()))
    tmp_store.add_references(
        "c",
        [
            store.Reference("c", "k01", "pdq", hashes.pdq.hex, hashes.pdq_quality),
            store.Reference("c", "k01", "phash", hashes.phash.hex, hashes.pdq_quality),
        ],
    )
    return tmp_store


def matching(db: store.SqlStore, n: int) -> bytes:
    """A record whose hashes are the reference's own: one hit each."""
    [pdq] = [r.hash for r in db.references("c") if r.algorithm == "pdq"]
    [phash] = [r.hash for r in db.references("c") if r.algorithm == "phash"]
    return json.dumps(
        {**VALID, "image_url": f"https://ok.example/{n}.jpg", "pdq": pdq, "phash": phash}
    ).encode()


def service(
    db: store.SqlStore,
    log: list[tuple[bytes | None, bytes | None]],
    bus: FakeBus,
    hit_failures: int = 0,
) -> tuple[MatcherService, FakeConsumer]:
    fake = FakeConsumer(log)
    settings = MatcherSettings(
        kafka=KafkaSettings(), elastic=ElasticSettings(), max_backoff_seconds=0
    )
    made = MatcherService(
        settings,
        hit_store=FlakyStore(db, hit_failures),
        feed=db,  # type: ignore[arg-type]  # the case store is a bank source too
        bus=bus,  # type: ignore[arg-type]
        consumer=fake,
    )
    return made, fake


def test_poison_records_become_dead_letters_and_the_batch_is_committed(
    db: store.SqlStore,
) -> None:
    poison = [(b"poison.example", value) for value in POISON.values()]
    poison += [(b"\xff\xfe not utf-8 key", b"{}"), (None, None)]  # and a tombstone
    log = [(b"ok.example", matching(db, 0)), *poison, (b"ok.example", matching(db, 1))]
    bus = FakeBus()
    matcher, fake = service(db, log, bus)

    assert matcher.run_once() == len(log)
    assert fake.committed == [len(log)], "the batch was not committed"
    assert matcher.failures == 0
    assert {h.image_url for h in db.hits()} == {
        "https://ok.example/0.jpg",
        "https://ok.example/1.jpg",
    }
    letters = bus.on(REJECTED_TOPIC)
    assert len(letters) == len(poison)
    by_value = {letter["value"]: letter["reason"] for letter in letters}
    ipv6 = POISON["ipv6-bracket-image-url"].decode()
    assert by_value[ipv6].startswith("field 'image_url' is not an http(s) URL")
    deep = POISON["deeply-nested-json"][:65536].decode()
    assert by_value[deep] == "not JSON: nested too deeply"
    assert by_value[POISON["4301-digit-integer"].decode()].startswith("not JSON: Exceeds")
    assert all(letter["reason"] for letter in letters)
    assert {letter["key"] for letter in letters} >= {"poison.example", "\ufffd\ufffd not utf-8 key"}
    assert len(bus.on(HITS_TOPIC)) == 2
    assert matcher.worker.stats["dead_letters"] == len(poison)


def test_a_parser_bug_is_a_dead_letter_not_a_retry(
    db: store.SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    parse = HashRecord.from_json

    def buggy(raw: bytes) -> HashRecord:
        if b"buggy" in raw:
            raise IndexError("list index out of range")
        return parse(raw)

    monkeypatch.setattr(HashRecord, "from_json", staticmethod(buggy))
    bus = FakeBus()
    matcher, fake = service(db, [(b"k", b'{"buggy": 1}'), (b"k", matching(db, 0))], bus)
    assert matcher.run_once() == 2
    assert fake.committed == [2]
    [letter] = bus.on(REJECTED_TOPIC)
    assert letter["reason"] == "unreadable record: IndexError: list index out of range"
    assert len(db.hits()) == 1


def test_an_outage_of_the_bank_source_is_retried_not_dead_lettered(
    db: store.SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus = FakeBus()
    matcher, fake = service(db, [(b"k", matching(db, 0))], bus)
    with monkeypatch.context() as patch:
        patch.setattr(db, "bank_version", lambda: (_ for _ in ()).throw(OSError("bank down")))
        assert matcher.run_once() == 0
    assert (fake.committed, bus.sent, fake.position) == ([], [], 0)
    assert matcher.failures == 1
    assert matcher.run_once() == 1
    assert fake.committed == [1] and len(bus.on(HITS_TOPIC)) == 1 and not bus.on(REJECTED_TOPIC)


def test_a_hit_store_outage_publishes_nothing_until_the_hits_are_stored(
    db: store.SqlStore,
) -> None:
    bus = FakeBus()
    log = [(b"k", b"not json"), (b"k", matching(db, 0))]
    matcher, fake = service(db, log, bus, hit_failures=2)
    assert matcher.run_once() == 0 and matcher.run_once() == 0
    assert (bus.sent, fake.committed) == ([], [])
    assert matcher.run_once() == 2
    assert fake.committed == [2]
    assert len(bus.on(REJECTED_TOPIC)) == 1 and len(bus.on(HITS_TOPIC)) == 1


def published_once(bus: FakeBus) -> Counter[tuple[str, str, str]]:
    """How often each event went out, by (topic, key, what it is about)."""
    return Counter(
        (topic, key, json.loads(value).get("value") or json.loads(value).get("image_url"))
        for topic, key, value in bus.sent
    )


@pytest.mark.parametrize(
    "failure",
    ["send-raises", "delivery-fails", "last-delivery-fails", "commit-fails"],
)
def test_a_retried_batch_publishes_each_event_once(db: store.SqlStore, failure: str) -> None:
    log = [
        (b"ok.example", matching(db, 0)),
        (b"bad.example", b"not json"),
        (b"ok.example", matching(db, 1)),
        (b"bad.example", b'{"schema_version": 1}'),
        (b"ok.example", matching(db, 2)),
    ]
    # Five events (2 dead letters, 3 hit events); one of them fails on the first attempt.
    fail_at = {
        "send-raises": {3: "raise"},
        "delivery-fails": {2: "future"},
        "last-delivery-fails": {5: "future"},
        "commit-fails": {},
    }[failure]
    bus = FakeBus(fail_at)
    matcher, fake = service(db, log, bus)
    fake.fail_commits = 1 if failure == "commit-fails" else 0

    assert matcher.run_once() == 0, "the failure should have stopped the commit"
    assert fake.committed == [] and fake.position == 0
    assert matcher.run_once() == len(log)
    assert fake.committed == [len(log)]

    counts = published_once(bus)
    assert len(bus.on(REJECTED_TOPIC)) == 2 and len(bus.on(HITS_TOPIC)) == 3
    assert set(counts.values()) == {1}, f"published more than once: {counts}"
    assert len(matcher.published) == 0, "committed offsets are forgotten"
    assert {h.seen_count for h in db.hits()} == {1} and len(db.hits()) == 3


def test_published_remembers_per_offset_until_committed() -> None:
    bus = FakeBus()
    ledger = Published()
    events = [((TP, 4), "t", "k", b"{}"), ((TP, 5), "t", "k", b"{}")]
    ledger.publish(bus, events)  # type: ignore[arg-type]
    ledger.publish(bus, events)  # type: ignore[arg-type]
    assert len(bus.sent) == 2 and len(ledger) == 2
    ledger.committed({TP: 5})  # offset 4 is committed, 5 is not
    assert len(ledger) == 1
    ledger.publish(bus, events)  # type: ignore[arg-type]
    assert len(bus.sent) == 3  # offset 4 was forgotten once committed


def test_a_failed_rollover_is_counted_and_matching_goes_on(db: store.SqlStore) -> None:
    """The hit store refuses to roll over: the matcher logs and counts it and returns;
    a store without rollover (SQLite) is left alone."""
    matcher, _ = service(db, [], FakeBus())
    assert matcher.maybe_rollover() is None  # FlakyStore over SQLite: no rollover

    class Refusing:
        def rollover(self) -> str | None:
            raise store.StoreError("cluster read-only")

    matcher.hit_store = Refusing()  # type: ignore[assignment]
    before = matcher.metrics.hit_store_errors._value.get()
    assert matcher.maybe_rollover() is None
    assert matcher.metrics.hit_store_errors._value.get() == before + 1

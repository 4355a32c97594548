"""The distributed mode against real Kafka and Elasticsearch, with real processes."""

from __future__ import annotations

import io
import random
import signal
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from PIL import Image

from crawler.storage import CrawlStore
from devservers import servers as local_servers
from devservers.servers import Servers
from hashing import hash_bytes, hash_file
from matcher import Bank
from radar.demo.run import expectations
from radar.demo.site import DemoServer, build_site, find_photos
from tests.integration.stack import Stack, wait_until
from wire import FRONTIER_TOPIC, HASHES_TOPIC, REJECTED_TOPIC, HashRecord, utc_now

PARTITIONS = 4


@pytest.fixture
def stack(servers: Servers, tmp_path: Path, postgres_db: str) -> Iterator[Stack]:
    s = Stack(servers, tmp_path, PARTITIONS, db=postgres_db)  # the store of every role
    yield s
    s.stop()


def record(image_url: str, photo_hashes: object | None = None, seed: int = 0) -> HashRecord:
    """A hashed-image record: of a given picture's hashes, or of random unrelated ones."""
    if photo_hashes is None:
        rng = random.Random(seed)
        pdq, phash, quality = rng.randbytes(32).hex(), rng.randbytes(8).hex(), 100
    else:
        pdq, phash = photo_hashes.pdq.hex, photo_hashes.phash.hex  # type: ignore[attr-defined]
        quality = photo_hashes.pdq_quality  # type: ignore[attr-defined]
    site = urlsplit(image_url).hostname or ""
    return HashRecord(
        image_url=image_url,
        page_url=f"https://{site}/page",
        site=site,
        case_id="c",
        target_id=1,
        fetched_at=utc_now(),
        http_status=200,
        content_sha256="0" * 64,
        width=500,
        height=500,
        pdq=pdq,
        pdq_quality=quality,
        phash=phash,
    )


def jpeg_copy(path: Path, quality: int = 60) -> object:
    buffer = io.BytesIO()
    Image.open(path).convert("RGB").save(buffer, "JPEG", quality=quality)
    return hash_bytes(buffer.getvalue())


def committed(stack: Stack, group: str) -> int:
    admin = KafkaAdminClient(**stack.kafka.client_kwargs())
    try:
        offsets = admin.list_consumer_group_offsets(group)
    finally:
        admin.close()
    return sum(
        o.offset
        for tp, o in offsets.items()
        if tp.topic == stack.kafka.topic(HASHES_TOPIC) and o.offset > 0
    )


def members(stack: Stack, group: str) -> int:
    admin = KafkaAdminClient(**stack.kafka.client_kwargs())
    try:
        [description] = admin.describe_consumer_groups([group])
    finally:
        admin.close()
    return len(description.members) if description.state == "Stable" else 0


def case_with(stack: Stack, photos: list[Path]) -> None:
    stack.radar("case", "create", "c")
    stack.radar("case", "add-references", "c", *map(str, photos))
    stack.radar("bank-sync", "c")


def test_end_to_end_two_crawlers_two_matchers(stack: Stack, shared_images: Path) -> None:
    site = build_site(find_photos(shared_images))
    with DemoServer(site) as server:
        stack.radar("case", "create", "demo")
        stack.radar("case", "add-references", "demo", *map(str, site.references.values()))
        stack.radar("case", "add-target", "demo", server.base_url + "/", "--max-depth", "4")
        stack.radar("bank-sync", "demo")
        db = CrawlStore(stack.env["RADAR_DB"])
        bank = Bank(db.list_cases(), db.references())
        expected = {
            (path, next(p.reference_label for p in site.planted if p.path == path))
            for path, e in expectations(site, bank).items()
            if e["matchable"]
        }
        for _ in range(2):
            stack.start("matcher")
            stack.start("crawler")
        stack.radar("seed", "demo")

        def found() -> set[tuple[str, str]]:
            return {(urlsplit(h.image_url).path, h.reference_label) for h in stack.all_hits()}

        wait_until(
            lambda: found() >= expected, 240, lambda: f"{len(expected)} hits\n{stack.logs()}"
        )
        wait_until(
            lambda: committed(stack, stack.env["RADAR_MATCHER_GROUP"]) >= 50,
            60,
            "the matchers to commit every record",
        )
        hits = stack.all_hits()
        assert found() == expected, "a hit that is not a planted, matchable copy"
        # One round, each image one sighting, even when a rebalance handed a page to the
        # other crawler before its offset was committed (it is then fetched twice).
        assert len(hits) == len(expected) and {h.seen_count for h in hits} == {1}
        [target] = db.targets("demo")
        [round_id] = {h.crawl_id for h in hits}
        assert round_id.startswith(f"{target.id}@")
        assert server.requests["/admin/"] == 0
        # The crawlers kept each hit's evidence in the shared store; a lawyer finds it by
        # the hit id the review app shows (the hit itself is in Elasticsearch).
        for hit in hits:
            shown = stack.radar("evidence", hit.id, "--elasticsearch").stdout
            assert f"sha256 {hit.content_sha256}" in shown, shown
            assert f"page       {hit.page_url}" in shown, shown


def test_schedule_run_seeds_the_frontier_in_the_distributed_mode(stack: Stack) -> None:
    """The scheduler CronJob's `radar schedule run`, with RADAR_KAFKA_BOOTSTRAP set as in
    the pod, queues each due target's seed page for the crawlers (its pod has no internet
    to crawl from) and records the round, so the next run finds nothing due."""
    stack.radar("case", "create", "c")
    stack.radar("case", "add-target", "c", "https://a.example/start", "--max-depth", "1")
    [target] = CrawlStore(stack.env["RADAR_DB"]).targets("c")
    first = stack.radar("schedule", "run")
    assert "seeded 1 of 1 due targets on the crawl frontier" in first.stdout
    seeds = wait_until(lambda: stack.topic_records(FRONTIER_TOPIC), 60, "the seed page")
    assert [(s["url"], s["target_id"], s["depth"]) for s in seeds] == [
        ("https://a.example/start", target.id, 0)
    ]
    assert seeds[0]["crawl_id"].startswith(f"{target.id}@")
    again = stack.radar("schedule", "run")
    assert "seeded 0 of 0 due targets" in again.stdout


def test_matcher_killed_mid_stream_loses_and_duplicates_nothing(
    stack: Stack, kodak: list[Path]
) -> None:
    case_with(stack, kodak[:3])
    copies = [jpeg_copy(p) for p in kodak[:3]]
    for i in range(300):
        hashes = copies[i % 3] if i % 3 == 0 else None
        r = record(f"https://site{i % 7}.example/img/{i}.jpg", hashes, seed=i)
        stack.bus.send(HASHES_TOPIC, r.key, r.to_json())
    stack.bus.flush()
    matcher = stack.start("matcher", RADAR_MATCHER_BATCH="5")
    wait_until(lambda: len(stack.all_hits()) >= 15, 120, "the first hits")
    stack.kill(matcher, signal.SIGKILL)
    assert len(stack.all_hits()) < 100, "killed too late to test anything"
    stack.start("matcher", RADAR_MATCHER_BATCH="5")
    wait_until(lambda: len(stack.all_hits()) == 100, 180, lambda: f"100 hits\n{stack.logs()}")
    hits = stack.all_hits()
    assert sorted(int(h.image_url.rsplit("/", 1)[1][:-4]) for h in hits) == list(range(0, 300, 3))
    assert {h.seen_count for h in hits} == {1} and {h.reference_label for h in hits} == {
        p.stem for p in kodak[:1]
    }


def test_elasticsearch_outage_stops_commits_and_catches_up(stack: Stack, kodak: list[Path]) -> None:
    case_with(stack, kodak[:1])
    copy = jpeg_copy(kodak[0])
    group = stack.env["RADAR_MATCHER_GROUP"]

    def publish(start: int, n: int) -> None:
        for i in range(start, start + n):
            r = record(f"https://s{i % 5}.example/{i}.jpg", copy if i % 2 else None, seed=i)
            stack.bus.send(HASHES_TOPIC, r.key, r.to_json())
        stack.bus.flush()

    stack.start("matcher")
    publish(0, 40)
    wait_until(
        lambda: len(stack.all_hits()) == 20 and committed(stack, group) == 40,
        120,
        "the first 20 hits",
    )
    local_servers.stop_elasticsearch()
    try:
        publish(40, 40)
        wait_until(lambda: "not committed" in stack.logs(), 60, "the matcher to back off")
        assert committed(stack, group) == 40, "committed although the hits were not stored"
    finally:
        local_servers.start_elasticsearch()
    wait_until(
        lambda: len(stack.all_hits()) == 40 and committed(stack, group) == 80,
        180,
        f"catching up\n{stack.logs()}",
    )
    assert {h.seen_count for h in stack.all_hits()} == {1}


def test_malformed_records_go_to_the_dead_letter_topic(stack: Stack, kodak: list[Path]) -> None:
    case_with(stack, kodak[:1])
    copy = jpeg_copy(kodak[0])
    good = [record(f"https://ok.example/{i}.jpg", copy) for i in range(2)]
    bad = [
        b"not json at all",
        b'{"schema_version": 1}',
        good[0].to_json().replace(b'"schema_version":1', b'"schema_version":7'),
    ]
    for value in (good[0].to_json(), *bad, good[1].to_json()):
        stack.bus.send(HASHES_TOPIC, "ok.example", value)
    stack.bus.flush()
    stack.start("matcher")
    wait_until(lambda: len(stack.all_hits()) == 2, 120, lambda: f"2 hits\n{stack.logs()}")
    letters = wait_until(lambda: stack.topic_records(REJECTED_TOPIC), 60, "dead letters")
    reasons = sorted(letter["reason"] for letter in letters)
    assert len(letters) == 3
    assert reasons[0] == "missing field 'image_url'" and reasons[1].startswith("not JSON")
    assert reasons[2] == "unsupported schema_version 7 (this build reads 1)"
    assert {letter["value"] for letter in letters} == {b.decode() for b in bad}


def test_reference_added_while_running_reaches_every_replica(
    stack: Stack, kodak: list[Path]
) -> None:
    case_with(stack, kodak[:1])
    newcomer = kodak[5]
    copy = jpeg_copy(newcomer)
    producer = KafkaProducer(**stack.kafka.client_kwargs(), acks="all")
    topic = stack.kafka.topic(HASHES_TOPIC)
    group = stack.env["RADAR_MATCHER_GROUP"]

    def publish(tag: str) -> None:
        for i in range(2 * PARTITIONS):  # two records in every partition
            r = record(f"https://p{i}.example/{tag}-{i}.jpg", copy)
            producer.send(topic, key=r.key.encode(), value=r.to_json(), partition=i % PARTITIONS)
        producer.flush()

    stack.start("matcher")
    stack.start("matcher")
    wait_until(lambda: members(stack, group) == 2, 120, "both replicas in the group")
    publish("before")
    wait_until(lambda: committed(stack, group) == 2 * PARTITIONS, 120, "the first records")
    assert stack.all_hits() == [], "matched before the reference existed"

    stack.radar("case", "add-references", "c", str(newcomer))
    stack.radar("bank-sync", "c")
    publish("after")
    wait_until(
        lambda: len(stack.all_hits()) == 2 * PARTITIONS, 120, lambda: f"hits\n{stack.logs()}"
    )
    hits = stack.all_hits()
    assert {h.reference_label for h in hits} == {newcomer.stem}
    assert all("/after-" in h.image_url for h in hits)
    assert hash_file(newcomer).pdq - copy.pdq <= 31  # type: ignore[attr-defined]
    producer.close()


def _hash_topic_limit(stack: Stack, max_bytes: int | None) -> None:
    """Make the broker refuse every hash record (a tiny ``max.message.bytes``), or lift it."""
    from kafka.admin import ConfigResource, ConfigResourceType

    admin = KafkaAdminClient(**stack.kafka.client_kwargs())
    try:
        value = str(max_bytes) if max_bytes is not None else "1048588"
        topic = stack.kafka.topic(HASHES_TOPIC)
        resource = ConfigResource(ConfigResourceType.TOPIC, topic, {"max.message.bytes": value})
        admin.alter_configs([resource])
    finally:
        admin.close()


def test_refused_hash_records_are_sent_again_not_lost(stack: Stack, shared_images: Path) -> None:
    """Kafka refusing the crawler's hash records must not count the images as done: the
    pages stay uncommitted and the records go out once Kafka takes them again, in the same
    round (no re-seed), so every planted copy is still found."""
    site = build_site(find_photos(shared_images))
    with DemoServer(site) as server:
        stack.radar("case", "create", "demo")
        stack.radar("case", "add-references", "demo", *map(str, site.references.values()))
        stack.radar("case", "add-target", "demo", server.base_url + "/", "--max-depth", "4")
        stack.radar("bank-sync", "demo")
        db = CrawlStore(stack.env["RADAR_DB"])
        bank = Bank(db.list_cases(), db.references())
        expected = {path for path, e in expectations(site, bank).items() if e["matchable"]}
        _hash_topic_limit(stack, 64)
        try:
            stack.start("matcher")
            stack.start("crawler")
            stack.radar("seed", "demo")
            wait_until(
                lambda: stack.logs().count("Kafka refused a images.hashed.v1 record") >= 5,
                180,
                f"the crawler to see refusals\n{stack.logs()}",
            )
            assert stack.all_hits() == []
        finally:
            _hash_topic_limit(stack, None)

        def found() -> set[str]:
            return {urlsplit(h.image_url).path for h in stack.all_hits()}

        wait_until(
            lambda: found() >= expected, 240, lambda: f"{len(expected)} hits\n{stack.logs()}"
        )
        assert found() == expected

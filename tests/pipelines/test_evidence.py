"""The evidence pipeline and the hashing pipeline's pass-through for unchanged images."""

from __future__ import annotations

import asyncio
import io
from collections import Counter
from pathlib import Path
from typing import Any

from PIL import Image

from crawler.items import ImageItem, PageSeen
from hashing import DecodeLimits, ImageHashes, MatchRule, PdqHash, PHash, hash_bytes, hash_file
from pipelines.evidence import EvidencePipeline, evidence_of
from pipelines.hashing import HashPipeline
from store.evidence import Evidence
from tests.pipelines.fakes import Stats
from wire import HashRecord


def recompressed(path: Path) -> bytes:
    buffer = io.BytesIO()
    Image.open(path).convert("RGB").save(buffer, "JPEG", quality=60)
    return buffer.getvalue()


HASHES = ImageHashes(PdqHash(bytes(32)), 80, PHash(bytes(8)), 640, 480, "ab" * 32)


def item(**kwargs: Any) -> ImageItem:
    page = PageSeen(
        url="https://a.test/p",
        final_url="https://a.test/p?x",
        status=200,
        headers={"Content-Type": "text/html"},
        title="A page",
        sha256="cd" * 32,
        fetched_at="2026-11-23T10:00:00Z",
        html="<img src=/i.jpg>",
    )
    defaults: dict[str, Any] = {
        "image_url": "https://a.test/i.jpg",
        "page_url": "https://a.test/p?x",
        "site": "a.test",
        "case_id": "c1",
        "target_id": 1,
        "http_status": 200,
        "fetched_at": "2026-11-23T10:00:01Z",
        "how": "img",
        "hashes": HASHES,
        "fetched_url": "https://a.test/i.jpg",
        "final_url": "https://cdn.test/i.jpg",
        "redirects": ("https://cdn.test/i.jpg",),
        "headers": {"Content-Type": "image/jpeg"},
        "page": page,
    }
    return ImageItem(**{**defaults, **kwargs})


def test_evidence_of_an_item_names_the_image_never_holds_it() -> None:
    evidence = evidence_of(item(body=b"\xff\xd8 image bytes"))
    assert evidence.final_url == "https://cdn.test/i.jpg"
    assert evidence.page_title == "A page" and evidence.page_sha256 == "cd" * 32
    assert evidence.content_sha256 == HASHES.sha256
    assert "image bytes" not in repr(evidence.to_dict())


def test_pipeline_hands_evidence_to_the_sink_and_drops_the_page() -> None:
    captured: list[tuple[Evidence, str | None, HashRecord]] = []

    class Sink:
        def capture(self, evidence: Evidence, html: str | None, record: HashRecord) -> bool:
            captured.append((evidence, html, record))
            return True

    stats = Stats()
    done = EvidencePipeline(stats, sink=Sink()).process_item(item())
    assert done.page is None and stats.values["radar/evidence_kept"] == 1
    ((evidence, html, record),) = captured
    assert html == "<img src=/i.jpg>" and evidence.http_status == 200
    assert (record.image_url, record.pdq) == (evidence.image_url, HASHES.pdq.hex)


def test_unchanged_items_pass_the_hash_pipeline_without_bytes() -> None:
    stats = Stats()
    pipeline = HashPipeline(stats, DecodeLimits(), cache_size=10)
    unchanged = item(unchanged=True, http_status=304)
    assert asyncio.run(pipeline.process_item(unchanged)).hashes is HASHES
    assert stats.values == Counter({"radar/hash_skipped_unchanged": 1})


def test_the_distributed_crawler_keeps_evidence_of_exactly_the_sightings_that_match(
    service_db: str, kodak: list[Path]
) -> None:
    """MatchedEvidence (the crawler with RADAR_DB) keeps what the matchers will hit on:
    a re-encoded copy of a case's reference is kept in the shared store, with its page;
    an unrelated photo and the same copy found for another case are not; a reference
    added later counts once the bank version moves."""
    from crawler.storage import CrawlStore
    from pipelines.evidence import MatchedEvidence
    from store import Case, Reference

    db = CrawlStore(service_db)
    for case_id in ("c1", "c2"):
        db.create_case(Case(case_id, case_id, MatchRule()))
    ref = hash_file(kodak[4])
    db.add_references("c1", [Reference("c1", "k05", "pdq", ref.pdq.hex, ref.pdq_quality)])
    sink = MatchedEvidence(db, bank_check_seconds=0)
    pipeline = EvidencePipeline(Stats(), sink=sink)
    copy = hash_bytes(recompressed(kodak[4]), DecodeLimits())
    other = hash_bytes(recompressed(kodak[9]), DecodeLimits())
    pipeline.process_item(item(hashes=copy, image_url="https://a.test/copy.jpg"))
    pipeline.process_item(item(hashes=other, image_url="https://a.test/other.jpg"))
    pipeline.process_item(item(hashes=copy, image_url="https://a.test/c2.jpg", case_id="c2"))
    kept = db.evidence(image_url="https://a.test/copy.jpg")
    assert [(e.case_id, e.content_sha256) for e in kept] == [("c1", copy.sha256)]
    assert db.page_snapshot(kept[0].page_sha256) is not None
    assert not db.evidence(image_url="https://a.test/other.jpg")
    assert not db.evidence(image_url="https://a.test/c2.jpg")
    later = hash_file(kodak[9])
    db.add_references("c1", [Reference("c1", "k10", "pdq", later.pdq.hex, later.pdq_quality)])
    pipeline.process_item(item(hashes=other, image_url="https://a.test/other.jpg"))
    assert len(db.evidence(image_url="https://a.test/other.jpg")) == 1

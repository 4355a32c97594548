"""The evidence pipeline and the hashing pipeline's pass-through for unchanged images."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from crawler.items import ImageItem, PageSeen
from hashing import DecodeLimits, ImageHashes, PdqHash, PHash
from pipelines.evidence import EvidencePipeline, evidence_of
from pipelines.hashing import HashPipeline
from store.evidence import Evidence
from tests.pipelines.fakes import Stats

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
    captured: list[tuple[Evidence, str | None]] = []

    class Sink:
        def capture(self, evidence: Evidence, html: str | None) -> bool:
            captured.append((evidence, html))
            return True

    stats = Stats()
    done = EvidencePipeline(stats, sink=Sink()).process_item(item())
    assert done.page is None and stats.values["radar/evidence_kept"] == 1
    ((evidence, html),) = captured
    assert html == "<img src=/i.jpg>" and evidence.http_status == 200


def test_unchanged_items_pass_the_hash_pipeline_without_bytes() -> None:
    stats = Stats()
    pipeline = HashPipeline(stats, DecodeLimits(), cache_size=10)
    unchanged = item(unchanged=True, http_status=304)
    assert asyncio.run(pipeline.process_item(unchanged)).hashes is HASHES
    assert stats.values == Counter({"radar/hash_skipped_unchanged": 1})

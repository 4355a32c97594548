"""Remember each hashed image for incremental crawls, and hand its evidence on.

Runs after :class:`pipelines.publish.PublishPipeline`, so an item arrives here only once
its hash record was accepted by the bus. Settings:

``RADAR_STATE_STORE``
    a :class:`store.evidence.CrawlStateStore`: the image's validators and hashes are
    stored under its URL (or channel post key), so the next crawl can skip it.
``RADAR_EVIDENCE_SINK``
    an object with ``capture(evidence, page_html, record)``: receives the evidence of
    every published image with its hash record, and keeps those that became hits (the
    embedded crawl: :class:`radar.crawl.EvidenceKeeper`, told by the in-process match;
    the distributed crawler: :class:`MatchedEvidence`, which applies the matchers' rule
    to the case's bank in the shared store).

Without either setting the pipeline switches itself off. The page HTML travels with the
item until here; the image bytes were dropped by the hashing pipeline long before.
"""

from __future__ import annotations

from typing import Any

from scrapy.exceptions import NotConfigured

from crawler.incremental import image_state_of
from crawler.items import ImageItem
from pipelines.publish import record_of
from store.evidence import Evidence
from wire import HashRecord


def evidence_of(item: ImageItem) -> Evidence:
    """The evidence record of a hashed item; raise ValueError if it was not hashed."""
    if item.hashes is None:
        raise ValueError(f"{item.image_url} was not hashed")
    page = item.page
    return Evidence(
        case_id=item.case_id,
        target_id=item.target_id,
        image_url=item.image_url,
        fetched_url=item.fetched_url or item.image_url,
        final_url=item.final_url or item.fetched_url or item.image_url,
        page_url=item.page_url,
        fetched_at=item.fetched_at,
        http_status=item.http_status,
        content_sha256=item.hashes.sha256,
        headers=dict(item.headers),
        redirects=item.redirects,
        page_final_url=page.final_url if page else "",
        page_title=page.title if page else "",
        page_status=page.status if page else 0,
        page_headers=dict(page.headers) if page else {},
        page_sha256=page.sha256 if page else "",
        page_fetched_at=page.fetched_at if page else "",
        rendered=page.rendered if page else False,
    )


class EvidencePipeline:
    def __init__(self, stats: Any, state: Any = None, sink: Any = None) -> None:
        self.stats = stats
        self.state = state
        self.sink = sink

    @classmethod
    def from_crawler(cls, crawler: Any) -> EvidencePipeline:
        state = crawler.settings.get("RADAR_STATE_STORE")
        sink = crawler.settings.get("RADAR_EVIDENCE_SINK")
        if state is None and sink is None:
            raise NotConfigured  # nothing to remember or keep (quietly: no message)
        return cls(crawler.stats, state, sink)

    def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, ImageItem) or item.hashes is None:
            return item
        # A repeat (same_as) is not remembered: see pipelines.publish.
        if self.state is not None and not item.unchanged and not item.same_as:
            state = image_state_of(item)
            if state is not None:
                self.state.save_image_state(state)
        if self.sink is not None and not item.same_as:  # its first item brought the evidence
            page = item.page
            html = page.html if page is not None and page.html else None
            if self.sink.capture(evidence_of(item), html, record_of(item)):
                self.stats.inc_value("radar/evidence_kept")
        item.page = None  # the page HTML is no longer needed by this item
        return item


class MatchedEvidence:
    """The evidence sink of the distributed crawler (``RADAR_DB`` set): keeps a sighting's
    evidence in the shared store when its record matches its case's bank by the matchers'
    own rule (:class:`matcher.MatchWorker`, on the cases and references of that store), so
    every hit the matchers record has its evidence, as in the embedded crawl. The bank is
    reloaded when the store's bank version changes, checked at most every
    ``bank_check_seconds``; a reference added but not yet ``radar bank-sync``-ed may
    keep evidence a moment before the matchers hit on it."""

    def __init__(self, store: Any, bank_check_seconds: float = 30.0) -> None:
        from matcher import MatchWorker

        self.store = store
        self.worker = MatchWorker(store, store, bank_check_seconds=bank_check_seconds)

    def __deepcopy__(self, memo: dict[int, object]) -> object:
        return self  # travels in Scrapy's settings, which are deep-copied

    def capture(self, evidence: Evidence, page_html: str | None, record: HashRecord) -> bool:
        hits = self.worker.match(record)
        if not any(hit.case_id == evidence.case_id for hit in hits):
            return False
        self.store.save_evidence(evidence, page_html)
        return True

"""How a new sighting of a hit merges with the stored one: defined once, for every store.

A sighting is counted once: replaying a record (same fetch time) changes nothing, an
older record arriving late never rolls the evidence back, a newer one replaces the
evidence and counts, unless it comes from the crawl round of the stored sighting (a
page Kafka redelivered to another crawler after a rebalance, or an image two crawlers
reached from two pages of one round): that refreshes the evidence but is the same
sighting. The review status is never touched by a sighting.
"""

from __future__ import annotations

from dataclasses import replace

from wire import Hit

EVIDENCE = (
    "fetched_at",
    "http_status",
    "distance",
    "algorithm",
    "matches",
    "content_sha256",
    "page_url",
    "crawl_id",
)


def first_sighting(hit: Hit) -> Hit:
    """A hit as stored the first time it is seen."""
    seen = hit.last_seen or hit.fetched_at
    return replace(hit, first_seen=hit.first_seen or seen, last_seen=seen, seen_count=1)


def merge(stored: Hit, incoming: Hit) -> Hit | None:
    """The stored hit after ``incoming`` was seen, or None if nothing changes."""
    new = first_sighting(incoming)
    merged = stored
    if new.last_seen > stored.last_seen:
        merged = replace(
            merged,
            **{f: getattr(new, f) for f in EVIDENCE},
            last_seen=new.last_seen,
            seen_count=stored.seen_count + (not _same_round(stored, new)),
        )
    if new.first_seen < stored.first_seen:
        merged = replace(merged, first_seen=new.first_seen)
    return None if merged == stored else merged


def _same_round(stored: Hit, new: Hit) -> bool:
    return bool(new.crawl_id) and new.crawl_id == stored.crawl_id

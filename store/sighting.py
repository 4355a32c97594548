"""How a new sighting of a hit merges with the stored one: defined once, for every store.

A sighting is counted once: replaying a record (same fetch time) changes nothing, an
older record arriving late never rolls the evidence back, a newer one replaces the
evidence and counts. The review status is never touched by a sighting.
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
            seen_count=stored.seen_count + 1,
        )
    if new.first_seen < stored.first_seen:
        merged = replace(merged, first_seen=new.first_seen)
    return None if merged == stored else merged

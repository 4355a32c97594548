"""Topic names, ``<noun>.<event>.v<N>``, defined once. The version changes with the
record's ``schema_version``, so old and new producers never share a topic."""

from __future__ import annotations

HASHES_TOPIC = "images.hashed.v1"  # HashRecord, key: site. crawler -> matcher
REJECTED_TOPIC = "images.rejected.v1"  # dead letters: the raw record + reason. matcher -> people
HITS_TOPIC = "hits.matched.v1"  # hit event, key: hit id. matcher -> integrations (no consumer here)
BANK_TOPIC = "banks.changed.v1"  # BankEntry, compacted, key: entry key. CLI -> every matcher
FRONTIER_TOPIC = "pages.requested.v1"  # PageRequest, key: site. crawlers -> crawlers

COMPACTED_TOPICS = frozenset({BANK_TOPIC})
ALL_TOPICS = (HASHES_TOPIC, REJECTED_TOPIC, HITS_TOPIC, BANK_TOPIC, FRONTIER_TOPIC)

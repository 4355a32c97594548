"""Wire formats: every record that crosses a process boundary, defined once.

Each record carries ``schema_version``; topic names are ``<noun>.<event>.v<N>``. Records
hold hashes and provenance only, never image bytes. ``from_dict`` validates and raises
:class:`RecordError` with a reason fit for a dead-letter queue.
"""

from __future__ import annotations

from wire.bank import decode_bank_entry, encode_bank_entry
from wire.frontier import PageRequest, site_of
from wire.records import (
    SCHEMA_VERSION,
    HashRecord,
    Hit,
    MatchEvidence,
    RecordError,
    hit_id,
    utc_now,
)
from wire.topics import (
    ALL_TOPICS,
    BANK_TOPIC,
    COMPACTED_TOPICS,
    FRONTIER_TOPIC,
    HASHES_TOPIC,
    HITS_TOPIC,
    REJECTED_TOPIC,
)

__all__ = [
    "ALL_TOPICS",
    "BANK_TOPIC",
    "COMPACTED_TOPICS",
    "FRONTIER_TOPIC",
    "HASHES_TOPIC",
    "HITS_TOPIC",
    "REJECTED_TOPIC",
    "SCHEMA_VERSION",
    "HashRecord",
    "Hit",
    "MatchEvidence",
    "PageRequest",
    "RecordError",
    "decode_bank_entry",
    "encode_bank_entry",
    "hit_id",
    "site_of",
    "utc_now",
]

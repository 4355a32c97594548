"""Wire formats: every record that crosses a process boundary, defined once.

Each record carries ``schema_version``; topic names are ``<noun>.<event>.v<N>``. Records
hold hashes and provenance only, never image bytes. ``from_dict`` validates and raises
:class:`RecordError` with a reason fit for a dead-letter queue.
"""

from __future__ import annotations

from wire.records import (
    HASHES_TOPIC,
    HITS_TOPIC,
    SCHEMA_VERSION,
    HashRecord,
    Hit,
    MatchEvidence,
    RecordError,
    hit_id,
    utc_now,
)

__all__ = [
    "HASHES_TOPIC",
    "HITS_TOPIC",
    "SCHEMA_VERSION",
    "HashRecord",
    "Hit",
    "MatchEvidence",
    "RecordError",
    "hit_id",
    "utc_now",
]

"""The hashed-image record (crawler -> matcher) and the hit (matcher -> store), and the
field checks every record shares."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from hashing import PdqHash, PHash

SCHEMA_VERSION = 1
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class RecordError(ValueError):
    """A record that does not follow its schema; the message is the reason."""


def utc_now() -> str:
    """The current time as ISO 8601 UTC with second precision, e.g. 2026-11-23T02:43:43Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def require(data: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    if key not in data:
        raise RecordError(f"missing field {key!r}")
    value = data[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise RecordError(f"field {key!r} has the wrong type {type(value).__name__}")
    return value


def check_url(value: str, key: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RecordError(f"field {key!r} is not an http(s) URL: {value[:200]!r}")
    return value


def check_version(data: dict[str, Any]) -> None:
    version = require(data, "schema_version", int)
    if version != SCHEMA_VERSION:
        raise RecordError(f"unsupported schema_version {version} (this build reads 1)")


@dataclass(frozen=True, slots=True)
class HashRecord:
    """One fetched image, hashed: what the crawler publishes on ``images.hashed.v1``.

    ``pdq_trimmed`` / ``pdq_trimmed_quality``: PDQ of the image with its uniform borders
    trimmed (letterbox, frame, caption bar), present only when it has such borders. Both
    optional and left out of the JSON when absent, so schema version 1 readers and
    writers on either side of this addition still understand each other.
    """

    image_url: str
    page_url: str
    site: str
    case_id: str
    target_id: int
    fetched_at: str
    http_status: int
    content_sha256: str
    width: int
    height: int
    pdq: str
    pdq_quality: int
    phash: str
    schema_version: int = SCHEMA_VERSION
    pdq_trimmed: str | None = None
    pdq_trimmed_quality: int | None = None

    @property
    def key(self) -> str:
        """The partition key: one site's records stay in order."""
        return self.site

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for optional in ("pdq_trimmed", "pdq_trimmed_quality"):
            if data[optional] is None:
                del data[optional]
        return data

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_dict(cls, data: Any) -> HashRecord:
        if not isinstance(data, dict):
            raise RecordError("record is not a JSON object")
        check_version(data)
        record = cls(
            image_url=check_url(require(data, "image_url", str), "image_url"),
            page_url=check_url(require(data, "page_url", str), "page_url"),
            site=require(data, "site", str),
            case_id=require(data, "case_id", str),
            target_id=require(data, "target_id", int),
            fetched_at=require(data, "fetched_at", str),
            http_status=require(data, "http_status", int),
            content_sha256=require(data, "content_sha256", str),
            width=require(data, "width", int),
            height=require(data, "height", int),
            pdq=require(data, "pdq", str),
            pdq_quality=require(data, "pdq_quality", int),
            phash=require(data, "phash", str),
            pdq_trimmed=(
                require(data, "pdq_trimmed", str) if data.get("pdq_trimmed") is not None else None
            ),
            pdq_trimmed_quality=(
                require(data, "pdq_trimmed_quality", int)
                if data.get("pdq_trimmed_quality") is not None
                else None
            ),
        )
        try:
            PdqHash.from_hex(record.pdq)
            PHash.from_hex(record.phash)
            if record.pdq_trimmed is not None:
                PdqHash.from_hex(record.pdq_trimmed)
        except ValueError as exc:
            raise RecordError(str(exc)) from None
        if (record.pdq_trimmed is None) != (record.pdq_trimmed_quality is None):
            raise RecordError("fields 'pdq_trimmed' and 'pdq_trimmed_quality' come together")
        if record.pdq_trimmed_quality is not None and not 0 <= record.pdq_trimmed_quality <= 100:
            raise RecordError("field 'pdq_trimmed_quality' must be 0..100")
        if not _SHA256.match(record.content_sha256):
            raise RecordError("field 'content_sha256' is not a SHA-256 hex digest")
        if record.width < 0 or record.height < 0:
            raise RecordError("fields 'width' and 'height' must not be negative")
        if not 0 <= record.pdq_quality <= 100:
            raise RecordError("field 'pdq_quality' must be 0..100")
        return record

    @classmethod
    def from_json(cls, raw: bytes) -> HashRecord:
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RecordError(f"not JSON: {exc}") from None
        return cls.from_dict(data)


@dataclass(frozen=True, slots=True)
class MatchEvidence:
    """One hash comparison that matched: which algorithm, how far, against which variant."""

    algorithm: str
    distance: int
    variant: str = "original"


def hit_id(case_id: str, reference_label: str, image_url: str) -> str:
    """Deterministic hit id: a replay or a re-sighting overwrites instead of duplicating."""
    digest = hashlib.sha256(f"{case_id}\x00{reference_label}\x00{image_url}".encode())
    return digest.hexdigest()[:32]


@dataclass(slots=True)
class Hit:
    """A candidate image that matched a case's reference: the unit analysts review."""

    case_id: str
    reference_label: str
    algorithm: str
    distance: int
    image_url: str
    page_url: str
    site: str
    fetched_at: str
    http_status: int
    content_sha256: str
    matches: list[MatchEvidence] = field(default_factory=list)
    status: str = "pending"
    first_seen: str = ""
    last_seen: str = ""
    seen_count: int = 1
    schema_version: int = SCHEMA_VERSION

    @property
    def id(self) -> str:
        return hit_id(self.case_id, self.reference_label, self.image_url)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["id"] = self.id
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Hit:
        """The inverse of :meth:`to_dict` (``id`` is derived, so it is ignored)."""
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields["matches"] = [MatchEvidence(**m) for m in data.get("matches", [])]
        return cls(**fields)

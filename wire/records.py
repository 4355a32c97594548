"""The hashed-image record (crawler -> matcher) and the hit (matcher -> store), and the
field checks every record shares."""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import urlsplit

from hashing import PdqHash, PHash
from hashing.frames import VideoFrame, VideoHashes

SCHEMA_VERSION = 1
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP = "%Y-%m-%dT%H:%M:%SZ"
# Bounds on untrusted input. A record is a few hundred bytes (two URLs of at most 8 KiB
# each, see crawler.extract.MAX_URL_LENGTH); 64 KiB is also the dead letter's copy of the
# value, so a rejected record travels whole. Strings stay under Elasticsearch's keyword
# limit (32 KiB), integers inside a signed 64-bit column.
MAX_RECORD_BYTES = 64 * 1024
MAX_STRING_CHARS = 8192
# A video's frames in one record: 600 frames of ~75 characters stay under the record cap
# (ten minutes at vPDQ's one frame a second; repeated frames are dropped first).
MAX_VIDEO_FRAMES = 600
_MAX_INT = 2**63 - 1
_MAX_SIDE = 2**31 - 1
_URL_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f]")


class RecordError(ValueError):
    """A record that does not follow its schema; the message is the reason."""


def utc_now() -> str:
    """The current time as ISO 8601 UTC with second precision, e.g. 2026-11-23T02:43:43Z."""
    return datetime.now(UTC).strftime(_TIMESTAMP)


def parse_timestamp(value: str) -> datetime:
    """A time as :func:`utc_now` writes it, as an aware UTC datetime; ValueError if not."""
    return datetime.strptime(value, _TIMESTAMP).replace(tzinfo=UTC)


def require(data: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    """``data[key]`` if it is of ``kind``; raise RecordError naming the field otherwise.

    Strings must be valid Unicode (no lone surrogates: they cannot be encoded to UTF-8
    for a hit id or a store) of at most MAX_STRING_CHARS; integers (never booleans) are
    signed 64-bit, what Elasticsearch's ``long`` and SQLite hold (re-checks give their
    unsaved targets negative ids)."""
    if key not in data:
        raise RecordError(f"missing field {key!r}")
    value = data[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise RecordError(f"field {key!r} has the wrong type {type(value).__name__}")
    if isinstance(value, str):
        if len(value) > MAX_STRING_CHARS:
            raise RecordError(f"field {key!r} is longer than {MAX_STRING_CHARS} characters")
        try:
            value.encode()
        except UnicodeEncodeError:
            raise RecordError(f"field {key!r} is not valid Unicode") from None
    if isinstance(value, int) and not -_MAX_INT - 1 <= value <= _MAX_INT:
        raise RecordError(f"field {key!r} is out of the signed 64-bit range")
    return value


def valid_url(value: str) -> bool:
    """Whether ``value`` is an absolute http(s) URL with a host (no blank in it, a port in
    1..65535 if any) and no control characters: the URL rule of every record."""
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        ok = parts.scheme in ("http", "https") and bool(host) and " " not in host
        # .port raises ValueError for a port that is no number or > 65535; 0 is no port
        ok = ok and parts.port != 0
    except ValueError:  # e.g. an unclosed IPv6 bracket: "http://[::1/x"
        ok = False
    return ok and not _URL_FORBIDDEN.search(value)


def check_url(value: str, key: str) -> str:
    """``value`` if it meets :func:`valid_url`; RecordError naming ``key`` otherwise."""
    if not valid_url(value):
        raise RecordError(f"field {key!r} is not an http(s) URL: {value[:200]!r}")
    return value


def check_timestamp(value: str, key: str) -> str:
    """``value`` if it is a time as :func:`utc_now` writes it (what the stores index)."""
    try:
        datetime.strptime(value, _TIMESTAMP)
    except ValueError:
        raise RecordError(
            f"field {key!r} is not a UTC time like 2026-11-23T02:43:43Z: {value[:40]!r}"
        ) from None
    return value


def check_version(data: dict[str, Any]) -> None:
    version = require(data, "schema_version", int)
    if version != SCHEMA_VERSION:
        raise RecordError(f"unsupported schema_version {version} (this build reads 1)")


def _no_constant(name: str) -> Any:
    raise RecordError(f"not JSON: {name} is not a JSON number")


def loads(raw: Any) -> Any:
    """Parse untrusted JSON bytes; every failure is a RecordError with the reason.

    Refused: anything but bytes, more than MAX_RECORD_BYTES, bytes that are not UTF-8
    (JSON on the wire is UTF-8; Python's own detection would also read UTF-16/32), NaN and
    Infinity, integers over Python's 4,300-digit limit, and nesting too deep for the
    parser (RecursionError; the size cap bounds the work)."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise RecordError(f"record is {type(raw).__name__}, not bytes")
    if len(raw) > MAX_RECORD_BYTES:
        raise RecordError(f"record of {len(raw)} bytes is over the {MAX_RECORD_BYTES} cap")
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordError(f"not JSON: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecordError:
        raise
    except RecursionError:
        raise RecordError("not JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and int() over the digit limit
        raise RecordError(f"not JSON: {str(exc)[:200]}") from None


@dataclass(frozen=True, slots=True)
class HashRecord:
    """One fetched image, hashed: what the crawler publishes on ``images.hashed.v1``.

    ``pdq_trimmed`` / ``pdq_trimmed_quality``: PDQ of the image with its uniform borders
    trimmed (letterbox, frame, caption bar), present only when it has such borders. Both
    optional and left out of the JSON when absent, so schema version 1 readers and
    writers on either side of this addition still understand each other.

    ``crawl_id``: the crawl round that fetched the image (distributed crawls; left out
    when empty, as for re-checks). Kafka delivers at least once: a page redelivered
    after a rebalance is fetched again in the same round, and the hit store counts
    such a fetch as the same sighting (:mod:`store.sighting`).

    ``video_frames`` / ``video_duration``: a video (issue 14). Its vPDQ frames as
    ``"<pdq hex>,<quality>,<seconds>"`` strings (Meta's compact vPDQ form), at most
    MAX_VIDEO_FRAMES; ``pdq`` and ``pdq_quality`` are then its first frame's and ``phash``
    is empty (a video has no pHash). Left out when empty, like ``crawl_id``; a reader
    from before them dead-letters a video record (its empty pHash does not parse) rather
    than match a video by one frame.
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
    crawl_id: str = ""
    video_frames: tuple[str, ...] = ()
    video_duration: float | None = None

    @property
    def is_video(self) -> bool:
        return bool(self.video_frames)

    @property
    def key(self) -> str:
        """The partition key: one site's records stay in order."""
        return self.site

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["video_frames"] = list(self.video_frames)
        for optional in (
            "pdq_trimmed",
            "pdq_trimmed_quality",
            "crawl_id",
            "video_frames",
            "video_duration",
        ):
            if data[optional] in (None, "", []):
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
            fetched_at=check_timestamp(require(data, "fetched_at", str), "fetched_at"),
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
            crawl_id=require(data, "crawl_id", str) if "crawl_id" in data else "",
            video_frames=_video_frames(data),
            video_duration=(
                float(require(data, "video_duration", (int, float)))
                if data.get("video_duration") is not None
                else None
            ),
        )
        try:
            PdqHash.from_hex(record.pdq)
            if not (record.is_video and record.phash == ""):
                PHash.from_hex(record.phash)
            if record.pdq_trimmed is not None:
                PdqHash.from_hex(record.pdq_trimmed)
        except ValueError as exc:
            raise RecordError(str(exc)) from None
        if (record.pdq_trimmed is None) != (record.pdq_trimmed_quality is None):
            raise RecordError("fields 'pdq_trimmed' and 'pdq_trimmed_quality' come together")
        if record.pdq_trimmed_quality is not None and not 0 <= record.pdq_trimmed_quality <= 100:
            raise RecordError("field 'pdq_trimmed_quality' must be 0..100")
        if not _SHA256.fullmatch(record.content_sha256):
            raise RecordError("field 'content_sha256' is not a SHA-256 hex digest")
        if not 100 <= record.http_status <= 999:
            raise RecordError(f"field 'http_status' is not an HTTP status: {record.http_status}")
        if not (0 <= record.width <= _MAX_SIDE and 0 <= record.height <= _MAX_SIDE):
            raise RecordError(f"fields 'width' and 'height' must be 0..{_MAX_SIDE}")
        if not 0 <= record.pdq_quality <= 100:
            raise RecordError("field 'pdq_quality' must be 0..100")
        return record

    def frames(self) -> VideoHashes:
        """The video's frames as hash values (validated by :meth:`from_dict`)."""
        frames = tuple(_parse_frame(n, text) for n, text in enumerate(self.video_frames))
        duration = self.video_duration or 0.0
        return VideoHashes(frames, duration, self.width, self.height, self.content_sha256)

    @classmethod
    def from_json(cls, raw: bytes) -> HashRecord:
        """The record in ``raw``; raise RecordError (and nothing else) for any input that
        is not a valid record: this is the whole of a dead letter's diagnosis."""
        return cls.from_dict(loads(raw))


def frame_text(frame: VideoFrame) -> str:
    """A frame as ``HashRecord.video_frames`` carries it: ``"<pdq hex>,<quality>,<s>"``."""
    return f"{frame.pdq.hex},{frame.quality},{frame.timestamp:.3f}"


def video_fields(video: VideoHashes) -> dict[str, Any]:
    """The :class:`HashRecord` fields of a hashed video: its distinct frames (a repeated
    hash keeps its first time; at most MAX_VIDEO_FRAMES), the first frame's PDQ as
    ``pdq``, no pHash. Raises ValueError for a video without frames."""
    if not video.frames:
        raise ValueError("a video record needs at least one frame")
    seen: set[PdqHash] = set()
    frames: list[str] = []
    for frame in video.frames:
        if frame.pdq not in seen and len(frames) < MAX_VIDEO_FRAMES:
            seen.add(frame.pdq)
            frames.append(frame_text(frame))
    first = video.frames[0]
    return {
        "content_sha256": video.sha256,
        "width": video.width,
        "height": video.height,
        "pdq": first.pdq.hex,
        "pdq_quality": first.quality,
        "phash": "",
        "video_frames": tuple(frames),
        "video_duration": round(video.duration, 3),
    }


def _parse_frame(number: int, text: str) -> VideoFrame:
    """The inverse of :func:`frame_text`; ``number`` is the frame's place in the list
    (the stream's frame numbers do not travel). Raises ValueError."""
    parts = text.split(",")
    if len(parts) != 3:
        raise ValueError(f"video frame {number} is not 'pdq,quality,seconds': {text[:80]!r}")
    pdq = cast(PdqHash, PdqHash.from_hex(parts[0]))
    seconds = float(parts[2])
    if not math.isfinite(seconds):
        raise ValueError(f"video frame {number} has no finite time")
    return VideoFrame(pdq, int(parts[1]), number, seconds)


def _video_frames(data: dict[str, Any]) -> tuple[str, ...]:
    if data.get("video_frames") in (None, [], ()):
        return ()
    frames = require(data, "video_frames", (list, tuple))
    if len(frames) > MAX_VIDEO_FRAMES:
        raise RecordError(f"field 'video_frames' has over {MAX_VIDEO_FRAMES} frames")
    for n, text in enumerate(frames):
        if not isinstance(text, str):
            raise RecordError(f"field 'video_frames' entry {n} is not a string")
        try:
            _parse_frame(n, text)
        except ValueError as exc:
            raise RecordError(str(exc)) from None
    return tuple(frames)


@dataclass(frozen=True, slots=True)
class MatchEvidence:
    """One hash comparison that matched: which algorithm, how far, against which variant."""

    algorithm: str
    distance: int
    variant: str = "original"


def evidence_variant(reference_variant: str, seconds: float) -> str:
    """A video hit's evidence names the reference variant (or reference frame) that
    matched and the time of the matching frame in the candidate video:
    ``"flip-x at 4.000s"``, ``"frame@12.000 at 3.000s"``. A string, so the hit stores
    (Elasticsearch's strict mapping included) keep it unchanged."""
    return f"{reference_variant} at {seconds:.3f}s"


def hit_id(case_id: str, reference_label: str, image_url: str) -> str:
    """Deterministic hit id: a replay or a re-sighting overwrites instead of duplicating."""
    digest = hashlib.sha256(f"{case_id}\x00{reference_label}\x00{image_url}".encode())
    return digest.hexdigest()[:32]


@dataclass(slots=True)
class Hit:
    """A candidate image that matched a case's reference: the unit analysts review.

    ``crawl_id`` is the crawl round of the latest sighting ("" outside a round)."""

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
    crawl_id: str = ""

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

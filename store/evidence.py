"""What the crawler keeps to show later what was where, and when: evidence, page
snapshots, incremental-crawl state, schedules' leases and re-check results.

Consumes what the crawler saw; produces, per hit, the provenance legal staff need: the
page and image URLs, the final URL after redirects, the fetch time (UTC), HTTP status and
headers, the content SHA-256, the page title and the page HTML. **Never the image**: an
evidence row names the image by URL and SHA-256 only. Page HTML is stored once per
distinct content (by SHA-256, compressed) however many sightings point at it.

:class:`EvidenceStore` and :class:`CrawlStateStore` are the interfaces; the SQLite store
implements both (:mod:`crawler.storage`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from store.models import Target

MAX_HEADERS = 100
MAX_HEADER_VALUE = 2000
MAX_SNAPSHOT_CHARS = 4 * 1024 * 1024  # longer page HTML is stored cut, and marked so
# The one re-check vocabulary (the crawler's re-check, the notices' HTTP re-check, the
# rechecks table, the review app): see RecheckResult.
RECHECK_STATUSES = ("still_there", "gone", "changed", "error")
GONE_STATUSES = frozenset((404, 410, 451))  # HTTP answers that mean "removed"
INLINE_REMOVED = "data:,removed"

# A data: URI anywhere in the text: media type and parameters up to the comma, then the
# payload up to a quote, bracket, parenthesis or whitespace; whitespace followed by more
# payload-like text continues it (base64 wrapped over lines in an attribute).
_DATA_URI = re.compile(
    r"(?<![\w.+-])data:[^,\s\"'<>()]{0,256},"
    r"(?:[^\s\"'<>()]|\s+(?=[A-Za-z0-9+/=%\\]{8}))*",
    re.IGNORECASE,
)


def snapshot_html(html: str) -> tuple[str, bool]:
    """The page HTML as it is stored, and whether it was cut: every inline ``data:``
    URI replaced by ``data:,removed`` (a candidate image must not reach the disk inside
    its page), then cut at :data:`MAX_SNAPSHOT_CHARS` (after, so a cut never leaves part
    of a payload behind)."""
    stripped = _DATA_URI.sub(INLINE_REMOVED, html)
    return stripped[:MAX_SNAPSHOT_CHARS], len(stripped) > MAX_SNAPSHOT_CHARS


def clean_headers(raw: Any) -> dict[str, str]:
    """Response headers as ``{name: value}`` text (repeated headers joined by ``, ``),
    bounded in count and length. ``raw`` is Scrapy ``Headers`` or a mapping."""
    out: dict[str, str] = {}
    items = raw.items() if hasattr(raw, "items") else []
    for name, values in items:
        if len(out) >= MAX_HEADERS:
            break
        key = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        if isinstance(values, bytes | str):
            values = [values]
        text = ", ".join(v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in values)
        out[key] = text[:MAX_HEADER_VALUE]
    return out


@dataclass(frozen=True, slots=True)
class Evidence:
    """One sighting of an image, as fetched. ``image_url`` is the key hits use (for a
    channel post: its permanent post URL); ``fetched_url`` the URL requested for the
    bytes and ``final_url`` where redirects ended; ``redirects`` the hops between."""

    case_id: str
    target_id: int
    image_url: str
    fetched_url: str
    final_url: str
    page_url: str
    fetched_at: str
    http_status: int
    content_sha256: str
    headers: dict[str, str] = field(default_factory=dict)
    redirects: tuple[str, ...] = ()
    page_final_url: str = ""
    page_title: str = ""
    page_status: int = 0
    page_headers: dict[str, str] = field(default_factory=dict)
    page_sha256: str = ""  # the page snapshot; "" when the page HTML was not kept
    page_fetched_at: str = ""
    rendered: bool = False  # the page HTML is the DOM after a browser ran its scripts
    id: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["redirects"] = list(self.redirects)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evidence:
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields["redirects"] = tuple(fields.get("redirects", ()))
        return cls(**fields)


@dataclass(frozen=True, slots=True)
class PageSnapshot:
    """A page's HTML as the crawler saw it (rendered DOM for browser targets)."""

    sha256: str
    url: str
    fetched_at: str
    html: str
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class PageState:
    """What an incremental crawl remembers of a page: its validators, and what was on
    it, so an unchanged page (HTTP 304) still yields its images and links."""

    target_id: int
    url: str
    etag: str = ""
    last_modified: str = ""
    sha256: str = ""
    images: tuple[tuple[str, str], ...] = ()  # (url, how)
    links: tuple[str, ...] = ()
    fetched_at: str = ""


@dataclass(frozen=True, slots=True)
class ImageState:
    """What an incremental crawl remembers of an image URL: validators and its hashes,
    so an unchanged image is neither downloaded again nor decoded."""

    url: str
    etag: str = ""
    last_modified: str = ""
    sha256: str = ""
    hashes: dict[str, Any] = field(default_factory=dict)  # ImageHashes.as_dict()
    fetched_at: str = ""

    def hashes_json(self) -> str:
        return json.dumps(self.hashes, sort_keys=True)


@dataclass(frozen=True, slots=True)
class RecheckResult:
    """The outcome of re-checking one URL, whoever checked it (:mod:`radar.recheck`
    through the crawler, :class:`notices.recheck.HttpRechecker` by its bytes); saved in
    the one ``rechecks`` table (:mod:`crawler.storage`). ``status`` is one of
    :data:`RECHECK_STATUSES`: ``still_there`` (a reference matched again, or the same
    bytes are served), ``gone`` (HTTP 404/410/451, a page instead of the image, or the
    host no longer exists), ``changed`` (the URL answers with something else) or
    ``error`` (unknown: the site failed, try again later, never "gone"). ``id`` is 0
    until it is saved."""

    url: str
    status: str
    checked_at: str
    case_id: str = ""
    http_status: int = 0
    content_sha256: str = ""
    detail: str = ""
    matched: tuple[str, ...] = ()  # reference labels matched this time
    id: int = 0

    def __post_init__(self) -> None:
        if self.status not in RECHECK_STATUSES:
            raise ValueError(f"unknown re-check status {self.status!r}")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["matched"] = list(self.matched)
        return data


class EvidenceStore(Protocol):
    def save_evidence(self, evidence: Evidence, page_html: str | None = None) -> Evidence:
        """Store one sighting (and the page HTML once per distinct content); return it
        with its id."""
        ...

    def evidence(
        self, image_url: str | None = None, case_id: str | None = None, limit: int = 100
    ) -> list[Evidence]:
        """Sightings, newest first; empty if none."""
        ...

    def page_snapshot(self, sha256: str) -> PageSnapshot | None: ...


class CrawlStateStore(Protocol):
    def page_state(self, target_id: int, url: str) -> PageState | None: ...
    def save_page_state(self, state: PageState) -> None: ...
    def image_state(self, url: str) -> ImageState | None: ...
    def save_image_state(self, state: ImageState) -> None: ...
    def get_target(self, target_id: int) -> Target:
        """Raise StoreError if there is none."""
        ...

    def all_targets(self) -> list[Target]: ...
    def set_target_enabled(self, target_id: int, enabled: bool) -> Target: ...
    def claim_target(self, target_id: int, owner: str, now: str, until: str) -> bool:
        """Take the target's lease if it is free or expired (atomic across processes)."""
        ...

    def release_target(self, target_id: int, owner: str) -> None: ...
    def save_recheck(self, result: RecheckResult) -> RecheckResult: ...
    def rechecks(
        self, url: str | None = None, limit: int = 100, until: str | None = None
    ) -> list[RecheckResult]: ...


def recheck_from_row(row: Any) -> RecheckResult:
    return RecheckResult(
        url=row["url"],
        status=row["status"],
        checked_at=row["checked_at"],
        case_id=row["case_id"],
        http_status=row["http_status"],
        content_sha256=row["content_sha256"],
        detail=row["detail"],
        matched=tuple(json.loads(row["matched"])),
        id=row["id"],
    )


def images_of(raw: str) -> tuple[tuple[str, str], ...]:
    return tuple((str(u), str(h)) for u, h in json.loads(raw))


def as_json(values: Sequence[Any]) -> str:
    return json.dumps(list(values), separators=(",", ":"))

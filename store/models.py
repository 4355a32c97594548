"""Cases, their reference hashes and targets, and crawl reports."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from hashing import MatchRule, parse_hash
from wire.frontier import RENDER_MODES, TARGET_KINDS
from wire.records import valid_url

HIT_STATUSES = ("pending", "confirmed", "rejected")
# TARGET_KINDS -- website: pages and their links; telegram: a public channel preview
# (t.me/s/<name>); feed: an RSS or Atom feed; sitemap: a sitemap or sitemap index (XML).
# RENDER_MODES -- http: pages as served; browser: pages rendered by Chromium (JavaScript
# sites). Defined with the page requests that carry them to every crawler.
# pass_gates -- whether the crawler passes age gates and cookie walls (crawler/gates.py);
# on by default for websites, off for the other kinds (they can opt in).
_CASE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


def target_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be crawled, or None if it can: the rule a page request's URL
    meets on the wire (:func:`wire.records.valid_url`: http(s), a host without blanks, a
    port in 1..65535, no control characters), so a stored target always becomes a valid
    request. Checked when a target is added, and again before a stored one is crawled
    (rows written before the rule was this strict)."""
    if not valid_url(url):
        return f"bad target URL {url[:200]!r}: need http(s)://host[:port]/... (port 1-65535)"
    return None


def check_case_id(case_id: str) -> str:
    """A case id is a short slug (lower-case letters, digits, '.', '_', '-')."""
    if not _CASE_ID.match(case_id):
        raise ValueError(
            f"bad case id {case_id!r}: use 1-63 lower-case letters, digits, '.', '_' or '-'"
        )
    return case_id


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    title: str = ""
    rule: MatchRule = field(default_factory=MatchRule)
    dihedral: bool = True
    priority: int = 0
    created_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rule"] = asdict(self.rule)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Case:
        """Inverse of :meth:`to_dict`; raise ValueError/TypeError/KeyError if malformed."""
        return cls(
            id=check_case_id(data["id"]),
            title=str(data.get("title", "")),
            rule=MatchRule(**data.get("rule", {})),
            dihedral=bool(data.get("dihedral", True)),
            priority=int(data.get("priority", 0)),
            created_at=str(data.get("created_at", "")),
        )


@dataclass(frozen=True, slots=True)
class Reference:
    """One reference hash of a case. A reference picture gives several rows: one per
    algorithm and per variant (the original and, with dihedral on, its 7 flips/rotations).
    """

    case_id: str
    label: str
    algorithm: str
    hash: str
    quality: int | None
    variant: str = "original"
    source: str = "file"
    id: int = 0

    def __post_init__(self) -> None:
        parse_hash(self.algorithm, self.hash)  # validates

    def to_dict(self) -> dict[str, Any]:
        """The reference as it travels on the bank topic (no store-local id)."""
        data = asdict(self)
        del data["id"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reference:
        """Inverse of :meth:`to_dict`; raise ValueError/TypeError/KeyError if malformed."""
        quality = data.get("quality")
        return cls(
            case_id=check_case_id(data["case_id"]),
            label=str(data["label"]),
            algorithm=str(data["algorithm"]),
            hash=str(data["hash"]),
            quality=None if quality is None else int(quality),
            variant=str(data.get("variant", "original")),
            source=str(data.get("source", "file")),
        )


def default_pass_gates(kind: str) -> bool:
    """Whether a target of ``kind`` passes age gates and cookie walls unless told: a
    website's pages are where they stand; channels, feeds and sitemaps have none."""
    return kind == "website"


@dataclass(frozen=True, slots=True)
class Target:
    """A place to crawl for a case: a seed of some ``kind`` (see :data:`TARGET_KINDS`)
    with its crawl bounds, how its pages are rendered, whether age gates and cookie walls
    are passed (``pass_gates``), and its schedule (a target is due ``interval_seconds``
    after it was last crawled, unless disabled)."""

    case_id: str
    url: str
    allowed_domains: tuple[str, ...]
    max_depth: int = 3
    max_pages: int = 200
    interval_seconds: int = 86_400
    obey_robots: bool = True
    kind: str = "website"
    id: int = 0
    created_at: str = ""
    last_crawled_at: str | None = None
    render: str = "http"
    enabled: bool = True
    pass_gates: bool | None = None  # None: the kind's default (on for websites)

    def __post_init__(self) -> None:
        if self.pass_gates is None:  # frozen: set once, here
            object.__setattr__(self, "pass_gates", default_pass_gates(self.kind))
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"bad target URL {self.url!r}: need http(s)://host/...")
        if self.kind not in TARGET_KINDS:
            raise ValueError(f"unknown target kind {self.kind!r}")
        if self.render not in RENDER_MODES:
            raise ValueError(f"unknown render mode {self.render!r} (http or browser)")
        if self.max_depth < 0 or self.max_pages < 1 or self.interval_seconds < 60:
            raise ValueError("depth must be >= 0, pages >= 1 and interval >= 60 seconds")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["allowed_domains"] = list(self.allowed_domains)
        return data


@dataclass(slots=True)
class CrawlReport:
    """What one crawl of one target did; counters come from the crawl's stats."""

    case_id: str
    target_id: int
    started_at: str
    finished_at: str
    finish_reason: str
    counts: dict[str, int] = field(default_factory=dict)
    id: int = 0

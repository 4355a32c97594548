"""Page requests: the crawl frontier shared by crawler processes (``pages.requested.v1``).

Keyed by site, so every page of one site lands in one partition and so in one crawler
process at a time: per-domain politeness holds across processes. A request carries its
target's bounds and settings (render mode, whether age gates are passed), so whichever
process owns the partition can apply them, and what the page is (``parse_as``: an HTML
page, a channel's preview page, or a feed or sitemap), so every process parses it the way
the embedded crawl does.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from wire.records import (
    SCHEMA_VERSION,
    RecordError,
    check_url,
    check_version,
    loads,
    require,
)


def site_of(url: str) -> str:
    """The site a URL belongs to: its host, lower-case, without a leading ``www.``."""
    return (urlsplit(url).hostname or "").lower().removeprefix("www.")


@dataclass(frozen=True, slots=True)
class PageRequest:
    url: str
    case_id: str
    target_id: int
    depth: int
    max_depth: int
    max_pages: int
    allowed_domains: tuple[str, ...]
    obey_robots: bool = True
    crawl_id: str = ""  # one crawl round of the target: dedup and page limits are per round
    render: str = "http"  # "browser": the page is rendered by Chromium (optional, v1-compatible)
    target_kind: str = "website"  # the target's kind (optional, v1-compatible)
    parse_as: str = "page"  # "page", "channel" or "xml" (optional, v1-compatible)
    # Pass age gates and cookie walls (crawler/gates.py). Optional, v1-compatible: a
    # record without it gets its kind's default (on for websites).
    pass_gates: bool = True
    schema_version: int = SCHEMA_VERSION

    @property
    def key(self) -> str:
        return site_of(self.url)

    def to_json(self) -> bytes:
        data = asdict(self)
        data["allowed_domains"] = list(self.allowed_domains)
        return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> PageRequest:
        data: Any = loads(raw)
        if not isinstance(data, dict):
            raise RecordError("page request is not a JSON object")
        check_version(data)
        domains = require(data, "allowed_domains", list)
        if not all(isinstance(d, str) for d in domains):
            raise RecordError("field 'allowed_domains' must be a list of strings")
        obey = data.get("obey_robots", True)
        if not isinstance(obey, bool):
            raise RecordError("field 'obey_robots' must be true or false")
        kind = _one_of(data.get("target_kind", "website"), "target_kind", TARGET_KINDS)
        gates = data.get("pass_gates", kind == "website")
        if not isinstance(gates, bool):
            raise RecordError("field 'pass_gates' must be true or false")
        return cls(
            url=check_url(require(data, "url", str), "url"),
            case_id=require(data, "case_id", str),
            target_id=require(data, "target_id", int),
            depth=require(data, "depth", int),
            max_depth=require(data, "max_depth", int),
            max_pages=require(data, "max_pages", int),
            allowed_domains=tuple(domains),
            obey_robots=obey,
            crawl_id=str(data.get("crawl_id", "")),
            render=_one_of(data.get("render", "http"), "render", RENDER_MODES),
            target_kind=kind,
            parse_as=_one_of(data.get("parse_as", "page"), "parse_as", PARSE_AS),
            pass_gates=gates,
        )


RENDER_MODES = ("http", "browser")  # http: as served; browser: rendered by Chromium
TARGET_KINDS = ("website", "telegram", "feed", "sitemap")
PARSE_AS = ("page", "channel", "xml")
PARSE_AS_OF_KIND = {"website": "page", "telegram": "channel", "feed": "xml", "sitemap": "xml"}


def _one_of(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise RecordError(f"field {name!r} must be one of {', '.join(map(repr, allowed))}")
    return str(value)

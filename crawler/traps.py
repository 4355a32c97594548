"""Spider-trap rules: which page URLs a crawl refuses to follow, and why.

Hostile or merely badly built sites generate endless URLs: calendars with a "next month"
link forever, paths that repeat themselves (``/a/b/a/b/...``), session ids, ever longer
query strings. :class:`TrapGuard` bounds a crawl round on top of the target's own depth
and page limits: URL length, query parameters, repeated path segments, pages per domain,
and pages per *URL shape* (digits collapsed, so ``/cal/2031/05`` and ``/cal/2031/06``
share one), with a much smaller budget for calendar-like shapes. Pure and in-memory:
one instance per crawl round; a refusal returns a short stable reason for the stats.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

REASONS = (
    "url_length",
    "query_params",
    "repeated_segments",
    "domain_pages",
    "url_shape",
    "calendar",
)
_DIGITS = re.compile(r"\d+")
# A date in a path or query: 2031/05, 2031-05-17, 20310517, or month/year/day parameters.
_DATE_PATH = re.compile(r"(?:^|[/=_-])(?:19|20|21)\d\d(?:[/_-]?(?:0?[1-9]|1[0-2]))(?:\b|[/_-])")
_DATE_PARAMS = frozenset(("date", "day", "month", "year", "week", "cal", "calendar", "ym", "d"))


@dataclass(frozen=True, slots=True)
class TrapLimits:
    """Per crawl round. Defaults leave ordinary sites alone (a 500-page gallery with
    ``?page=N`` is one shape of 500 pages, under ``max_shape_pages``)."""

    max_url_length: int = 2083
    max_query_params: int = 12
    max_segment_repeats: int = 3  # the same path segment more than this: a loop
    max_domain_pages: int = 5000
    max_shape_pages: int = 1000
    max_calendar_pages: int = 24  # two years of months, or three weeks of days


def url_shape(url: str) -> str:
    """The URL with digit runs collapsed to ``#`` and query values dropped: pages that
    differ only by numbers share a shape."""
    parts = urlsplit(url)
    keys = sorted({k for k, _ in parse_qsl(parts.query, keep_blank_values=True)})
    return f"{parts.hostname}{_DIGITS.sub('#', parts.path)}?{'&'.join(keys)}"


def is_calendar(url: str) -> bool:
    """Whether the URL looks like one page of a calendar (a date in the path or a
    date-like query parameter)."""
    parts = urlsplit(url)
    if _DATE_PATH.search(parts.path):
        return True
    params = parse_qsl(parts.query, keep_blank_values=True)
    return any(k.lower() in _DATE_PARAMS and _DIGITS.search(v) for k, v in params)


def repeated_segments(url: str) -> int:
    """How often the most frequent non-empty path segment occurs."""
    segments = [s for s in urlsplit(url).path.split("/") if s]
    return max(Counter(segments).values(), default=0)


class TrapGuard:
    """Decides page by page; remembers what it let through in this round."""

    def __init__(self, limits: TrapLimits | None = None) -> None:
        self.limits = limits or TrapLimits()
        self.domains: Counter[str] = Counter()
        self.shapes: Counter[str] = Counter()

    def refuse(self, url: str) -> str | None:
        """The reason (one of :data:`REASONS`) to refuse following ``url``, or None; a
        URL let through counts against the domain and shape budgets."""
        limits = self.limits
        if len(url) > limits.max_url_length:
            return "url_length"
        parts = urlsplit(url)
        if len(parse_qsl(parts.query, keep_blank_values=True)) > limits.max_query_params:
            return "query_params"
        if repeated_segments(url) > limits.max_segment_repeats:
            return "repeated_segments"
        host = (parts.hostname or "").lower()
        if self.domains[host] >= limits.max_domain_pages:
            return "domain_pages"
        shape = url_shape(url)
        calendar = is_calendar(url)
        budget = limits.max_calendar_pages if calendar else limits.max_shape_pages
        if self.shapes[shape] >= budget:
            return "calendar" if calendar else "url_shape"
        self.domains[host] += 1
        self.shapes[shape] += 1
        return None

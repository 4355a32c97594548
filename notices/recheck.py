"""Is a noticed URL still there? The :class:`Rechecker` protocol and its HTTP twin.

The crawler's single-URL re-check (issue 4) is meant to replace :class:`HttpRechecker`
behind the same protocol: anything with ``check(url, expected_sha256) -> RecheckResult``
will do.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

from crawler.failures import FetchError
from notices.fetch import Fetcher

RESULTS = ("present", "gone", "changed", "error")
GONE_STATUSES = frozenset({404, 410, 451})


@dataclass(frozen=True, slots=True)
class RecheckResult:
    """``present``: the same bytes are still served; ``changed``: something else is
    served at the URL; ``gone``: 404/410/451 or not an image any more; ``error``: no
    answer (timeout, refused, not HTTP, too large, 5xx) -- nothing can be concluded; its
    ``detail`` starts with the :data:`crawler.failures.REASONS` entry (``timeout: ...``)."""

    result: str
    http_status: int = 0
    sha256: str = ""
    detail: str = ""


class Rechecker(Protocol):
    def check(self, url: str, expected_sha256: str) -> RecheckResult: ...


class HttpRechecker:
    """GETs the URL through the guarded fetch and compares the content's SHA-256. Never
    raises for what the host does: every fetch failure is an ``error`` result."""

    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher

    def check(self, url: str, expected_sha256: str) -> RecheckResult:
        try:
            got = self.fetcher.get(url)
        except FetchError as exc:
            return RecheckResult("error", detail=exc.detail)
        if got.status in GONE_STATUSES:
            return RecheckResult("gone", got.status, detail=f"HTTP {got.status}")
        if got.status >= 400:
            return RecheckResult("error", got.status, detail=f"HTTP {got.status}")
        if got.content_type.startswith("text/html"):
            # A soft 404: many hosts answer a removed image with a page.
            return RecheckResult("gone", got.status, detail="an HTML page instead of an image")
        digest = hashlib.sha256(got.body).hexdigest()
        if digest == expected_sha256:
            return RecheckResult("present", got.status, digest)
        return RecheckResult("changed", got.status, digest, "different bytes at the URL")

"""Is a noticed URL still there? The one re-check protocol, :class:`Rechecker`, and its
HTTP implementation.

A rechecker answers a :class:`store.evidence.RecheckResult` in the one vocabulary
(``still_there``, ``gone``, ``changed``, ``error``); the notice desk saves it in the one
``rechecks`` table. Two implement it: :class:`HttpRechecker` (the review app's: one
guarded GET, the same bytes or not) and :class:`radar.recheck.CrawlRechecker` (the URL
fetched alone through the crawler and matched against the case's references, so a
re-encoded copy at the same URL is still there; what ``radar recheck`` runs).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Protocol

from crawler.failures import FetchError
from notices.fetch import Fetcher
from store.evidence import GONE_STATUSES, RecheckResult
from wire import utc_now


class Rechecker(Protocol):
    def check(self, url: str, expected_sha256: str, case_id: str = "") -> RecheckResult:
        """Re-check ``url`` now; ``expected_sha256`` is the content the notice named,
        ``case_id`` the case of its hit. Never raises for what the host does (that is an
        ``error`` result)."""
        ...


class HttpRechecker:
    """GETs the URL through the guarded fetch and compares the content's SHA-256:
    ``still_there`` when the same bytes are served, ``changed`` when others are, ``gone``
    for 404/410/451 or an HTML page in place of the image (a soft 404), ``error`` for
    anything that answers nothing certain (timeout, refused, not HTTP, too large, other
    4xx and 5xx; the ``detail`` starts with the :data:`crawler.failures.REASONS`
    entry)."""

    def __init__(self, fetcher: Fetcher) -> None:
        self.fetcher = fetcher

    def check(self, url: str, expected_sha256: str, case_id: str = "") -> RecheckResult:
        done = self._check(url, expected_sha256)
        return replace(done, case_id=case_id)

    def _check(self, url: str, expected_sha256: str) -> RecheckResult:
        now = utc_now()
        try:
            got = self.fetcher.get(url)
        except FetchError as exc:
            return RecheckResult(url, "error", now, detail=exc.detail)
        if got.status in GONE_STATUSES:
            return RecheckResult(
                url, "gone", now, http_status=got.status, detail=f"HTTP {got.status}"
            )
        if got.status >= 400:
            return RecheckResult(
                url, "error", now, http_status=got.status, detail=f"HTTP {got.status}"
            )
        if got.content_type.startswith("text/html"):
            # A soft 404: many hosts answer a removed image with a page.
            return RecheckResult(
                url, "gone", now, http_status=got.status, detail="an HTML page instead of an image"
            )
        digest = hashlib.sha256(got.body).hexdigest()
        if digest == expected_sha256:
            return RecheckResult(
                url, "still_there", now, http_status=got.status, content_sha256=digest
            )
        return RecheckResult(
            url,
            "changed",
            now,
            http_status=got.status,
            content_sha256=digest,
            detail="different bytes at the URL",
        )

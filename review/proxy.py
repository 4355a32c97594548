"""The candidate image, fetched live and shown safely.

The proxy fetches the hit's image URL through the guarded fetch (the crawler's address
rules, the decoder's byte and pixel caps), decodes it in memory, blurs and greys it
unless the reviewer revealed it, re-encodes it as a small JPEG and returns the bytes.
Nothing is written to disk and the response may not be cached. The reference picture is
never shown: only the case, the reference label and the hash distance.

Upstream fetches are bounded: at most :class:`FetchPool` ``size`` at a time (each under
the fetch's one deadline), so image views on slow hosts cannot take every worker thread
of the app; over the limit the route answers 503 at once. A host that gives no usable
answer is a 502 (504 on timeout) with a placeholder card, never a 500.
"""

from __future__ import annotations

import collections
import hashlib
import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PIL import Image, ImageFilter, ImageOps

from crawler.failures import FetchError
from hashing.decode import DecodeLimits, ImageError, decode
from notices.fetch import Fetcher
from store.evidence import GONE_STATUSES

DISPLAY_SIZE = 720
BLUR_RADIUS = {"strong": 28, "medium": 16, "light": 8}


# Image errors that say "too big to show", not "no image there any more".
_REFUSED_KINDS = frozenset({"too_large", "too_many_pixels"})


@dataclass(frozen=True, slots=True)
class Shown:
    """What the proxy answers: ``state`` is present / changed / gone / error; ``reason``
    names an error (a :data:`crawler.failures.REASONS` entry, ``http_error``,
    ``image:<kind>`` or ``busy``); ``http_status`` is the route's status (200, 502, 503 or 504)."""

    state: str
    detail: str
    body: bytes = b""
    content_type: str = "image/svg+xml"
    reason: str = ""
    http_status: int = 200


class FetchPool:
    """At most ``size`` upstream fetches at a time; thread-safe; counts what happened
    (``counts``: ``busy`` and one ``error:<reason>`` per failed view)."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("the fetch pool needs at least one slot")
        self.size = size
        self.in_flight = 0
        self.counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    @contextmanager
    def slot(self) -> Iterator[bool]:
        """Yields True with a slot held, or False at once when all are taken."""
        with self._lock:
            free = self.in_flight < self.size
            if free:
                self.in_flight += 1
            else:
                self.counts["busy"] += 1
        try:
            yield free
        finally:
            if free:
                with self._lock:
                    self.in_flight -= 1

    def saturated(self) -> bool:
        return self.in_flight >= self.size

    def count(self, shown: Shown) -> None:
        if shown.reason:
            with self._lock:
                self.counts[f"error:{shown.reason}"] += 1


def busy() -> Shown:
    """The answer when every fetch slot is taken: try again in a moment."""
    detail = "busy: too many image fetches at once, try again"
    return Shown("error", detail, placeholder("Busy", detail), reason="busy", http_status=503)


def placeholder(title: str, detail: str) -> bytes:
    """A neutral SVG card for a candidate that cannot be shown."""
    from html import escape

    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="720" height="480" viewBox="0 0 720 480">'
        '<rect width="720" height="480" fill="#eef0f3"/>'
        f'<text x="360" y="225" font-family="sans-serif" font-size="30" fill="#38424f" '
        f'text-anchor="middle">{escape(title)}</text>'
        f'<text x="360" y="265" font-family="sans-serif" font-size="17" fill="#5d6875" '
        f'text-anchor="middle">{escape(detail[:90])}</text></svg>'
    ).encode()


def render(picture: Image.Image, reveal: bool, blur: str, greyscale: bool) -> bytes:
    """The picture as a JPEG: blurred (and grey, if asked) unless revealed."""
    picture = picture.copy()
    picture.thumbnail((DISPLAY_SIZE, DISPLAY_SIZE))
    if greyscale:
        picture = ImageOps.grayscale(picture).convert("RGB")
    if not reveal:
        # Pixelate first so that a light blur still hides detail, then blur the blocks.
        small = picture.resize((max(1, picture.width // 24), max(1, picture.height // 24)))
        picture = small.resize(picture.size, Image.Resampling.BILINEAR)
        picture = picture.filter(ImageFilter.GaussianBlur(BLUR_RADIUS.get(blur, 28)))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=80)
    return out.getvalue()


def show(
    fetcher: Fetcher,
    url: str,
    expected_sha256: str,
    reveal: bool,
    blur: str = "strong",
    greyscale: bool = True,
) -> Shown:
    """Fetch ``url`` and render it; never raises for what the remote side does. Blocks
    for at most about the fetcher's timeout plus one decode."""
    limits = DecodeLimits(working_size=DISPLAY_SIZE)
    try:
        got = fetcher.get(url, max_bytes=limits.max_bytes)
    except FetchError as exc:
        title = {"timeout": "No answer in time", "too_large": "Too large"}.get(
            exc.reason,
            "Not fetched" if exc.reason in ("refused_address", "bad_url") else "No answer",
        )
        status = 504 if exc.reason == "timeout" else 502
        return Shown(
            "error",
            exc.detail,
            placeholder(title, exc.detail),
            reason=exc.reason,
            http_status=status,
        )
    if got.status in GONE_STATUSES:
        detail = f"HTTP {got.status}: the content is gone"
        return Shown("gone", detail, placeholder("Content gone", detail))
    if got.status >= 400:
        detail = f"HTTP {got.status} from the host"
        return Shown(
            "error", detail, placeholder("Host error", detail), reason="http_error", http_status=502
        )
    try:
        picture, width, height = decode(got.body, limits)
    except ImageError as exc:
        if exc.kind in _REFUSED_KINDS:
            detail = f"too large to show ({exc.kind}): {exc}"
            return Shown(
                "error",
                detail,
                placeholder("Too large", detail),
                reason=f"image:{exc.kind}",
                http_status=502,
            )
        detail = f"no image at the URL any more ({exc.kind})"
        return Shown("gone", detail, placeholder("Content gone", detail))
    digest = hashlib.sha256(got.body).hexdigest()
    state = "present" if digest == expected_sha256 else "changed"
    detail = f"{width}x{height}" + (
        ", different bytes than when found" if state == "changed" else ""
    )
    return Shown(state, detail, render(picture, reveal, blur, greyscale), "image/jpeg")

"""The candidate image, fetched live and shown safely.

The proxy fetches the hit's image URL through the guarded fetch (the crawler's address
rules, the decoder's byte and pixel caps), decodes it in memory, blurs and greys it
unless the reviewer revealed it, re-encodes it as a small JPEG and returns the bytes.
Nothing is written to disk and the response may not be cached. The reference picture is
never shown: only the case, the reference label and the hash distance.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image, ImageFilter, ImageOps

from hashing.decode import DecodeLimits, ImageError, decode
from notices.fetch import Fetcher, FetchRefused
from notices.recheck import GONE_STATUSES

DISPLAY_SIZE = 720
BLUR_RADIUS = {"strong": 28, "medium": 16, "light": 8}


@dataclass(frozen=True, slots=True)
class Shown:
    """What the proxy answers: ``state`` is present / changed / gone / error."""

    state: str
    detail: str
    body: bytes = b""
    content_type: str = "image/svg+xml"


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
    """Fetch ``url`` and render it; never raises for what the remote side does."""
    limits = DecodeLimits(working_size=DISPLAY_SIZE)
    try:
        got = fetcher.get(url, max_bytes=limits.max_bytes)
    except FetchRefused as exc:
        return Shown("error", f"refused: {exc}", placeholder("Not fetched", str(exc)))
    except OSError as exc:
        return Shown("error", f"no answer: {exc}", placeholder("No answer", str(exc)))
    if got.status in GONE_STATUSES:
        detail = f"HTTP {got.status}: the content is gone"
        return Shown("gone", detail, placeholder("Content gone", detail))
    if got.status >= 400:
        detail = f"HTTP {got.status} from the host"
        return Shown("error", detail, placeholder("Host error", detail))
    if got.truncated:
        return Shown("error", "over the size cap", placeholder("Too large", "over the size cap"))
    try:
        picture, width, height = decode(got.body, limits)
    except ImageError as exc:
        detail = f"no image at the URL any more ({exc.kind})"
        return Shown("gone", detail, placeholder("Content gone", detail))
    digest = hashlib.sha256(got.body).hexdigest()
    state = "present" if digest == expected_sha256 else "changed"
    detail = f"{width}x{height}" + (
        ", different bytes than when found" if state == "changed" else ""
    )
    return Shown(state, detail, render(picture, reveal, blur, greyscale), "image/jpeg")

"""Page snapshots keep no inline image: a ``data:`` URI never reaches the store."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image

from crawler.storage import CrawlStore
from store.evidence import INLINE_REMOVED, MAX_SNAPSHOT_CHARS, Evidence, snapshot_html


@pytest.fixture(scope="module")
def inline_jpeg(kodak: list[Path]) -> str:
    """A 77 KB JPEG (a benign Kodak photo) as base64."""
    buffer = io.BytesIO()
    with Image.open(kodak[12]) as image:
        image.convert("RGB").save(buffer, "JPEG", quality=80)
    assert 70_000 < len(buffer.getvalue()) < 90_000
    return base64.b64encode(buffer.getvalue()).decode()


def pieces(b64: str, size: int = 12) -> list[str]:
    return [b64[i : i + size] for i in range(0, len(b64) - size, size)]


def hostile_page(b64: str) -> str:
    uri = f"data:image/jpeg;base64,{b64}"
    wrapped = "\n        ".join(b64[i : i + 76] for i in range(0, len(b64), 76))
    escaped = uri.replace("/", "\\/")
    return (
        "<html><head><title>t</title>"
        f"<style>.a {{ background-image: url({uri}) }} .b {{ background: url('{uri}') }}</style>"
        "</head><body><p>metadata: kept, data: also kept</p>"
        f"<img src=\"{uri}\"><img src='{uri}'><img src={uri} alt=x>"
        f'<img srcset="{uri} 1x, DATA:IMAGE/JPEG;BASE64,{b64} 2x" src="/p.jpg">'
        f'<img src="data:image/jpeg;base64,\n        {wrapped}">'
        f'<img data-src="data:application/octet-stream;base64,{b64}">'
        f'<div style="background:url(&quot;{uri}&quot;)">x</div>'
        f'<script>var p = {{"img": "{escaped}"}};</script>'
        f'<img src="data:image/svg+xml,%3Csvg%20xmlns%3D%22{b64[:900]}%22%3E">'
        "</body></html>"
    )


def test_no_piece_of_an_inline_image_survives(inline_jpeg: str) -> None:
    kept, truncated = snapshot_html(hostile_page(inline_jpeg))
    assert not truncated
    assert [p for p in pieces(inline_jpeg) if p in kept] == []
    assert kept.count(INLINE_REMOVED) == 12
    assert '<img srcset="data:,removed 1x, data:,removed 2x" src="/p.jpg">' in kept
    assert "<p>metadata: kept, data: also kept</p>" in kept and "alt=x>" in kept
    assert len(kept) < 3000


def test_stripped_before_cut(inline_jpeg: str) -> None:
    # A page whose inline image straddles the cut: nothing of it is kept either side.
    filler = "<p>" + "x" * (MAX_SNAPSHOT_CHARS - 50_000) + "</p>"
    kept, truncated = snapshot_html(filler + f'<img src="data:image/jpeg;base64,{inline_jpeg}">')
    assert not truncated and kept.endswith('<img src="data:,removed">')


def test_stored_snapshot_has_no_inline_image_bytes(inline_jpeg: str, tmp_path: Path) -> None:
    store = CrawlStore(tmp_path / "radar.db")
    evidence = Evidence(
        "c1", 1, "http://site.test/p.jpg", "http://site.test/p.jpg", "http://site.test/p.jpg",
        "http://site.test/", "2026-12-02T10:00:00Z", 200, "ab" * 32, page_sha256="cd" * 32,
    )  # fmt: skip
    store.save_evidence(evidence, hostile_page(inline_jpeg))
    snapshot = store.page_snapshot("cd" * 32)
    assert snapshot is not None and '<img src="data:,removed">' in snapshot.html
    assert [p for p in pieces(inline_jpeg) if p in snapshot.html] == []

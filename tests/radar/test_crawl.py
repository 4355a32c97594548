"""Real crawls of local sites on 127.0.0.1, through the ``radar`` command line."""

from __future__ import annotations

import io
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from PIL import Image

from crawler.storage import CrawlStore
from radar.demo.site import DemoServer, DemoSite, build_site, find_photos
from tests.radar.test_cli import radar

FOUND_BY_DEFAULT = {"resized", "recompressed", "mirrored"}


@pytest.fixture(scope="module")
def demo_site(shared_images: Path) -> DemoSite:
    return build_site(find_photos(shared_images))


def _case_for(db: Path, site: DemoSite, url: str) -> None:
    assert radar(db, "case", "create", "demo").returncode == 0
    refs = [str(p) for p in site.references.values()]
    assert radar(db, "case", "add-references", "demo", *refs).returncode == 0
    added = radar(db, "case", "add-target", "demo", url, "--max-depth", "4")
    assert added.returncode == 0, added.stderr


def _hits(db: Path) -> list[dict]:
    result = radar(db, "hits", "--case", "demo", "--json")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_crawl_finds_planted_copies_and_nothing_else(demo_site: DemoSite, tmp_path: Path) -> None:
    db = tmp_path / "radar.db"
    with DemoServer(demo_site) as server:
        _case_for(db, demo_site, server.base_url + "/")
        result = radar(db, "crawl", "demo", "--allow-network", "127.0.0.1/32", "-q")
        assert result.returncode == 0, result.stderr
        assert "hits written" in result.stdout
        first = _hits(db)
        again = radar(db, "crawl", "demo", "--allow-network", "127.0.0.1/32", "-q")
        assert again.returncode == 0, again.stderr
        second = _hits(db)
        assert server.requests["/admin/"] == 0, "robots.txt disallows /admin/"

    planted = {p.path: p for p in demo_site.planted}
    found = {(urlsplit(h["image_url"]).path, h["reference_label"]) for h in first}
    for path, label in found:
        assert path in planted, f"false hit on {path}"
        assert planted[path].reference_label == label
    expected = {
        (p.path, p.reference_label) for p in demo_site.planted if p.transform in FOUND_BY_DEFAULT
    }
    assert expected <= found
    for hit in first:
        assert hit["status"] == "pending" and hit["http_status"] == 200
        assert len(hit["content_sha256"]) == 64 and hit["page_url"].startswith("http://127.0.0.1")
        assert hit["seen_count"] == 1
    # A second crawl re-sights the same images: same hits, counted twice, no duplicates.
    assert sorted(h["id"] for h in second) == sorted(h["id"] for h in first)
    assert {h["seen_count"] for h in second} == {2}

    reports = CrawlStore(db).crawl_reports("demo")
    assert len(reports) == 2
    counts = reports[0].counts
    assert counts["pages"] >= 9 and counts["images"] == counts["hashed"] + counts["cache_hits"]
    assert counts["hits"] == len(first) and counts["refused_robots"] == 1


def test_crawler_refuses_loopback_unless_allowed(demo_site: DemoSite, tmp_path: Path) -> None:
    db = tmp_path / "radar.db"
    with DemoServer(demo_site) as server:
        _case_for(db, demo_site, server.base_url + "/")
        result = radar(db, "crawl", "demo", "-q")
        assert result.returncode == 0, result.stderr
        assert sum(server.requests.values()) == 0
    report = CrawlStore(db).crawl_reports("demo")[0]
    assert report.counts["pages"] == 0 and report.counts["refused_address"] >= 1
    assert _hits(db) == []


def _jpeg(path: Path, quality: int = 80) -> bytes:
    buffer = io.BytesIO()
    Image.open(path).convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def test_hostile_images_are_counted_and_the_crawl_goes_on(
    shared_images: Path, tmp_path: Path
) -> None:
    photo = shared_images / "kodak24" / "kodim05.png"
    good = _jpeg(photo)
    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, "PNG")
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>'
    images = {
        "/good.jpg": ("image/jpeg", good),
        "/empty.jpg": ("image/jpeg", b""),
        "/truncated.jpg": ("image/jpeg", good[: len(good) // 2]),
        "/vector.svg": ("image/svg+xml", svg),
        "/page.jpg": ("text/html", b"<html><body>not an image</body></html>"),
        "/bomb.png": ("image/png", bomb.getvalue()),
    }
    img_tags = "".join(f'<img src="{p}">' for p in images)
    # Another loopback address stands in for an internal service: refused before any
    # connection is made, because only 127.0.0.1/32 is opted in.
    img_tags += '<img src="http://127.0.0.2:9/internal.jpg">'
    page = f"<html><body>{img_tags}</body></html>".encode()
    site = DemoSite(
        files={"/": ("text/html", page), **images},
        planted=[],
        unrelated=[],
        references={"kodim05": photo},
    )
    db = tmp_path / "radar.db"
    with DemoServer(site) as server:
        _case_for(db, site, server.base_url + "/")
        result = radar(db, "crawl", "demo", "--allow-network", "127.0.0.1/32", "-q")
        assert result.returncode == 0, result.stderr
    counts = CrawlStore(db).crawl_reports("demo")[0].counts
    assert counts["images"] == 6 and counts["hashed"] == 1 and counts["hits"] == 1
    assert counts["refused_address"] == 1
    assert {k: v for k, v in counts.items() if k.startswith("error:")} == {
        "error:empty": 1,
        "error:truncated": 1,
        "error:unsupported_format": 1,
        "error:not_image": 1,
        "error:too_many_pixels": 1,
    }
    assert [h["reference_label"] for h in _hits(db)] == ["kodim05"]

"""Real crawls of hostile local sites on 127.0.0.1: spider traps, redirects to a
forbidden address, names that resolve to one, oversized and malformed images, flaky
servers. Each test asserts what was fetched and what was refused (and counted)."""

from __future__ import annotations

import io
import itertools
import re
from pathlib import Path

import pytest
from PIL import Image

from crawler.storage import CrawlStore
from store import Case, Target
from tests.crawler.harness import FixtureServer, Reply, crawl

PAGE = "text/html; charset=utf-8"


def jpeg(path: Path, quality: int = 85, size: int | None = None) -> bytes:
    buffer = io.BytesIO()
    with Image.open(path) as image:
        picture = image.convert("RGB")
        if size:
            picture = picture.resize((size, size))
        picture.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def html(body: str, title: str = "fixture") -> bytes:
    head = f"<!DOCTYPE html><html><head><title>{title}</title></head>"
    return f"{head}<body>{body}</body></html>".encode()


def case_with(db: Path, references: list[Path]) -> CrawlStore:
    from radar.references import hash_reference

    store = CrawlStore(db)
    case = store.create_case(Case("c1", "fixture case"))
    for path in references:
        store.add_references(case.id, hash_reference(case, path, path.stem))
    return store


def target(store: CrawlStore, url: str, **kwargs: object) -> int:
    host = re.sub(r"^https?://([^:/]+).*$", r"\1", url)
    defaults: dict[str, object] = {"max_depth": 3, "max_pages": 200}
    return store.add_target(Target("c1", url, (host,), **{**defaults, **kwargs})).id  # type: ignore[arg-type]


def test_spider_traps_are_bounded_and_counted(kodak: list[Path], tmp_path: Path) -> None:
    def calendar(path: str, _: dict[str, str]) -> Reply:
        year, month = map(int, path.split("/")[2:4])
        nxt = (year + month // 12, month % 12 + 1)
        link = f'<a href="/cal/{nxt[0]}/{nxt[1]:02d}">next month</a>'
        return Reply(body=html(f"<h1>{year}-{month:02d}</h1>{link}"))

    def loop(path: str, _: dict[str, str]) -> Reply:
        return Reply(body=html('<a href="again/">deeper</a><a href="x' + "y" * 2100 + '">long</a>'))

    def queries(path: str, _: dict[str, str]) -> Reply:
        n = int(path.split("n=")[1].split("&")[0]) if "n=" in path else 0
        params = "&".join(f"p{i}=1" for i in range(20))
        return Reply(
            body=html(f'<a href="/q?n={n + 1}&{params}">more</a><a href="/q?n={n + 1}">m</a>')
        )

    routes = {
        "/": Reply(
            body=html(
                '<a href="/cal/2031/01">calendar</a><a href="/loop/">loop</a>'
                '<a href="/q?n=0">query</a><img src="/photo.jpg">'
            )
        ),
        "/photo.jpg": Reply(body=jpeg(kodak[0]), content_type="image/jpeg"),
        "prefix:/cal/": calendar,
        "prefix:/loop/": loop,
        "prefix:/q": queries,
    }
    db = tmp_path / "radar.db"
    store = case_with(db, [kodak[0]])
    with FixtureServer(routes) as site:
        tid = target(store, site.url + "/", max_depth=1000, max_pages=5000)
        (report,) = crawl(db, [tid], settings={"AUTOTHROTTLE_ENABLED": False})
    counts = report.counts
    assert report.finish_reason == "finished"
    calendar_pages = sum(n for p, n in site.requests.items() if p.startswith("/cal/"))
    loop_pages = sum(n for p, n in site.requests.items() if p.startswith("/loop/"))
    assert calendar_pages == 24, "two years of months, then the calendar is a trap"
    assert counts["refused_calendar"] == 1
    # /loop/, then again/ up to 3 times; a 4th repetition of a segment is a loop.
    assert loop_pages == 4 and counts["refused_repeated_segments"] == 1
    assert counts["refused_url_length"] >= 1 and counts["refused_query_params"] >= 1
    assert not any(len(p) > 2083 for p in site.requests)
    assert counts["hits"] == 1 and counts["hashed"] == 1


def test_redirects_and_names_to_forbidden_addresses_are_refused(
    kodak: list[Path], tmp_path: Path
) -> None:
    # 127.0.0.2 stands in for an internal service: outside the allowed 127.0.0.1/32.
    internal = FixtureServer(
        {"prefix:/": Reply(body=jpeg(kodak[1]), content_type="image/jpeg")}, host="127.0.0.2"
    )
    with internal:
        secret = f"{internal.url}/secret.jpg"
        port = internal.url.rsplit(":", 1)[1]
        routes = {
            "/": Reply(
                body=html(
                    '<img src="/ok.jpg"><img src="/hop.jpg"><a href="/go">go</a>'
                    f'<img src="http://internal.test:{port}/named.jpg">'
                    '<img src="/ok-by-name.jpg">'
                )
            ),
            "/ok.jpg": Reply(body=jpeg(kodak[0]), content_type="image/jpeg"),
            "/hop.jpg": Reply(302, headers={"Location": "/hop2.jpg"}),
            "/hop2.jpg": Reply(302, headers={"Location": secret}),
            "/go": Reply(301, headers={"Location": f"{internal.url}/admin"}),
            "/ok-by-name.jpg": Reply(
                302, headers={"Location": "http://gallery.test:{port}/ok.jpg"}
            ),
        }
        db = tmp_path / "radar.db"
        store = case_with(db, [kodak[0], kodak[1]])
        with FixtureServer(routes) as site:
            site.routes["/ok-by-name.jpg"] = Reply(
                302, headers={"Location": site.url.replace("127.0.0.1", "gallery.test") + "/ok.jpg"}
            )
            tid = target(store, site.url + "/")
            stub = {
                "RADAR_DNS_STUB": {"internal.test": ["127.0.0.2"], "gallery.test": ["127.0.0.1"]}
            }
            (report,) = crawl(db, [tid], settings=stub)
    assert sum(internal.requests.values()) == 0, "nothing reached the internal service"
    counts = report.counts
    # The second redirect hop (literal 127.0.0.2), the page redirect, and the name that
    # resolves to 127.0.0.2 (refused by the resolver at connect time).
    assert counts["refused_address"] == 3, (counts, site.requests)
    assert site.requests["/hop.jpg"] == 1 and site.requests["/hop2.jpg"] == 1
    assert site.requests["/ok.jpg"] == 2  # once directly, once through gallery.test
    hits = store.hits("c1")
    assert {h.reference_label for h in hits} == {kodak[0].stem}
    assert counts["hashed"] + counts["cache_hits"] == 2


def test_oversized_and_malformed_images_are_refused_and_counted(
    kodak: list[Path], tmp_path: Path
) -> None:
    good = jpeg(kodak[2])
    big = jpeg(kodak[3], quality=100, size=2000)  # well over the 256 KiB cap below
    assert len(big) > 300_000
    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, "PNG")
    images = {
        "/good.jpg": Reply(body=good, content_type="image/jpeg"),
        "/big.jpg": Reply(body=big, content_type="image/jpeg"),
        "/big-unknown-length.jpg": Reply(
            body=big, content_type="image/jpeg", headers={"Content-Length": str(len(big))}
        ),
        "/empty.jpg": Reply(body=b"", content_type="image/jpeg"),
        "/truncated.jpg": Reply(body=good[: len(good) // 3], content_type="image/jpeg"),
        "/html.jpg": Reply(body=html("not an image"), content_type="image/jpeg"),
        "/bomb.png": Reply(body=bomb.getvalue(), content_type="image/png"),
        "/lying-type": Reply(body=good, content_type="text/plain"),
        "/missing.jpg": Reply(404, b"gone", content_type="text/plain"),
    }
    page = html("".join(f'<img src="{p}">' for p in images) + '<a href="/photo-page">x</a>')
    routes = {
        "/": Reply(body=page),
        **images,
        "/photo-page": Reply(body=good, content_type="text/html"),
    }
    db = tmp_path / "radar.db"
    store = case_with(db, [kodak[2]])
    with FixtureServer(routes) as site:
        tid = target(store, site.url + "/")
        (report,) = crawl(db, [tid], settings={"RADAR_MAX_IMAGE_BYTES": 256 * 1024})
    counts = report.counts
    assert counts["refused_too_large/image"] == 2
    errors = {k: v for k, v in counts.items() if k.startswith("error:")}
    assert errors == {
        "error:empty": 1,
        "error:truncated": 1,
        "error:not_image": 1,
        "error:too_many_pixels": 1,
    }
    assert counts["http:404"] == 2  # /missing.jpg and /robots.txt
    assert counts["sniffed:image_not_raster"] == 2  # the HTML and the empty body
    assert counts["sniffed:page_is_image"] == 1  # a "page" that is a JPEG is hashed
    # good.jpg, the same bytes as text/plain (on the same page: one sighting) and as a
    # "page" of its own: two sightings, two hits (decoded at most three times: the digest
    # cache only helps once one is done).
    assert counts["hashed"] + counts["cache_hits"] == 3 and counts["hits"] == 2
    assert counts["images_same_sighting"] == 1


def test_flaky_server_is_retried_with_backoff(kodak: list[Path], tmp_path: Path) -> None:
    attempts = itertools.count(1)

    def flaky(path: str, _: dict[str, str]) -> Reply:
        if next(attempts) <= 2:
            return Reply(503, b"busy", headers={"Retry-After": "0"}, content_type="text/plain")
        return Reply(body=jpeg(kodak[4]), content_type="image/jpeg")

    routes = {"/": Reply(body=html('<img src="/flaky.jpg">')), "/flaky.jpg": flaky}
    db = tmp_path / "radar.db"
    store = case_with(db, [kodak[4]])
    with FixtureServer(routes) as site:
        tid = target(store, site.url + "/")
        (report,) = crawl(db, [tid])
    assert site.requests["/flaky.jpg"] == 3
    assert report.counts["retries"] == 2 and report.counts["hits"] == 1


@pytest.mark.parametrize("etag", [True, False])
def test_second_crawl_is_incremental_and_evidence_is_kept(
    kodak: list[Path], tmp_path: Path, etag: bool
) -> None:
    photo = jpeg(kodak[5])

    def validated(body: bytes, ctype: str, tag: str) -> object:
        def reply(path: str, headers: dict[str, str]) -> Reply:
            if etag and headers.get("if-none-match") == tag:
                return Reply(304, b"", headers={"ETag": tag}, content_type=ctype)
            if not etag and headers.get("if-modified-since") == "Tue, 03 Nov 2026 10:00:00 GMT":
                return Reply(304, b"", content_type=ctype)
            extra = {"ETag": tag} if etag else {"Last-Modified": "Tue, 03 Nov 2026 10:00:00 GMT"}
            return Reply(body=body, headers=extra, content_type=ctype)

        return reply

    routes = {
        "/": validated(html('<img src="/p.jpg"><a href="/two">two</a>', "Home"), PAGE, '"h1"'),
        "/two": validated(html('<img src="/p.jpg">', "Two"), PAGE, '"t1"'),
        "/p.jpg": validated(photo, "image/jpeg", '"p1"'),
    }
    db = tmp_path / "radar.db"
    store = case_with(db, [kodak[5]])
    with FixtureServer(routes) as site:  # type: ignore[arg-type]
        base = site.url
        tid = target(store, base + "/")
        (first,) = crawl(db, [tid])
        (second,) = crawl(db, [tid])
    assert first.counts["pages"] == 2 and first.counts["hashed"] == 1
    assert second.counts["pages_unchanged"] == 2 and second.counts["images_unchanged"] == 1
    assert second.counts["hashed"] == 0 and second.counts["hits"] == 1
    (hit,) = store.hits("c1")
    assert hit.seen_count == 2 and hit.http_status == 304
    evidence = store.evidence(hit.image_url)
    assert [e.http_status for e in evidence] == [304, 200]
    latest, original = evidence
    assert original.page_title == "Home" and original.final_url == base + "/p.jpg"
    assert original.headers["Content-Type"] == "image/jpeg"
    assert original.content_sha256 == latest.content_sha256 == hit.content_sha256
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", original.fetched_at)
    snapshot = store.page_snapshot(original.page_sha256)
    assert snapshot is not None and '<img src="/p.jpg">' in snapshot.html
    assert latest.page_status == 304 and latest.page_sha256 == original.page_sha256


def test_gzip_bombs_are_refused_and_counted_by_name(kodak: list[Path], tmp_path: Path) -> None:
    import gzip

    bomb = gzip.compress(b"\x00" * (16 * 1024 * 1024), 9)  # 16 MiB inflated, 16 KiB sent
    assert len(bomb) < 40_000
    gzipped = {"Content-Encoding": "gzip"}
    routes = {
        "/": Reply(body=html('<img src="/ok.jpg"><img src="/bomb.jpg"><a href="/bomb">b</a>')),
        "/ok.jpg": Reply(body=jpeg(kodak[2]), content_type="image/jpeg"),
        "/bomb.jpg": Reply(body=bomb, headers=gzipped, content_type="image/jpeg"),
        "/bomb": Reply(body=bomb, headers=gzipped),
    }
    db = tmp_path / "radar.db"
    store = case_with(db, [kodak[2]])
    with FixtureServer(routes) as site:
        tid = target(store, site.url + "/")
        (report,) = crawl(db, [tid], settings={"RADAR_MAX_IMAGE_BYTES": 1024 * 1024})
    counts = report.counts
    assert site.requests["/bomb.jpg"] == 1 and site.requests["/bomb"] == 1  # no retries
    assert counts["refused_decompression_bomb/image"] == 1
    assert counts.get("refused_decompression_bomb/page") == 1, counts
    assert counts["hits"] == 1 and counts["pages"] == 1

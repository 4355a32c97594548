"""Tests for radar.demo.site: the in-memory demo website and its 127.0.0.1 server."""

from __future__ import annotations

import io
import re
import urllib.error
import urllib.request
from collections import Counter, deque
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from PIL import Image

from radar.demo.site import (
    TRANSFORMS,
    DemoServer,
    DemoSite,
    build_site,
    find_photos,
    transform,
)

HOWS = {"img", "srcset", "data-src", "css-background", "style-block", "og:image", "link"}
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+?)['"]?\s*\)""")
BASE = "http://demo.test"


class Refs(HTMLParser):
    """Every URL a page refers to, as (site path incl. query, how), plus external URLs."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.page, self.in_style = page, False
        self.found: set[tuple[str, str]] = set()
        self.external: set[str] = set()
        self.srcsets: list[dict[str, str]] = []  # per <img srcset>: url -> descriptor

    def add(self, url: str, how: str) -> None:
        parts = urlsplit(urljoin(BASE + self.page, url.strip()))
        if f"{parts.scheme}://{parts.netloc}" != BASE:
            self.external.add(parts.geturl())
            return
        self.found.add((parts.path + (f"?{parts.query}" if parts.query else ""), how))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "img":
            for key in ("src", "data-src"):
                if key in a:
                    self.add(a[key], "img" if key == "src" else key)
            candidates = [c.split() for c in a.get("srcset", "").split(",") if c.strip()]
            for url, *_ in candidates:
                self.add(url, "srcset")
            if candidates:
                page = BASE + self.page
                self.srcsets.append({urljoin(page, c[0])[len(BASE) :]: c[-1] for c in candidates})
        if tag == "meta" and a.get("property", a.get("name")) in ("og:image", "twitter:image"):
            self.add(a["content"], "og:image")
        if tag == "a" and "href" in a:
            self.add(a["href"], "link")
        for url in CSS_URL.findall(a.get("style", "")):
            self.add(url, "css-background")
        self.in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self.in_style = False

    def handle_data(self, data: str) -> None:
        if self.in_style:
            for url in CSS_URL.findall(data):
                self.add(url, "style-block")


def parse(site: DemoSite, page: str) -> Refs:
    parser = Refs(page)
    parser.feed(site.files[page][1].decode())
    return parser


def html_pages(site: DemoSite) -> list[str]:
    return [p for p, (ctype, _) in site.files.items() if ctype.startswith("text/html")]


def size(body: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(body)) as im:
        im.load()
        return im.size


@pytest.fixture(scope="module")
def photos() -> list[Path]:
    return find_photos()


@pytest.fixture(scope="module")
def site(photos: list[Path]) -> DemoSite:
    return build_site(photos)


def test_find_photos(photos: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert len(photos) == 24 and photos == sorted(photos)
    assert photos[0].name == "kodim01.png"
    assert find_photos(photos[0].parent) == photos == find_photos(photos[0].parent.parent)
    monkeypatch.setenv("RADAR_SHARED_IMAGES", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="RADAR_SHARED_IMAGES"):
        find_photos()


def test_build_is_deterministic(photos: list[Path], site: DemoSite) -> None:
    again = build_site(photos)
    assert again.files == site.files
    assert again.planted == site.planted and again.unrelated == site.unrelated
    assert build_site(photos, seed=8).files.keys() != site.files.keys()


def test_inventory(photos: list[Path], site: DemoSite) -> None:
    assert site.references == {p.stem: p for p in photos[:6]}
    assert len(site.planted) == 36 and len(site.unrelated) == 18
    transforms = Counter(p.transform for p in site.planted)
    assert set(transforms) == set(TRANSFORMS) and min(transforms.values()) >= 4
    assert {p.how for p in site.planted} == HOWS
    assert {(p.reference_label, p.transform) for p in site.planted} == {
        (label, t) for label in site.references for t in TRANSFORMS
    }
    paths = [p.path for p in site.planted] + site.unrelated
    assert len(set(paths)) == len(paths)
    for path in paths:
        assert path.startswith("/media/") and site.files[path][0] == "image/jpeg"
        size(site.files[path][1])  # decodable
    assert all(p.page_path in site.files for p in site.planted)


def test_planted_embedded_as_stated(site: DemoSite) -> None:
    for p in site.planted:
        assert (p.path, p.how) in parse(site, p.page_path).found, p


def test_srcset_planted_copy_is_largest_candidate(site: DemoSite) -> None:
    srcset = [p for p in site.planted if p.how == "srcset"]
    assert srcset
    for p in srcset:
        (group,) = [g for g in parse(site, p.page_path).srcsets if p.path in g]
        assert len(group) == 2 and group[p.path] == "2x"
        biggest = max(group, key=lambda u: size(site.files[u][1])[0])
        assert biggest == p.path


def hops_from_home(site: DemoSite) -> tuple[dict[str, int], set[str]]:
    """Breadth-first over links and embeds (each one hop), not entering /admin/ (robots.txt)."""
    depth, queue, external = {"/": 0}, deque(["/"]), set()
    while queue:
        page = queue.popleft()
        if not site.files[page][0].startswith("text/html"):
            continue
        refs = parse(site, page)
        external |= refs.external
        for url, _ in refs.found:
            assert url in site.files, (page, url)
            if url not in depth and not url.startswith("/admin/"):
                depth[url] = depth[page] + 1
                queue.append(url)
    return depth, external


def test_everything_reachable_within_three_hops(site: DemoSite) -> None:
    assert "Disallow: /admin/" in site.files["/robots.txt"][1].decode()
    depth, external = hops_from_home(site)
    assert "http://example.invalid/" in external
    for path in [p.path for p in site.planted] + site.unrelated:
        assert depth.get(path, 99) <= 3, path
    for page in ("/about", "/forum", "/gallery?page=3", "/post/1"):
        assert page in depth


@pytest.mark.parametrize("n_references", [1, 3, 24])
def test_other_reference_counts(photos: list[Path], n_references: int) -> None:
    small = build_site(photos, n_references=n_references, seed=3)
    assert len(small.planted) == 6 * n_references
    assert len(small.unrelated) == 24 - n_references
    depth, _ = hops_from_home(small)
    for p in small.planted:
        assert (p.path, p.how) in parse(small, p.page_path).found, p
        assert depth[p.path] <= 3
    assert all(depth[u] <= 3 for u in small.unrelated)


def test_admin_and_about_pages(site: DemoSite) -> None:
    assert ("/admin/", "link") in parse(site, "/about").found
    assert not [u for u, how in parse(site, "/about").found if u.startswith("/media/")]
    admin_images = {u for u, how in parse(site, "/admin/").found if u.startswith("/media/")}
    assert admin_images and admin_images <= set(site.unrelated)


def test_pages_mix_url_forms_and_lazy_placeholder(site: DemoSite) -> None:
    markup = "".join(site.files[p][1].decode() for p in html_pages(site))
    assert '"../media/' in markup and '"/media/' in markup and '"media/' in markup
    assert 'href="?page=2"' in markup and "twitter:image" in markup and 'rel="next"' in markup
    assert site.files["/static/placeholder.gif"][0] == "image/gif"
    assert size(site.files["/static/placeholder.gif"][1]) == (1, 1)


@pytest.mark.parametrize("name", TRANSFORMS)
def test_transform_sizes(photos: list[Path], name: str) -> None:
    with Image.open(photos[0]) as im:
        original = im.convert("RGB")
    w, h = original.size
    tw, th = size(transform(original, name))
    expected = {
        "resized": (tw, th) == (w // 2, h // 2),
        "recompressed": (tw, th) == (w, h),
        "mirrored": (tw, th) == (w, h),
        "cropped": tw < w and th < h,
        "caption": tw == w and th > h,
        "border": tw > w and th > h,
    }
    assert expected[name], (name, (w, h), (tw, th))


def test_transform_unknown_name_raises(photos: list[Path]) -> None:
    with Image.open(photos[0]) as im, pytest.raises(ValueError, match="unknown transform"):
        transform(im, "rotated")


def fetch(url: str, method: str = "GET") -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def test_server_serves_from_memory(site: DemoSite) -> None:
    image = site.planted[0].path
    with DemoServer(site) as server:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.base_url)
        status, ctype, body = fetch(server.base_url + "/")
        assert (status, ctype, body) == (200, "text/html; charset=utf-8", site.files["/"][1])
        status, ctype, body = fetch(server.base_url + image)
        assert (status, ctype, body) == (200, "image/jpeg", site.files[image][1])
        assert fetch(server.base_url + "/gallery?page=2")[2] == site.files["/gallery?page=2"][1]
        assert fetch(server.base_url + "/robots.txt")[1].startswith("text/plain")
        assert fetch(server.base_url + "/media/missing.jpg")[0] == 404
        status, _, body = fetch(server.base_url + image, method="HEAD")
        assert (status, body) == (200, b"")
        assert server.requests[image] == 2 and server.requests["/gallery?page=2"] == 1
        assert server.requests["/admin/"] == 0

"""Age gates and cookie walls: what counts as a gate and its answer (pure), and real
embedded crawls of an age-gated place on 127.0.0.1 (radar.demo.gated) in every gate
style, in English and Spanish, over HTTP and in Chromium, with the gate switched off,
and with a gate that never lets anyone in."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from scrapy.http import HtmlResponse

from crawler.gates import answers, asks, find_gate
from crawler.storage import CrawlStore
from radar.demo.gated import age_gated, gate_page
from radar.demo.site import DemoServer, DemoSite
from store import Target
from tests.crawler.harness import crawl
from tests.crawler.test_hostile import case_with
from tests.crawler.test_places import chromium  # noqa: F401 - the fixture

PAGE = "http://127.0.0.1:8080/vip/"


def _response(body: str, url: str = PAGE) -> HtmlResponse:
    return HtmlResponse(url, body=body.replace("{next}", "/vip/").encode(), encoding="utf-8")


@pytest.mark.parametrize("lang", ["en", "es"])
def test_each_gate_style_has_its_answer(lang: str) -> None:
    link = find_gate(_response(gate_page("link", lang)), ("127.0.0.1",))
    assert link is not None and (link.method, link.url) == (
        "GET",
        "http://127.0.0.1:8080/enter?next=/vip/",
    )
    get = find_gate(_response(gate_page("get", lang)))
    assert get is not None and get.method == "GET"
    assert get.url == "http://127.0.0.1:8080/enter?next=%2Fvip%2F&answer=yes"  # not "no"
    post = find_gate(_response(gate_page("post", lang)))
    assert post is not None and post.method == "POST"
    assert (post.url, post.body) == ("http://127.0.0.1:8080/enter", b"next=%2Fvip%2F&answer=yes")
    # A script's button has no answer without a browser.
    assert find_gate(_response(gate_page("button", lang))) is None


def test_what_is_a_gate_and_what_answers_it() -> None:
    for question in ("Are you 18 or older?", "¿Eres mayor de edad?", "We use cookies"):
        assert asks(question), question
    assert not asks("Holiday photos from the harbour")
    for label in ("I am 18", "I'm over 18", "Enter", "Soy mayor de edad", "Entrar", "Aceptar"):
        assert answers(label), label
    for label in ("No, I am under 18", "No, salir", "Leave", "Continue reading this whole story"):
        assert not answers(label), label
    # No gate without a question, even with an "Enter" link.
    assert find_gate(_response("<html><body><a href='/x'>Enter</a></body></html>")) is None
    # Never a way through to another host, nor to the page itself.
    off_host = "<p>Are you 18?</p><a href='http://elsewhere.example/ok'>I am 18</a>"
    assert find_gate(_response(off_host), ("127.0.0.1",)) is None
    form_off_host = (
        "<p>Are you 18?</p><form action='http://elsewhere.example/enter' method='post'>"
        "<button>I am 18</button></form>"
    )
    assert find_gate(_response(form_off_host), ("127.0.0.1",)) is None
    assert find_gate(_response("<p>Are you 18?</p><a href='#'>Enter</a>")) is None
    # The target's other allowed domains are its own hosts.
    cdn = "<p>Are you 18?</p><a href='http://age.site.example/ok'>Enter</a>"
    found = find_gate(_response(cdn), ("site.example",))
    assert found is not None and found.url == "http://age.site.example/ok"


def _place(kodak: list[Path], **kwargs: object) -> DemoSite:
    return age_gated(kodak[:2], kodak[10:14], **kwargs)  # type: ignore[arg-type]


def _target(store: CrawlStore, url: str, **kwargs: object) -> int:
    settings: dict[str, object] = {"max_depth": 2, **kwargs}
    return store.add_target(Target("c1", url, ("127.0.0.1",), **settings)).id  # type: ignore[arg-type]


def _found(store: CrawlStore, site: DemoSite) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    planted = {(p.path, p.reference_label) for p in site.planted}
    found = {(urlsplit(h.image_url).path, h.reference_label) for h in store.hits("c1")}
    return planted, found


@pytest.mark.parametrize(
    ("style", "lang"), [("link", "en"), ("get", "en"), ("post", "en"), ("post", "es")]
)
def test_a_gate_is_passed_and_the_photos_behind_it_found(
    style: str, lang: str, kodak: list[Path], tmp_path: Path
) -> None:
    site = _place(kodak, style=style, lang=lang)
    db = tmp_path / "radar.db"
    store = case_with(db, list(site.references.values()))
    with DemoServer(site) as server:
        (report,) = crawl(db, [_target(store, server.base_url + "/vip/")])
        requests, cookies = dict(server.requests), list(server.cookies)
    planted, found = _found(store, site)
    assert len(planted) == 2 and found == planted
    counts = report.counts
    assert (counts["gates_passed"], counts["gates_failed"]) == (1, 0)
    # The gate page once, answered once, the page again; the next page already with
    # the cookie (no second gate).
    assert requests["/vip/"] == 2 and requests["/vip/more"] == 1
    assert sum(n for p, n in requests.items() if p.startswith("/enter")) == 1
    assert ("/vip/more", "over18=yes") in cookies


def test_a_target_with_gates_off_stops_at_the_gate(kodak: list[Path], tmp_path: Path) -> None:
    site = _place(kodak, style="link")
    db = tmp_path / "radar.db"
    store = case_with(db, list(site.references.values()))
    with DemoServer(site) as server:
        tid = _target(store, server.base_url + "/vip/", pass_gates=False, max_depth=0)
        (report,) = crawl(db, [tid])
        requests, cookies = dict(server.requests), list(server.cookies)
    assert store.get_target(tid).pass_gates is False
    assert store.hits("c1") == [] and report.counts["images"] == 0
    assert report.counts["gates_passed"] == report.counts["gates_failed"] == 0
    assert not any(p.startswith("/enter") for p in requests) and cookies == []


def test_a_gate_that_never_lets_in_is_answered_once(kodak: list[Path], tmp_path: Path) -> None:
    site = _place(kodak, style="post", sets_cookie=False)
    db = tmp_path / "radar.db"
    store = case_with(db, list(site.references.values()))
    with DemoServer(site) as server:
        (report,) = crawl(db, [_target(store, server.base_url + "/vip/")])
        requests = dict(server.requests)
    assert (report.counts["gates_passed"], report.counts["gates_failed"]) == (0, 1)
    assert requests["/enter"] == 1 and requests["/vip/"] == 2
    assert store.hits("c1") == []


def test_two_targets_on_one_host_keep_their_own_cookies(kodak: list[Path], tmp_path: Path) -> None:
    """Crawled together, on one host and port: the target that passes the gate gets
    the photos; the one with gates off never sends (or gets) the other's cookie."""
    site = _place(kodak, style="post")
    db = tmp_path / "radar.db"
    store = case_with(db, list(site.references.values()))
    with DemoServer(site) as server:
        passing = _target(store, server.base_url + "/vip/")
        stopped = _target(store, server.base_url + "/vip/more?as=other", pass_gates=False)
        reports = crawl(db, [passing, stopped])
        cookies, base = list(server.cookies), server.base_url
    by_target = {r.target_id: r.counts for r in reports}
    assert by_target[passing]["gates_passed"] == 1
    assert by_target[stopped]["images"] == 0 and by_target[stopped]["gates_passed"] == 0
    assert cookies and all(not p.endswith("as=other") for p, _ in cookies)
    planted, found = _found(store, site)
    assert found == planted
    assert {h.page_url for h in store.hits("c1")} <= {base + "/vip/", base + "/vip/more"}


@pytest.mark.parametrize("lang", ["en", "es"])
def test_a_script_gate_is_passed_by_clicking_in_chromium(
    chromium: str,  # noqa: F811 - the fixture
    lang: str,
    kodak: list[Path],
    tmp_path: Path,
) -> None:
    site = _place(kodak, style="button", lang=lang)
    db = tmp_path / "radar.db"
    store = case_with(db, list(site.references.values()))
    with DemoServer(site) as server:
        tid = _target(store, server.base_url + "/vip/", render="browser")
        (report,) = crawl(db, [tid], settings={"RADAR_BROWSER_MAX_PAGES": 1})
        requests = dict(server.requests)
    planted, found = _found(store, site)
    assert found == planted
    counts = report.counts
    assert (counts["gates_passed"], counts["gates_failed"]) == (1, 0)
    # The gate, the page after the click; the next page in the same (the target's)
    # browser context already carries the cookie.
    assert requests["/vip/"] == 2 and requests["/vip/more"] == 1


def test_a_script_gate_without_a_browser_hides_everything(
    kodak: list[Path], tmp_path: Path
) -> None:
    site = _place(kodak, style="button")
    db = tmp_path / "radar.db"
    store = case_with(db, list(site.references.values()))
    with DemoServer(site) as server:
        (report,) = crawl(db, [_target(store, server.base_url + "/vip/")])
    assert store.hits("c1") == [] and report.counts["gates_passed"] == 0


def test_an_unchanged_page_behind_a_gate_is_passed_again_next_round(
    kodak: list[Path], tmp_path: Path
) -> None:
    """The next round has a fresh cookie jar: the gate is answered again and the page,
    asked for with the last round's validators, answers 304 and counts as passed."""
    from PIL import Image

    from radar.demo.site import transform
    from tests.crawler.harness import FixtureServer, Reply

    with Image.open(kodak[0]) as image:
        photo = transform(image, "resized")
    gate = gate_page("link").replace("{next}", "/vip/").encode()
    page = b'<html><body><h1>Members</h1><img src="/media/a.jpg"></body></html>'

    def vip(path: str, headers: dict[str, str]) -> Reply:
        if "over18=yes" not in headers.get("cookie", ""):
            return Reply(body=gate)
        if headers.get("if-none-match") == '"v1"':
            return Reply(304, headers={"ETag": '"v1"'})
        return Reply(body=page, headers={"ETag": '"v1"'})

    enter = Reply(303, headers={"Location": "/vip/", "Set-Cookie": "over18=yes; Path=/"})
    routes = {"/vip/": vip, "/enter?next=/vip/": enter, "/media/a.jpg": Reply(body=photo)}
    db = tmp_path / "radar.db"
    store = case_with(db, [kodak[0]])
    with FixtureServer(routes) as server:  # type: ignore[arg-type]
        tid = _target(store, server.url + "/vip/", max_depth=0)
        (first,) = crawl(db, [tid])
        (second,) = crawl(db, [tid])
        assert server.requests["/enter?next=/vip/"] == 2
    assert first.counts["gates_passed"] == second.counts["gates_passed"] == 1
    assert second.counts["pages_unchanged"] == 1
    (hit,) = store.hits("c1")
    assert hit.seen_count == 2


def test_the_cookie_a_browser_gate_set_goes_with_the_image_requests(
    chromium: str,  # noqa: F811 - the fixture
    kodak: list[Path],
    tmp_path: Path,
) -> None:
    """A script gate passed in Chromium sets its cookie in the browser; the images are
    fetched by Scrapy from a host that serves them only with that cookie (as a CDN
    that checks it does), so the target's image requests carry the browser's cookies
    for their host, and no other host gets them."""
    from tests.crawler.harness import FixtureServer, Reply
    from tests.crawler.test_hostile import jpeg

    gate = gate_page("button").replace("{next}", "/vip/").encode()
    photos = {"/cdn/a.jpg": jpeg(kodak[0]), "/cdn/b.jpg": jpeg(kodak[1])}
    other = FixtureServer(
        {"/c.jpg": Reply(body=jpeg(kodak[2]), content_type="image/jpeg")}, host="127.0.0.2"
    ).start()
    members = '<img src="/cdn/a.jpg"><img src="/cdn/b.jpg">' + f'<img src="{other.url}/c.jpg">'

    def vip(path: str, headers: dict[str, str]) -> Reply:
        if "over18=yes" not in headers.get("cookie", ""):
            return Reply(body=gate)
        return Reply(body=f"<html><body><h1>Members</h1>{members}</body></html>".encode())

    def cdn(path: str, headers: dict[str, str]) -> Reply:
        if "over18=yes" not in headers.get("cookie", ""):
            return Reply(403, b"no cookie, no image", content_type="text/plain")
        return Reply(body=photos[path], content_type="image/jpeg")

    routes = {"/vip/": vip, "prefix:/cdn/": cdn}
    db = tmp_path / "radar.db"
    store = case_with(db, [kodak[0], kodak[1]])
    try:
        with FixtureServer(routes) as server:  # type: ignore[arg-type]
            tid = _target(store, server.url + "/vip/", max_depth=0, render="browser")
            (report,) = crawl(db, [tid], allowed=("127.0.0.1/32", "127.0.0.2/32"))
            seen = list(server.headers_seen)
    finally:
        other.stop()
    counts = report.counts
    assert counts["gates_passed"] == 1 and "http:403" not in counts
    assert counts["hashed"] == 3 and counts["hits"] == 2
    cdn_cookies = {path: h.get("cookie", "") for path, h in seen if path.startswith("/cdn/")}
    assert cdn_cookies == {"/cdn/a.jpg": "over18=yes", "/cdn/b.jpg": "over18=yes"}
    # The other host got no cookie of this site's.
    assert [h.get("cookie") for path, h in other.headers_seen if path == "/c.jpg"] == [None]


def test_browser_cookies_go_only_where_a_browser_would_send_them() -> None:
    from crawler.browser import cookies_for

    cookies = [
        {"name": "over18", "value": "yes", "domain": "site.example", "path": "/"},
        {"name": "wide", "value": "1", "domain": ".site.example", "path": "/", "secure": True},
        {"name": "ads", "value": "x", "domain": "tracker.example", "path": "/"},
    ]
    assert cookies_for("http://site.example/a.jpg", cookies) == [
        {"name": "over18", "value": "yes", "path": "/", "secure": False},
        {"name": "wide", "value": "1", "path": "/", "secure": True, "domain": ".site.example"},
    ]
    assert [c["name"] for c in cookies_for("http://cdn.site.example/a.jpg", cookies)] == ["wide"]
    assert cookies_for("http://othersite.example/a.jpg", cookies) == []

"""Tests for radar.demo.gated: the age-gated place and how DemoServer keeps its gate."""

from __future__ import annotations

import http.client
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from radar.demo.gated import STYLES, age_gated, gate_page
from radar.demo.site import DemoServer, find_photos


@pytest.fixture(scope="module")
def photos() -> list[Path]:
    return find_photos()


def _get(
    base: str, path: str, cookie: str = "", method: str = "GET", body: str = ""
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(urlsplit(base).netloc, timeout=10)
    headers = {"Cookie": cookie} if cookie else {}
    if body:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=body or None, headers=headers)
    response = conn.getresponse()
    result = response.status, dict(response.getheaders()), response.read()
    conn.close()
    return result


def test_the_place_holds_one_copy_of_each_reference_on_two_gated_pages(
    photos: list[Path],
) -> None:
    site = age_gated(photos[:3], photos[10:14])
    assert sorted(p.reference_label for p in site.planted) == ["kodim01", "kodim02", "kodim03"]
    assert {p.page_path for p in site.planted} <= {"/vip/", "/vip/more"}
    assert all(p.path.startswith("/media/") for p in site.planted)  # not behind the gate
    assert site.gate is not None and site.gate.prefix == "/vip/"
    for style in STYLES:
        for lang in ("en", "es"):
            assert "{next}" in gate_page(style, lang) or style == "button"
    with pytest.raises(ValueError, match="unknown gate style"):
        gate_page("captcha")


def test_the_gate_is_served_until_answered_yes(photos: list[Path]) -> None:
    site = age_gated(photos[:1], photos[10:11], style="post", lang="es")
    with DemoServer(site) as server:
        base = server.base_url
        status, _, body = _get(base, "/vip/")
        assert status == 200 and "mayor de edad" in body.decode()
        assert b"<img" not in body
        # "No" sets nothing; "yes" sets the cookie and goes back, never off the site.
        status, headers, _ = _get(base, "/enter", method="POST", body="next=/vip/&answer=no")
        assert status == 303 and "Set-Cookie" not in headers
        status, headers, _ = _get(base, "/enter", method="POST", body="next=//evil/&answer=yes")
        assert (status, headers["Location"]) == (303, "/")
        assert headers["Set-Cookie"].startswith("over18=yes;")
        status, _, body = _get(base, "/vip/more", cookie="over18=yes")
        assert status == 200 and b"<img" in body and b"Members' photos" in body
        image = site.planted[0].path
        assert _get(base, image)[0] == 200  # photos are outside the gate
    assert server.cookies == [("/vip/more", "over18=yes")]


def test_a_gate_that_never_sets_its_cookie(photos: list[Path]) -> None:
    site = age_gated(photos[:1], [], style="get", sets_cookie=False)
    with DemoServer(site) as server:
        status, headers, _ = _get(server.base_url, "/enter?next=/vip/&answer=yes")
        assert status == 303 and "Set-Cookie" not in headers

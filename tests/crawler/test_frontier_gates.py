"""The distributed crawler answers age gates as the embedded one does: a real
:class:`crawler.frontier.FrontierSpider` crawl of two targets' gated seeds in one
process, with Kafka replaced by stand-ins (records handed to it, links and commits
kept), against the age-gated demo place on 127.0.0.1, over HTTP and in Chromium."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from radar.demo.gated import age_gated
from radar.demo.site import DemoServer
from tests.crawler.harness import frontier_crawl
from tests.crawler.test_places import chromium  # noqa: F401 - the fixture
from wire import PageRequest


@pytest.mark.parametrize("render", ["http", "browser"])
def test_the_frontier_passes_gates_per_target(
    render: str,
    request: pytest.FixtureRequest,
    kodak: list[Path],
) -> None:
    if render == "browser":
        request.getfixturevalue("chromium")
    site = age_gated(kodak[:2], kodak[10:14], style="button" if render == "browser" else "post")
    with DemoServer(site) as server:
        seeds = [
            PageRequest(
                url=server.base_url + "/vip/",
                case_id="c1",
                target_id=target_id,
                depth=0,
                max_depth=1,
                max_pages=10,
                allowed_domains=("127.0.0.1",),
                crawl_id=f"{target_id}@now",
                render=render,
            )
            for target_id in (1, 2)
        ]
        result = frontier_crawl(seeds, browser=render == "browser")
        requests, cookies = dict(server.requests), list(server.cookies)
    stats = result["stats"]
    # Each target met the gate and passed it itself: the second one, crawled in the
    # same process after the first had passed, did not get the first one's cookie.
    assert stats["radar/gates/passed"] == 2 and "radar/gates/failed" not in stats
    assert requests["/vip/"] == 4
    assert sum(1 for path, _ in cookies if path == "/vip/") == 2
    # What is behind the gate was found for both, and the link on is published with
    # the target's setting.
    on_seed = {urlsplit(u).path for u in _image_paths(site.files["/vip/"][1])}
    for target_id in (1, 2):
        mine = {urlsplit(url).path for t, url in result["published"] if t == target_id}
        assert mine == on_seed, target_id
    published_links = [PageRequest.from_json(v) for v in result["links"]]
    assert sorted((p.target_id, urlsplit(p.url).path) for p in published_links) == [
        (1, "/vip/more"),
        (2, "/vip/more"),
    ]
    assert all(p.pass_gates for p in published_links)
    # Both records were finished (page, gate, page again, images) and committed.
    assert result["committed"] == {0: 2}


def _image_paths(html: bytes) -> list[str]:
    import re

    return re.findall(r'<img src="([^"]+)"', html.decode())

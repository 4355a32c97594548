"""The distributed crawler follows the ``Sitemap:`` lines of robots.txt as the embedded
crawl does (tests/crawler/test_places.py), in every round: Scrapy reads a site's
robots.txt once per process, so a crawler remembers its sitemaps for the next rounds.
A real FrontierSpider with Kafka replaced by stand-ins (tests/crawler/harness.py)."""

from __future__ import annotations

from tests.crawler.harness import FixtureServer, Reply, frontier_crawl
from wire import PageRequest


def test_each_rounds_seed_publishes_the_sitemaps_of_robots_txt() -> None:
    from tests.crawler.test_hostile import html

    routes: dict[str, Reply] = {"/": Reply(body=html("<p>nothing linked</p>"))}
    with FixtureServer(routes) as site:  # type: ignore[arg-type]
        robots = (
            "User-agent: *\nAllow: /\n"
            f"Sitemap: {site.url}/sitemap-posts.xml\nSitemap: https://elsewhere.example/map.xml\n"
        )
        routes["/robots.txt"] = Reply(body=robots.encode(), content_type="text/plain")
        seeds = [
            PageRequest(
                url=site.url + "/",
                case_id="c1",
                target_id=1,
                depth=0,
                max_depth=0,
                max_pages=10,
                allowed_domains=("127.0.0.1",),
                crawl_id=round_id,
            )
            for round_id in ("1@monday", "1@tuesday")
        ]
        result = frontier_crawl(seeds, browser=False)
        fetched, base = dict(site.requests), site.url
    links = [PageRequest.from_json(v) for v in result["links"]]
    # One sitemap per round, parsed as XML by its owner; the other host's is outside
    # the target's domains, as in the embedded crawl.
    assert sorted((p.crawl_id, p.url, p.parse_as, p.depth) for p in links) == [
        (round_id, base + "/sitemap-posts.xml", "xml", 0) for round_id in ("1@monday", "1@tuesday")
    ]
    assert result["stats"]["radar/xml/robots_sitemaps"] == 4
    assert fetched["/robots.txt"] == 1  # read once, remembered for the second round
    assert result["committed"] == {0: 2}

"""Issue 12 row 11: a target URL that cannot be crawled (a blank in the host, port
99999) is refused when added, and one already stored fails its own crawl with a counted
``bad_url`` error and exit 1, without a traceback and without stopping the others."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crawler.storage import CrawlStore
from store import Target
from store.models import target_url_problem
from tests.radar.test_cli import one_line_error, radar

BAD_URLS = [
    "http://exa mple.com/",
    "http://127.0.0.1:99999/",
    "http://127.0.0.1:0/",
    "http://[::1/x",
    "http://example.com/a\r\nb",
    "ftp://example.com/",
    "http:///nohost",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_the_url_rule_refuses(url: str) -> None:
    assert target_url_problem(url)


@pytest.mark.parametrize(
    "url", ["http://example.com/", "https://127.0.0.1:8443/a?b=c", "http://[::1]:80/"]
)
def test_the_url_rule_accepts(url: str) -> None:
    assert target_url_problem(url) is None


def test_the_store_refuses_a_bad_target(tmp_path: Path) -> None:
    from store import Case

    store = CrawlStore(tmp_path / "r.db")
    store.create_case(Case("c1"))
    with pytest.raises(ValueError, match="bad target URL"):
        store.add_target(Target("c1", "http://127.0.0.1:99999/", ("127.0.0.1",)))
    assert store.targets("c1") == []


@pytest.mark.parametrize("url", ["http://exa mple.com/", "http://127.0.0.1:99999/"])
def test_the_command_line_refuses_a_bad_target(tmp_path: Path, url: str) -> None:
    db = tmp_path / "r.db"
    assert radar(db, "case", "create", "c1").returncode == 0
    assert "bad target URL" in one_line_error(radar(db, "case", "add-target", "c1", url))
    assert "bad target URL" in one_line_error(radar(db, "target", "add", "c1", url))
    assert CrawlStore(db).targets("c1") == []


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<html><body>nothing here</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_a_stored_bad_target_fails_alone_with_a_counted_error(tmp_path: Path, site: str) -> None:
    db = tmp_path / "r.db"
    assert radar(db, "case", "create", "c1").returncode == 0
    for _ in range(3):
        assert radar(db, "case", "add-target", "c1", site).returncode == 0
    # Rows written before the rule: sneak the bad URLs in behind the store's back.
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE targets SET url='http://exa mple.com/' WHERE id=1")
        raw.execute("UPDATE targets SET url='http://127.0.0.1:99999/' WHERE id=2")
    result = radar(db, "crawl", "c1", "--allow-network", "127.0.0.1/32", "-q")
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    assert "radar: error: target #1 not crawled: bad target URL" in result.stderr
    assert "radar: error: target #2 not crawled: bad target URL" in result.stderr
    reports = {r.target_id: r for r in CrawlStore(db).crawl_reports("c1")}
    for bad in (1, 2):
        assert reports[bad].finish_reason == "bad_url"
        assert reports[bad].counts["error:bad_url"] == 1
    assert reports[3].finish_reason == "finished" and reports[3].counts["pages"] == 1
    assert "error:bad_url" not in reports[3].counts
    assert "error:bad_url 1" in result.stdout


def test_a_crawl_of_good_targets_still_exits_0(tmp_path: Path, site: str) -> None:
    db = tmp_path / "r.db"
    assert radar(db, "case", "create", "c1").returncode == 0
    assert radar(db, "case", "add-target", "c1", site).returncode == 0
    result = radar(db, "crawl", "c1", "--allow-network", "127.0.0.1/32", "-q")
    assert result.returncode == 0, result.stderr


def test_a_stored_bad_target_is_not_seeded_on_the_frontier() -> None:
    from radar.distributed import seed_targets
    from wire.frontier import PageRequest

    class Bus:
        def __init__(self) -> None:
            self.sent: list[bytes] = []

        def publish(self, topic: str, key: str, value: bytes) -> None:
            self.sent.append(value)

    bus = Bus()
    good = Target("c1", "https://site.example/", ("site.example",), id=1)
    bad = Target("c1", "http://site.example:99999/", ("site.example",), id=2)
    assert seed_targets([bad, good], bus, "2026-12-02T00:00:00Z") == ["1@2026-12-02T00:00:00Z"]
    assert [PageRequest.from_json(v).target_id for v in bus.sent] == [1]


def test_schedule_run_of_a_stored_bad_target_exits_1(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    assert radar(db, "case", "create", "c1").returncode == 0
    assert radar(db, "target", "add", "c1", "https://site.example/").returncode == 0
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE targets SET url='http://site.example:99999/' WHERE id=1")
    result = radar(db, "schedule", "run", "-q")
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    assert "radar: error: target #1 not crawled: bad target URL" in result.stderr
    (report,) = CrawlStore(db).crawl_reports("c1")
    assert report.finish_reason == "bad_url" and report.counts["error:bad_url"] == 1

"""Watching places over time, through the command line and the function API: targets
of every kind, the schedule, the long-running scheduler, re-checks and evidence."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crawler.storage import CrawlStore
from radar.recheck import recheck
from radar.schedule import due_targets, stamp
from store import Target
from tests.crawler.harness import FixtureServer, Reply
from tests.crawler.test_hostile import html, jpeg
from tests.radar.test_cli import radar

ALLOW = ("--allow-network", "127.0.0.1/32")


@pytest.fixture
def watched(kodak: list[Path], tmp_path: Path):  # type: ignore[no-untyped-def]
    photo = jpeg(kodak[6])
    routes = {
        "/": Reply(body=html('<img src="/p.jpg">', "Watched page")),
        "/p.jpg": Reply(body=photo, content_type="image/jpeg"),
    }
    db = tmp_path / "radar.db"
    assert radar(db, "case", "create", "c1").returncode == 0
    assert radar(db, "case", "add-references", "c1", str(kodak[6])).returncode == 0
    with FixtureServer(routes) as site:
        yield db, site, routes


def test_due_targets_is_pure_and_ordered() -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    never = Target("c", "https://a.example/", ("a.example",), id=1)
    fresh = Target(
        "c",
        "https://b.example/",
        ("b.example",),
        id=2,
        last_crawled_at=stamp(now),
        interval_seconds=3600,
    )
    stale = Target(
        "c",
        "https://c.example/",
        ("c.example",),
        id=3,
        last_crawled_at=stamp(now - timedelta(hours=2)),
        interval_seconds=3600,
    )
    paused = Target("c", "https://d.example/", ("d.example",), id=4, enabled=False)
    assert [t.id for t in due_targets([fresh, stale, paused, never], now)] == [1, 3]


def test_targets_schedule_and_evidence_on_the_command_line(watched) -> None:  # type: ignore[no-untyped-def]
    db, site, _ = watched
    added = radar(db, "target", "add", "c1", site.url + "/", "--every", "2h", "--max-depth", "0")
    assert added.returncode == 0, added.stderr
    channel = radar(db, "target", "add", "c1", "https://t.me/snapshare", "--kind", "telegram")
    assert channel.returncode == 0 and "https://t.me/s/snapshare" in channel.stdout
    assert radar(db, "target", "pause", "2").returncode == 0
    listed = radar(db, "schedule", "list")
    assert "DUE #1" in listed.stdout and "paused" in listed.stdout
    assert "1 of 2 targets due now" in listed.stdout

    ran = radar(db, "schedule", "run", "-q", *ALLOW)
    assert ran.returncode == 0, ran.stderr
    assert "1 hits written" in ran.stdout
    again = radar(db, "schedule", "run", "-q", *ALLOW)
    assert again.returncode == 0 and "nothing to crawl: 0 targets due" in again.stdout
    store = CrawlStore(db)
    assert store.lease_of(1) == (None, None), "the lease is released after the round"
    (hit,) = store.hits("c1")

    shown = radar(db, "evidence", hit.id)
    assert shown.returncode == 0, shown.stderr
    assert f"final URL  {site.url}/p.jpg" in shown.stdout
    assert (
        "title 'Watched page'" in shown.stdout
        and "header     Content-Type: image/jpeg" in shown.stdout
    )
    page = radar(db, "evidence", hit.id, "--html")
    assert '<img src="/p.jpg">' in page.stdout
    (row,) = [
        json.loads(line)
        for line in radar(db, "evidence", hit.image_url, "--json").stdout.splitlines()
    ]
    assert row["content_sha256"] == hit.content_sha256 and "body" not in row


def test_recheck_reports_still_there_gone_changed_and_error(
    watched,
    kodak: list[Path],  # type: ignore[no-untyped-def]
) -> None:
    db, site, routes = watched
    store = CrawlStore(db)
    tid = store.add_target(Target("c1", site.url + "/", ("127.0.0.1",), max_depth=0)).id
    ran = radar(db, "crawl", "c1", "--target", str(tid), "-q", *ALLOW)
    assert ran.returncode == 0, ran.stderr
    image, page = f"{site.url}/p.jpg", f"{site.url}/"

    results = recheck(db, [image, page], allowed_networks=["127.0.0.1/32"])
    assert [(r.url, r.status) for r in results] == [(image, "still_there"), (page, "still_there")]
    assert results[0].matched == (kodak[6].stem,) and results[0].http_status == 200

    routes["/p.jpg"] = Reply(body=jpeg(kodak[7]), content_type="image/jpeg")  # replaced
    (changed,) = recheck(db, [image], allowed_networks=["127.0.0.1/32"])
    assert changed.status == "changed" and changed.matched == ()
    routes["/p.jpg"] = Reply(410, b"removed", content_type="text/plain")
    (gone,) = recheck(db, [image], allowed_networks=["127.0.0.1/32"])
    assert gone.status == "gone" and gone.detail == "HTTP 410"
    routes["/p.jpg"] = Reply(503, b"busy", content_type="text/plain")
    (unknown,) = recheck(db, [image], allowed_networks=["127.0.0.1/32"])
    assert unknown.status == "error", "a failing server is never reported as gone"
    assert [r.status for r in store.rechecks(image)] == ["error", "gone", "changed", "still_there"]
    (hit,) = store.hits("c1")
    # The crawl and the first re-check saw it (its two URLs may fall in one second).
    assert hit.seen_count >= 2


def test_scheduler_runs_due_crawls_and_stops_on_sigterm(watched) -> None:  # type: ignore[no-untyped-def]
    db, site, _ = watched
    assert radar(db, "target", "add", "c1", site.url + "/", "--max-depth", "0").returncode == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "RADAR_DB": str(db),
        "RADAR_HEALTH_PORT": str(port),
        "RADAR_HEALTH_HOST": "127.0.0.1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "radar", "scheduler", "--poll", "1", *ALLOW],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not CrawlStore(db).crawl_reports("c1"):
            time.sleep(0.5)
        time.sleep(3)  # the target is not due again: no second round may start
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            assert r.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            lines = r.read().decode().splitlines()
        assert 'radar_scheduler_rounds_total{result="ok"} 1.0' in lines
        assert "radar_scheduler_round_seconds_count 1.0" in lines
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert len(CrawlStore(db).crawl_reports("c1")) == 1
    assert "scheduler: stopped after 1 rounds" in out
    assert site.requests["/p.jpg"] == 1


def test_distributed_scheduler_seeds_due_targets_once(service_db: str) -> None:
    """`radar scheduler` in distributed mode: each due target's seed goes on the frontier
    once per interval, as a page request of its kind; a target leased by another
    scheduler is left to it."""
    from bus import InProcessBus
    from radar.distributed import seed_due
    from store import Case
    from wire import FRONTIER_TOPIC, PageRequest

    store = CrawlStore(service_db)
    store.create_case(Case("c", "t"))
    site = store.add_target(Target("c", "https://a.example/", ("a.example",)))
    chan = store.add_target(Target("c", "https://t.me/s/chan", ("t.me",), kind="telegram"))
    feed = store.add_target(Target("c", "https://b.example/f.xml", ("b.example",), kind="feed"))
    seeds: list[PageRequest] = []
    bus = InProcessBus()
    bus.subscribe(FRONTIER_TOPIC, lambda key, value: seeds.append(PageRequest.from_json(value)))
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert store.claim_target(
        feed.id, "other-scheduler:1", stamp(now), stamp(now + timedelta(hours=1))
    )

    done = seed_due(store, bus, now)
    assert done.due == 3 and [t.id for t in done.claimed or []] == [site.id, chan.id]
    assert [(s.target_id, s.target_kind, s.parse_as) for s in seeds] == [
        (site.id, "website", "page"),
        (chan.id, "telegram", "channel"),
    ]
    assert {s.crawl_id for s in seeds} == {f"{site.id}@{stamp(now)}", f"{chan.id}@{stamp(now)}"}
    assert store.lease_of(site.id) == (None, None)  # released after seeding

    seeds.clear()
    assert seed_due(store, bus, now + timedelta(hours=1)).claimed == []  # not due again yet
    assert seeds == []
    store.release_target(feed.id, "other-scheduler:1")
    later = seed_due(store, bus, now + timedelta(days=1, seconds=1))
    assert {t.id for t in later.claimed or []} == {site.id, chan.id, feed.id}
    assert [s.parse_as for s in seeds if s.target_id == feed.id] == ["xml"]


def test_two_scheduler_replicas_seed_each_due_target_once(service_db: str) -> None:
    """Two `radar scheduler` replicas on one service store (PostgreSQL in the
    deployment) run their rounds at the same moment: every due target goes on the
    frontier exactly once."""
    from bus import InProcessBus
    from radar.distributed import seed_due
    from store import Case
    from wire import FRONTIER_TOPIC, PageRequest

    setup = CrawlStore(service_db)
    setup.create_case(Case("c", "t"))
    ids = {
        setup.add_target(Target("c", f"https://s{n}.example/", (f"s{n}.example",))).id
        for n in range(12)
    }
    setup.close()
    seeds: list[PageRequest] = []
    bus = InProcessBus()
    bus.subscribe(FRONTIER_TOPIC, lambda key, value: seeds.append(PageRequest.from_json(value)))
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    barrier = threading.Barrier(2)
    claimed: list[int] = []

    def replica(name: str) -> None:
        store = CrawlStore(service_db)  # each replica its own connection and lease name
        try:
            barrier.wait()
            claimed.extend(t.id for t in seed_due(store, bus, now, owner=name).claimed or [])
        finally:
            store.close()

    threads = [threading.Thread(target=replica, args=(f"scheduler-{n}",)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(claimed) == sorted(ids)
    assert sorted(s.target_id for s in seeds) == sorted(ids)


def test_evidence_shows_hostile_header_values_escaped(tmp_path: Path) -> None:
    """A host controls its header values, title and redirect targets: the terminal gets
    them with control characters made visible, never raw (no escape sequences)."""
    from store import Case
    from store.evidence import Evidence

    db = tmp_path / "radar.db"
    store = CrawlStore(db)
    store.create_case(Case("c1", "Case"))
    url = "https://img.host.example/p.jpg"
    store.save_evidence(
        Evidence(
            "c1",
            1,
            url,
            url,
            url + "\x1b]8;;https://evil.example\x07",
            "https://host.example/",
            "2026-05-01T10:00:00Z",
            200,
            "ab" * 32,
            headers={
                "X-Title": "\x1b]0;pwned\x07\x1b[2J\x1b[31mred",
                "X-Split\r\nfake": "one\rtwo\u202eevil\x9b",
                "Server": "nginx (fine) ¡olé!",
            },
            redirects=("https://host.example/\x1b[1Ahop",),
            page_title="\x1b[5mtitle",
        )
    )
    store.close()
    shown = radar(db, "evidence", url)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert not any(c in out for c in "\x1b\x07\r\x9b\u202e"), repr(out)
    assert r"header     X-Title: \x1b]0;pwned\x07\x1b[2J\x1b[31mred" in out
    assert r"header     X-Split\r\nfake: one\rtwo\u202eevil\x9b" in out
    assert "header     Server: nginx (fine) ¡olé!" in out, "printable text is unchanged"
    assert r"redirected https://host.example/\x1b[1Ahop" in out
    assert r"final URL  https://img.host.example/p.jpg\x1b]8;;https://evil.example\x07" in out
    assert r"title '\x1b[5mtitle'" in out


def test_the_notice_round_rechecks_through_the_crawler(watched, kodak: list[Path]) -> None:  # type: ignore[no-untyped-def]
    """``radar notices recheck --through-crawler``: the notice desk's rechecker is the
    crawler's (radar.recheck.CrawlRechecker), so a re-encoded copy at a noticed URL is
    still there where a byte comparison says changed, and a removed one is gone; every
    result is in the one rechecks table, in its one vocabulary."""
    from notices.storage import Notice, NoticeUrl, SqlNoticeStore
    from wire import utc_now

    db, site, routes = watched
    store = CrawlStore(db)
    tid = store.add_target(Target("c1", site.url + "/", ("127.0.0.1",), max_depth=0)).id
    ran = radar(db, "crawl", "c1", "--target", str(tid), "-q", *ALLOW)
    assert ran.returncode == 0, ran.stderr
    (hit,) = store.hits("c1")
    url = NoticeUrl(
        hit.id,
        hit.image_url,
        hit.page_url,
        "c1",
        hit.reference_label,
        hit.distance,
        hit.content_sha256,
    )
    desk = SqlNoticeStore(db)
    notice = desk.create_notice(
        Notice(
            "127.0.0.1",
            "dsa",
            "host",
            "abuse@hosting.example",
            {},
            "lea",
            utc_now(),
            (url,),
            status="sent",
            sent_at=utc_now(),
        )
    )
    routes["/p.jpg"] = Reply(body=jpeg(kodak[6], quality=40), content_type="image/jpeg")
    by_bytes = radar(db, "notices", "recheck", "--all", *ALLOW)
    assert by_bytes.returncode == 0, by_bytes.stderr
    assert "re-checked 1 URLs: 1 newly gone" in by_bytes.stdout  # other bytes: "changed"
    crawled = radar(db, "notices", "recheck", "--all", "--through-crawler", *ALLOW)
    assert crawled.returncode == 0, crawled.stderr
    assert "re-checked 1 URLs: 0 newly gone, 1 back online" in crawled.stdout  # it matched
    routes["/p.jpg"] = Reply(404, b"no", content_type="text/plain")
    removed = radar(db, "notices", "recheck", "--all", "--through-crawler", *ALLOW)
    assert "re-checked 1 URLs: 1 newly gone" in removed.stdout, removed.stdout + removed.stderr

    newest_first = desk.rechecks(hit.image_url)
    assert [r.status for r in newest_first] == ["gone", "still_there", "changed"]
    assert newest_first[1].matched == (kodak[6].stem,) and newest_first[1].case_id == "c1"
    assert store.rechecks(hit.image_url) == newest_first, "one table, whoever reads it"
    (tracked,) = desk.get_notice(notice.id).urls
    assert tracked.state == "removed"

"""`radar seed --wait` (radar/rounds.py): crawled first, then matched up to the hashes
topic's ends of that moment; a timeout says how far it got. Kafka is replaced by two
functions here; tests/integration/test_parity.py waits on the real stack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bus.kafka import KafkaSettings
from crawler.storage import CrawlStore
from radar import rounds
from store import Case, Target
from tests.store.test_sql import hit

T0 = "2026-12-03T10:00:00Z"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> CrawlStore:
    store = CrawlStore(tmp_path / "radar.db")
    store.create_case(Case("c1"))
    store.add_target(Target("c1", "https://a.example/", ("a.example",)))
    return store


def test_the_wait_ends_when_crawled_and_matched_up_to_the_ends_of_that_moment(
    store: CrawlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    rid = f"1@{T0}"
    store.queue_round_pages(rid, 1, ["https://a.example/", "https://a.example/p"], T0)
    clock, polls = Clock(), {"crawl": 0, "ends": 0, "committed": 0}
    committed = {"hashes-0": 0}

    def sleep(seconds: float) -> None:  # each poll: the cluster makes progress
        clock.now += seconds
        if polls["ends"] == 0:
            polls["crawl"] += 1
            if polls["crawl"] == 2:
                store.finish_round_page(rid, "https://a.example/", 1, True, 2, T0)
            if polls["crawl"] == 3:
                store.finish_round_page(rid, "https://a.example/p", 1, True, 1, T0)
        else:
            committed["hashes-0"] += 2  # the matchers commit after Elasticsearch

    def ends(kafka: Any) -> dict[str, int]:
        polls["ends"] += 1
        return {"hashes-0": 6, "hashes-1": 0}

    def offsets(kafka: Any, group: str) -> dict[str, int]:
        assert group == "matchers"
        polls["committed"] += 1
        return dict(committed)

    monkeypatch.setattr(rounds.time, "sleep", sleep)
    monkeypatch.setattr(rounds, "hashes_ends", ends)
    monkeypatch.setattr(rounds, "committed_offsets", offsets)
    outcome = rounds.wait_for_rounds(
        store, KafkaSettings(), "matchers", [rid], timeout=60, clock=clock
    )
    assert outcome.finished and polls["ends"] == 1  # the ends are read once, when crawled
    assert committed["hashes-0"] == 6 and polls["committed"] == 4
    assert outcome.progress[rid].done == 2 and outcome.progress[rid].images == 3


def test_a_round_nobody_records_times_out_and_the_report_says_so(
    store: CrawlStore, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    monkeypatch.setattr(rounds.time, "sleep", lambda s: setattr(clock, "now", clock.now + s))
    monkeypatch.setattr(rounds, "hashes_ends", lambda kafka: pytest.fail("not crawled yet"))
    outcome = rounds.wait_for_rounds(
        store, KafkaSettings(), "m", [f"1@{T0}"], timeout=5, clock=clock
    )
    assert not outcome.crawled and not outcome.finished and outcome.seconds > 5
    assert rounds.print_round_report(outcome, store, []) == 1
    out, err = capsys.readouterr()
    assert "NOT finished" in out and "(nothing recorded)" in out
    assert "still queued at the timeout" in err


def test_the_report_counts_the_hits_of_each_round(
    store: CrawlStore, capsys: pytest.CaptureFixture[str]
) -> None:
    rid, other = f"1@{T0}", "1@2026-12-01T00:00:00Z"
    store.finish_round_page(rid, "https://a.example/", 1, True, 4, T0)
    store.finish_round_page(rid, "https://a.example/gone", 1, False, 0, T0)
    outcome = rounds.RoundOutcome([rid], store.round_progress([rid]), True, True, 2.5)
    hits = [hit(crawl_id=rid), hit(crawl_id=rid, url="https://a.example/2.jpg")]
    assert rounds.print_round_report(outcome, store, [*hits, hit(crawl_id=other)]) == 0
    out = capsys.readouterr().out
    assert "round finished after 2.5s" in out
    [row] = [line for line in out.splitlines() if line.startswith("#1 ")]
    assert row.split()[-5:] == ["1", "1", "0", "4", "2"]  # pages failed queued images hits

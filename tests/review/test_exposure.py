"""The daily exposure budget holds under concurrency: parallel reveals against the real
app (uvicorn on 127.0.0.1, its thread pool, one store connection per thread) and
against the store never spend more than the budget, on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from review.storage import SqlReviewStore
from tests.review.fixtures import PASSWORD, Env, environment, live_app

PARALLEL = 12
BUDGET = 2
ROUNDS = 4
T = TypeVar("T")


@pytest.fixture
def env(tmp_path: Path, kodak: list[Path], service_db: str) -> Iterator[Env]:
    with environment(tmp_path, kodak, db=service_db) as e:
        yield e


def at_once(calls: list[Callable[[], T]]) -> list[T]:
    """Run the calls in threads released together by a barrier; their results."""
    start = threading.Barrier(len(calls))
    results: list[T] = []
    lock = threading.Lock()

    def run(call: Callable[[], T]) -> None:
        start.wait()
        result = call()  # an exception here leaves results short: the assert below
        with lock:
            results.append(result)

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(results) == len(calls)
    return results


def test_parallel_reveals_spend_exactly_the_budget(env: Env) -> None:
    hit = env.hits[0]
    with live_app(env) as base:
        first = httpx.Client(base_url=base, timeout=30)
        first.post("/login", data={"username": "ana", "password": PASSWORD})
        csrf = re.search(r'name="csrf" value="([^"]+)"', first.get("/prefs").text)
        assert csrf
        # one session, twelve connections: the requests really run side by side
        clients = [
            httpx.Client(
                base_url=base, timeout=30, cookies=first.cookies, headers={"X-CSRF-Token": csrf[1]}
            )
            for _ in range(PARALLEL)
        ]
        for round_ in range(1, ROUNDS + 1):
            env.services.review.update_user("ana", exposure_budget=BUDGET * round_)
            answers = at_once(
                [lambda c=c: c.post(f"/review/hits/{hit.id}/reveal") for c in clients]
            )
            codes = sorted(a.status_code for a in answers)
            assert codes == [200] * BUDGET + [429] * (PARALLEL - BUDGET), f"round {round_}"
            granted = [a.json() for a in answers if a.status_code == 200]
            assert sorted(g["used"] for g in granted) == [BUDGET * round_ - 1, BUDGET * round_]
            views = [first.get(g["url"]).headers["x-radar-view"] for g in granted]
            assert views == ["revealed"] * BUDGET
        for c in (first, *clients):
            c.close()
    review = env.services.review
    assert review.reveals_since("ana", env.services.day_start()) == BUDGET * ROUNDS
    refused = review.audit_entries("ana", "reveal refused", limit=1000)
    assert len(refused) == (PARALLEL - BUDGET) * ROUNDS


def test_the_store_spends_atomically_across_connections(env: Env) -> None:
    since, now = "2026-05-01T00:00:00Z", "2026-05-01T10:00:00Z"

    def spend() -> int | None:
        store = SqlReviewStore(env.db)  # a connection of this thread, like a worker's
        try:
            return store.spend_reveal("ben", "hit-1", now, since, BUDGET)
        finally:
            store.close()

    spent = at_once([spend] * PARALLEL)
    assert sorted(spent, key=lambda n: n or 0) == [None] * (PARALLEL - BUDGET) + [1, 2]
    store = env.services.review
    assert store.reveals_since("ben", since) == BUDGET
    assert store.spend_reveal("ben", "hit-1", now, since, 0) is None, "budget 0: none"

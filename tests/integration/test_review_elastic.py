"""The review queue on the Elasticsearch hit store: the same queries and the same
consensus as on SQLite (its slow twin), and the pages on top of it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from devservers.servers import Servers
from review import queue
from review.app import create_app
from review.queue import Filters
from review.services import Services
from store import SqlStore
from store.elastic import ElasticHitStore, ElasticSettings
from store.hitquery import HitQuery
from tests.review.fixtures import PASSWORD, Env, environment


@pytest.fixture
def elastic_env(
    servers: Servers, tmp_path: Path, kodak: list[Path]
) -> Iterator[tuple[Env, ElasticHitStore]]:
    settings = ElasticSettings(
        url=servers.elasticsearch_url, prefix=f"review-{uuid.uuid4().hex[:8]}"
    )
    es = ElasticHitStore(settings)
    es.ensure_index()
    with environment(tmp_path, kodak) as env:
        es.upsert_hits(env.hits)
        es.refresh()

        class Refreshing(ElasticHitStore):
            """Reads see writes at once (tests only; production waits ~1 s)."""

            def set_hit_status(self, hit_id: str, status: str, expected_version: int) -> int:
                version = super().set_hit_status(hit_id, status, expected_version)
                self.refresh()
                return version

        env.services = Services(
            env.settings, lambda: Refreshing(settings), mailer=env.services.mailer
        )
        yield env, es
    es.es.indices.delete(index=f"{es.alias}-*")


QUERIES = [
    HitQuery(priorities={"case-a": 2, "case-b": 1}),
    HitQuery(priorities={"case-b": 7}, statuses=("pending",), limit=3, offset=2),
    HitQuery(order="newest", case_ids=("case-a",)),
    HitQuery(order="last_seen", sites=("127.0.0.1",), exclude_ids=()),
    # the queue page's sorts, either way, and its search (store/hitquery.py)
    HitQuery(priorities={"case-a": 2, "case-b": 1}, descending=False, limit=4, offset=1),
    HitQuery(order="distance", descending=True),
    HitQuery(order="seen_count"),
    HitQuery(order="first_seen", descending=False, limit=3, offset=3),
    HitQuery(order="site", search="IMG/", priorities={"case-b": 3}),
    HitQuery(search="ref-3", statuses=("pending",)),
    HitQuery(search="100%_*?"),
]


def test_elasticsearch_answers_hit_queries_like_sqlite(
    elastic_env: tuple[Env, ElasticHitStore],
) -> None:
    env, es = elastic_env
    sqlite = SqlStore(env.db)
    for q in [
        *QUERIES,
        HitQuery(exclude_ids=(env.hits[0].id,), content_sha256=env.hits[4].content_sha256),
        HitQuery(search=env.hits[2].id[5:20].upper(), order="last_seen"),
    ]:
        assert [h.id for h in es.find_hits(q)] == [h.id for h in sqlite.find_hits(q)], q
        assert es.count_hits(q) == sqlite.count_hits(q)
    hit, version = es.get_hit(env.hits[3].id)
    assert (hit.id, version) == (env.hits[3].id, 1)


def test_review_and_consensus_on_elasticsearch(elastic_env: tuple[Env, ElasticHitStore]) -> None:
    env, es = elastic_env
    s = env.services
    first = queue.next_hit(s, "ana", Filters())
    assert first is not None and (first.case_id, first.distance) == ("case-a", 2)
    assert queue.decide(s, "ana", first.id, "confirmed", "") == "pending"
    assert queue.next_hit(s, "ana", Filters()) != first
    assert queue.decide(s, "ben", first.id, "confirmed", "") == "confirmed"
    es.refresh()
    stored, version = es.get_hit(first.id)
    assert (stored.status, version) == ("confirmed", 2)

    app = create_app(env.settings, s)
    with TestClient(app) as http:
        http.post("/login", data={"username": "ana", "password": PASSWORD})
        page = http.get("/review?status=confirmed")
        assert page.status_code == 200 and first.id in page.text
        assert re.search(r"1 pending hit|\d+ pending hits", http.get("/review").text)

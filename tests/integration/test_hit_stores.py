"""The HitStore contract, run against both backends: SQLite and real Elasticsearch."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devservers.servers import Servers
from store import SqlStore, StoreError
from store.elastic import MAPPINGS, ElasticHitStore, ElasticSettings
from wire import Hit, MatchEvidence


def hit(
    url: str = "https://a.example/1.jpg",
    fetched_at: str = "2026-01-01T00:00:00Z",
    distance: int = 4,
    case_id: str = "alpha",
    site: str = "a.example",
    crawl_id: str = "",
    page: str = "p",
) -> Hit:
    return Hit(
        case_id=case_id,
        reference_label="r1",
        algorithm="pdq",
        distance=distance,
        image_url=url,
        page_url=f"https://{site}/{page}",
        site=site,
        fetched_at=fetched_at,
        http_status=200,
        content_sha256="ab" * 32,
        matches=[MatchEvidence("pdq", distance, "original")],
        crawl_id=crawl_id,
    )


class Backend:
    def __init__(self, store: Any, refresh: Any) -> None:
        self.store = store
        self.refresh = refresh

    def hits(self, **kwargs: Any) -> list[Hit]:
        self.refresh()
        return list(self.store.hits(**kwargs))


@pytest.fixture(params=["sqlite", "elasticsearch"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield Backend(SqlStore(tmp_path / "radar.db"), lambda: None)
        return
    servers: Servers = request.getfixturevalue("servers")
    settings = ElasticSettings(url=servers.elasticsearch_url, prefix=f"t-{uuid.uuid4().hex[:8]}")
    store = ElasticHitStore(settings)
    store.ensure_index()
    store.ensure_index()  # idempotent
    yield Backend(store, store.refresh)
    store.es.indices.delete(index=f"{store.alias}-*")


def test_insert_then_newer_sighting_keeps_review_status(backend: Backend) -> None:
    store = backend.store
    first = hit()
    store.upsert_hits([first])
    [stored] = backend.hits()
    assert stored.to_dict() == {
        **first.to_dict(),
        "first_seen": first.fetched_at,
        "last_seen": first.fetched_at,
    }
    store.set_hit_status(first.id, "confirmed", store.hit_version(first.id))
    store.upsert_hits([hit(fetched_at="2026-02-01T00:00:00Z", distance=2)])
    [updated] = backend.hits()
    assert (updated.status, updated.seen_count, updated.distance) == ("confirmed", 2, 2)
    assert (updated.first_seen, updated.last_seen) == (
        "2026-01-01T00:00:00Z",
        "2026-02-01T00:00:00Z",
    )


def test_replays_and_older_sightings_change_nothing(backend: Backend) -> None:
    backend.store.upsert_hits([hit(fetched_at="2026-02-01T00:00:00Z")])
    backend.store.upsert_hits([hit(fetched_at="2026-02-01T00:00:00Z")])
    backend.store.upsert_hits([hit(fetched_at="2026-01-01T00:00:00Z", distance=9)])
    [stored] = backend.hits()
    assert (stored.seen_count, stored.distance) == (1, 4)
    assert stored.first_seen == "2026-01-01T00:00:00Z"


def test_a_second_fetch_in_one_crawl_round_is_the_same_sighting(backend: Backend) -> None:
    # Kafka redelivers a page to another crawler after a rebalance: the image is
    # fetched again in the same round. That refreshes the evidence, not the count.
    store = backend.store
    store.upsert_hits([hit(fetched_at="2026-02-01T00:00:00Z", crawl_id="7@a")])
    store.upsert_hits([hit(fetched_at="2026-02-01T00:00:02Z", crawl_id="7@a", page="q")])
    [stored] = backend.hits()
    assert (stored.seen_count, stored.last_seen) == (1, "2026-02-01T00:00:02Z")
    assert (stored.page_url, stored.crawl_id) == ("https://a.example/q", "7@a")
    store.upsert_hits([hit(fetched_at="2026-02-02T00:00:00Z", crawl_id="7@b")])  # next round
    store.upsert_hits([hit(fetched_at="2026-02-03T00:00:00Z")])  # a fetch outside a round
    store.upsert_hits([hit(fetched_at="2026-02-04T00:00:00Z")])
    [stored] = backend.hits()
    assert (stored.seen_count, stored.crawl_id) == (4, "")


def test_an_index_from_before_the_crawl_round_field_gets_it(servers: Servers) -> None:
    settings = ElasticSettings(url=servers.elasticsearch_url, prefix=f"t-{uuid.uuid4().hex[:8]}")
    store = ElasticHitStore(settings)
    old = {k: v for k, v in MAPPINGS["properties"].items() if k != "crawl_id"}
    store.es.indices.create(
        index=f"{store.alias}-000001",
        aliases={store.alias: {"is_write_index": True}},
        mappings={"dynamic": "strict", "properties": old},
    )
    try:
        store.ensure_index()
        store.upsert_hits([hit(crawl_id="7@a")])
        store.refresh()
        [stored] = store.hits()
        assert stored.crawl_id == "7@a"
    finally:
        store.es.indices.delete(index=f"{store.alias}-*")


def test_the_hit_index_has_the_replicas_the_cluster_is_configured_for(servers: Servers) -> None:
    """RADAR_ES_REPLICAS reaches the template (new indices) and the existing index, so a
    3-node cluster keeps a copy of every hit; one node stays at 0 (green)."""
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    env = {"RADAR_ES_URL": servers.elasticsearch_url, "RADAR_ES_PREFIX": prefix}
    single = ElasticHitStore(ElasticSettings.from_env(env))
    try:
        single.ensure_index()
        index = f"{single.alias}-000001"

        def replicas() -> str:
            got = single.es.indices.get_settings(index=index, name="index.number_of_replicas")
            return str(got[index]["settings"]["index"]["number_of_replicas"])

        assert replicas() == "0"
        cluster = ElasticHitStore(ElasticSettings.from_env({**env, "RADAR_ES_REPLICAS": "2"}))
        cluster.ensure_index()
        assert replicas() == "2"
        template = single.es.indices.get_index_template(name=single.alias)
        settings = template["index_templates"][0]["index_template"]["template"]["settings"]
        assert settings["index"]["number_of_replicas"] == "2"
    finally:
        single.es.indices.delete(index=f"{single.alias}-*")
    with pytest.raises(ValueError, match="RADAR_ES_REPLICAS must be a whole number"):
        ElasticSettings.from_env({**env, "RADAR_ES_REPLICAS": "two"})


def test_concurrent_writers_lose_no_sighting(backend: Backend) -> None:
    def make() -> Any:  # one store (connection) per writer, made in its own thread
        if isinstance(backend.store, SqlStore):
            return SqlStore(backend.store.path)
        return ElasticHitStore(backend.store.settings)

    def write(n: int) -> None:
        store = make()
        for day in range(1, 6):
            store.upsert_hits([hit(fetched_at=f"2026-0{n + 1}-0{day}T00:00:00Z")])

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    [stored] = backend.hits()
    # Sightings arrive out of order across writers, so only the newer ones count; the
    # newest always wins and the earliest is kept.
    assert stored.last_seen == "2026-04-05T00:00:00Z"
    assert stored.first_seen == "2026-01-01T00:00:00Z"
    assert 5 <= stored.seen_count <= 20


def test_status_updates_are_optimistic(backend: Backend) -> None:
    store = backend.store
    store.upsert_hits([hit()])
    h = hit()
    version = store.hit_version(h.id)
    assert store.set_hit_status(h.id, "rejected", version) == version + 1
    with pytest.raises(StoreError, match="changed meanwhile"):
        store.set_hit_status(h.id, "confirmed", version)
    with pytest.raises(StoreError, match="unknown hit status"):
        store.set_hit_status(h.id, "maybe", version + 1)
    with pytest.raises(StoreError, match="no hit"):
        store.set_hit_status("f" * 32, "confirmed", 1)
    assert [x.status for x in backend.hits()] == ["rejected"]


def test_queries_and_aggregations(backend: Backend) -> None:
    store = backend.store
    store.upsert_hits(
        [
            hit("https://a.example/1.jpg", case_id="alpha", distance=9),
            hit("https://a.example/2.jpg", case_id="alpha", distance=1),
            hit("https://b.example/1.jpg", case_id="beta", site="b.example"),
        ]
    )
    backend.refresh()
    assert [h.distance for h in backend.hits(case_id="alpha")] == [1, 9]
    assert [h.case_id for h in backend.hits()] == ["alpha", "alpha", "beta"]
    assert backend.hits(status="confirmed") == []
    assert store.hit_counts("site") == {"a.example": 2, "b.example": 1}
    assert store.hit_counts("case_id") == {"alpha": 2, "beta": 1}
    assert store.hit_counts("status") == {"pending": 3}
    with pytest.raises(StoreError):
        store.hit_counts("image_url")


def test_the_hit_index_rolls_over_and_each_hit_stays_where_it_was_created(
    servers: Servers,
) -> None:
    """With RADAR_ES_ROLLOVER_MAX_DOCS=2, a rollover starts a new write index once the
    current one holds 2 hits (a second rollover right after finds the new one not due).
    A hit seen again, re-reviewed or read by id afterwards is the one in the old index:
    nothing is created twice, and new hits go to the new index."""
    prefix = f"t-{uuid.uuid4().hex[:8]}"
    env = {
        "RADAR_ES_URL": servers.elasticsearch_url,
        "RADAR_ES_PREFIX": prefix,
        "RADAR_ES_ROLLOVER_MAX_DOCS": "2",
    }
    store = ElasticHitStore(ElasticSettings.from_env(env))
    try:
        store.ensure_index()
        a, b = hit("https://a.example/a.jpg"), hit("https://a.example/b.jpg")
        store.upsert_hits([a, b])
        store.refresh()
        assert store.rollover() == f"{store.alias}-000002"
        assert store.rollover() is None
        assert store.indices() == [f"{store.alias}-000001", f"{store.alias}-000002"]
        store.upsert_hits([hit("https://a.example/a.jpg", fetched_at="2026-03-01T00:00:00Z")])
        store.set_hit_status(a.id, "confirmed", store.hit_version(a.id))
        c = hit("https://a.example/c.jpg")
        store.upsert_hits([c])
        store.ensure_index()  # a restarted matcher: mapping and replicas on every index
        store.refresh()
        by_url = {h.image_url: h for h in store.hits()}
        assert len(by_url) == 3 and store.es.count(index=store.alias)["count"] == 3
        assert (by_url[a.image_url].seen_count, by_url[a.image_url].status) == (2, "confirmed")
        assert store.get_hit(a.id)[1] == 2  # the review version, read by id
        counts = {index: store.es.count(index=index)["count"] for index in store.indices()}
        assert counts == {f"{store.alias}-000001": 2, f"{store.alias}-000002": 1}
    finally:
        store.es.indices.delete(index=f"{store.alias}-*")


def test_rollover_is_off_unless_configured_and_its_settings_are_checked(
    servers: Servers,
) -> None:
    env = {
        "RADAR_ES_URL": servers.elasticsearch_url,
        "RADAR_ES_PREFIX": f"t-{uuid.uuid4().hex[:8]}",
    }
    store = ElasticHitStore(ElasticSettings.from_env(env))
    try:
        store.ensure_index()
        store.upsert_hits([hit()])
        store.refresh()
        assert store.rollover() is None and len(store.indices()) == 1
    finally:
        store.es.indices.delete(index=f"{store.alias}-*")
    good = ElasticSettings.from_env(
        {"RADAR_ES_ROLLOVER_MAX_AGE": "30d", "RADAR_ES_ROLLOVER_MAX_SIZE": "30gb"}
    )
    assert good.rollover_conditions() == {"max_age": "30d", "max_primary_shard_size": "30gb"}
    for name, value in (
        ("RADAR_ES_ROLLOVER_MAX_AGE", "30 days"),
        ("RADAR_ES_ROLLOVER_MAX_SIZE", "30"),
        ("RADAR_ES_ROLLOVER_MAX_DOCS", "many"),
        ("RADAR_ES_ROLLOVER_MAX_DOCS", "-1"),
    ):
        with pytest.raises(ValueError, match=name):
            ElasticSettings.from_env({name: value})


def test_export_hits_reads_the_distributed_modes_hits(servers: Servers, tmp_path: Path) -> None:
    """``radar case export-hits CASE --elasticsearch``: the hits the matchers wrote to
    Elasticsearch, under the reference ids of the case in the service store; no label."""
    import csv
    import io

    from tests.radar.test_cli import radar as run

    db = tmp_path / "radar.db"
    env = {
        "RADAR_ES_URL": servers.elasticsearch_url,
        "RADAR_ES_PREFIX": f"t-{uuid.uuid4().hex[:8]}",
    }

    def radar(*args: str) -> str:
        done = run(db, *args, env=env)
        assert done.returncode == 0, done.stderr
        return done.stdout

    radar("case", "create", "alpha")
    listing = tmp_path / "list.csv"
    listing.write_text(f"pdq,label\n{'ab' * 32},Jane Doe\n")
    radar("case", "import-hashes", "alpha", str(listing))
    [row] = csv.DictReader(io.StringIO(radar("case", "export", "alpha", "--format", "csv")))
    store = ElasticHitStore(ElasticSettings.from_env(env))
    try:
        store.ensure_index()
        import dataclasses

        found = dataclasses.replace(hit("https://a.example/1.jpg"), reference_label="Jane Doe")
        store.upsert_hits([found])
        store.upsert_hits([hit("https://b.example/2.jpg", case_id="beta")])
        store.refresh()
        out = radar("case", "export-hits", "alpha", "--format", "csv", "--elasticsearch")
        assert "Jane" not in out
        rows = list(csv.DictReader(io.StringIO(out)))
        assert [(r["reference"], r["image_url"]) for r in rows] == [
            (row["reference"], "https://a.example/1.jpg")
        ]
        local = radar("case", "export-hits", "alpha", "--format", "csv")  # SQLite has none
        assert list(csv.DictReader(io.StringIO(local))) == []
    finally:
        store.es.indices.delete(index=f"{store.alias}-*")


def test_every_hit_of_a_case_comes_page_by_page_past_the_result_window(
    servers: Servers,
) -> None:
    """``case_hits`` pages with search_after (Elasticsearch refuses from + size over
    10,000): 5 hits in pages of 2, each once, by id, another case's left out."""
    settings = ElasticSettings(url=servers.elasticsearch_url, prefix=f"t-{uuid.uuid4().hex[:8]}")
    store = ElasticHitStore(settings)
    try:
        store.ensure_index()
        mine = [hit(f"https://a.example/{n}.jpg") for n in range(5)]
        store.upsert_hits([*mine, hit("https://b.example/x.jpg", case_id="beta")])
        store.refresh()
        got = list(store.case_hits("alpha", page=2))
        assert [h.id for h in got] == sorted(h.id for h in mine)
    finally:
        store.es.indices.delete(index=f"{store.alias}-*")

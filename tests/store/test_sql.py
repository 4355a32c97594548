"""The service store on SQLite and on PostgreSQL: cases, references and the bank version,
targets, reports, hits."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from hashing import MatchRule
from store import Case, CrawlReport, Reference, SqlStore, StoreError, Target
from wire import Hit, MatchEvidence

PDQ = ["%064x" % (i * 0x1F3D5B79) for i in range(1, 6)]
PHASH = "aca29c1c33dc23d7"


def ref(case_id: str, label: str, n: int = 0, quality: int | None = 100) -> Reference:
    return Reference(case_id, label, "pdq", PDQ[n], quality)


def hit(
    case_id: str = "alpha",
    label: str = "r1",
    url: str = "https://a.example/1.jpg",
    site: str = "a.example",
    distance: int = 4,
    fetched_at: str = "2026-01-01T00:00:00Z",
    **changes: object,
) -> Hit:
    made = Hit(
        case_id=case_id,
        reference_label=label,
        algorithm="pdq",
        distance=distance,
        image_url=url,
        page_url="https://a.example/page",
        site=site,
        fetched_at=fetched_at,
        http_status=200,
        content_sha256="ab" * 32,
        matches=[MatchEvidence("pdq", distance), MatchEvidence("phash", 2, "rotate-90")],
    )
    return dataclasses.replace(made, **changes)


@pytest.fixture
def tmp_store(service_db: str) -> Iterator[SqlStore]:
    """Each test runs on both backends."""
    db = SqlStore(service_db)
    yield db
    db.close()


@pytest.fixture
def db(tmp_store: SqlStore) -> SqlStore:
    tmp_store.create_case(Case("alpha", "Alpha", MatchRule(20, 4, 60), dihedral=False, priority=2))
    tmp_store.create_case(Case("beta"))
    return tmp_store


def test_create_get_and_list_cases(tmp_store: SqlStore) -> None:
    created = tmp_store.create_case(Case("zeta.2", "Zeta", MatchRule(20, 4, 60), False, 3))
    assert created.created_at.endswith("Z")
    assert tmp_store.get_case("zeta.2") == created
    assert created.rule == MatchRule(20, 4, 60) and not created.dihedral
    tmp_store.create_case(Case("alpha", created_at="2026-01-01T00:00:00Z"))
    assert [c.id for c in tmp_store.list_cases()] == ["alpha", "zeta.2"]
    assert tmp_store.get_case("alpha").created_at == "2026-01-01T00:00:00Z"


def test_duplicate_case_raises_store_error(db: SqlStore) -> None:
    version = db.bank_version()
    with pytest.raises(StoreError, match="exists already"):
        db.create_case(Case("alpha", "another"))
    assert db.get_case("alpha").title == "Alpha"
    assert db.bank_version() == version


@pytest.mark.parametrize("case_id", ["", "Upper", "has space", "-lead", "a/b", "x" * 64, "é"])
def test_bad_case_id_raises_value_error(tmp_store: SqlStore, case_id: str) -> None:
    with pytest.raises(ValueError, match="bad case id"):
        tmp_store.create_case(Case(case_id))
    assert tmp_store.list_cases() == []


def test_unknown_case_raises_store_error(db: SqlStore) -> None:
    with pytest.raises(StoreError, match="no case 'gamma'"):
        db.get_case("gamma")
    with pytest.raises(StoreError):
        db.add_references("gamma", [ref("gamma", "r1")])
    with pytest.raises(StoreError):
        db.add_target(Target("gamma", "https://a.example/", ("a.example",)))


def test_add_references_dedups_and_bumps_bank_version_only_on_change(db: SqlStore) -> None:
    start = db.bank_version()
    assert db.add_references("alpha", [ref("alpha", "r1", 0), ref("alpha", "r2", 1)]) == 2
    assert db.bank_version() == start + 1
    assert db.add_references("alpha", [ref("alpha", "r1", 0), ref("alpha", "r1", 0)]) == 0
    assert db.add_references("alpha", []) == 0
    assert db.bank_version() == start + 1
    # Same hash under another label, or in another case, is a new row.
    assert db.add_references("alpha", [ref("alpha", "r1", 0), ref("alpha", "r3", 0)]) == 1
    assert db.add_references("beta", [ref("beta", "r1", 0)]) == 1
    assert db.bank_version() == start + 3
    phash = Reference("alpha", "r1", "phash", PHASH, None, "rotate-90", "import")
    assert db.add_references("alpha", [phash]) == 1
    stored = db.references("alpha")
    assert [(r.label, r.algorithm) for r in stored] == [
        ("r1", "pdq"),
        ("r2", "pdq"),
        ("r3", "pdq"),
        ("r1", "phash"),
    ]
    assert stored[-1] == dataclasses.replace(phash, id=stored[-1].id)
    assert all(r.id > 0 for r in stored)
    assert len(db.references()) == 5


def test_add_references_is_all_or_nothing(db: SqlStore) -> None:
    version = db.bank_version()
    batch = [ref("alpha", "r1", 0), ref("beta", "r2", 1), ref("alpha", "r3", 2)]
    with pytest.raises(StoreError, match="given to 'alpha'"):
        db.add_references("alpha", batch)
    assert db.references() == []
    assert db.bank_version() == version


def test_create_case_bumps_bank_version(tmp_store: SqlStore) -> None:
    start = tmp_store.bank_version()
    tmp_store.create_case(Case("gamma"))
    assert tmp_store.bank_version() > start


def test_targets_roundtrip(db: SqlStore) -> None:
    first = db.add_target(
        Target(
            "alpha",
            "https://a.example/start",
            ("a.example", "cdn.a.example"),
            max_depth=1,
            max_pages=10,
            interval_seconds=3600,
            obey_robots=False,
        )
    )
    second = db.add_target(Target("alpha", "http://b.example/", ("b.example",)))
    db.add_target(Target("beta", "https://c.example/", ("c.example",)))
    assert first.id > 0 and second.id > first.id and first.created_at
    assert db.targets("alpha") == [first, second]
    assert db.targets("alpha")[0].allowed_domains == ("a.example", "cdn.a.example")
    assert db.targets("gamma") == []


def test_a_target_records_whether_it_passes_gates(db: SqlStore) -> None:
    site = db.add_target(Target("alpha", "https://a.example/", ("a.example",)))
    feed = db.add_target(Target("alpha", "https://a.example/feed", ("a.example",), kind="feed"))
    off = db.add_target(Target("alpha", "https://b.example/", ("b.example",), pass_gates=False))
    on = db.add_target(
        Target(
            "alpha", "https://a.example/map.xml", ("a.example",), kind="sitemap", pass_gates=True
        )
    )
    # On by default for websites only; what is asked for is recorded and read back.
    assert [t.pass_gates for t in (site, feed, off, on)] == [True, False, False, True]
    assert [t.pass_gates for t in db.targets("alpha")] == [True, False, False, True]


def test_crawl_reports_roundtrip_and_mark_the_target(db: SqlStore) -> None:
    target = db.add_target(Target("alpha", "https://a.example/", ("a.example",)))
    other = db.add_target(Target("alpha", "https://b.example/", ("b.example",)))
    report = db.save_crawl_report(
        CrawlReport(
            "alpha",
            target.id,
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:05:00Z",
            "finished",
            {"pages": 12, "images": 40, "hits": 1},
        )
    )
    assert report.id > 0
    assert db.crawl_reports("alpha") == [report]
    assert db.crawl_reports("beta") == []
    by_id = {t.id: t for t in db.targets("alpha")}
    assert by_id[target.id].last_crawled_at == "2026-01-01T00:05:00Z"
    assert by_id[other.id].last_crawled_at is None


def test_upsert_inserts_then_updates_and_keeps_status(db: SqlStore) -> None:
    first = hit(fetched_at="2026-01-01T00:00:00Z")
    db.upsert_hits([first])
    [stored] = db.hits()
    assert stored.to_dict() == {
        **first.to_dict(),
        "first_seen": "2026-01-01T00:00:00Z",
        "last_seen": "2026-01-01T00:00:00Z",
    }
    db.set_hit_status(first.id, "confirmed", db.hit_version(first.id))

    db.upsert_hits([hit(fetched_at="2026-02-01T00:00:00Z", distance=2, status="pending")])
    [updated] = db.hits()
    assert updated.id == first.id
    assert updated.status == "confirmed"
    assert (updated.seen_count, updated.distance) == (2, 2)
    assert (updated.first_seen, updated.last_seen) == (
        "2026-01-01T00:00:00Z",
        "2026-02-01T00:00:00Z",
    )
    assert updated.fetched_at == "2026-02-01T00:00:00Z"


def test_upsert_is_idempotent_and_ignores_older_sightings(db: SqlStore) -> None:
    db.upsert_hits([hit(fetched_at="2026-02-01T00:00:00Z", distance=4)])
    db.upsert_hits([hit(fetched_at="2026-02-01T00:00:00Z", distance=4)])  # a replay
    db.upsert_hits([hit(fetched_at="2026-01-01T00:00:00Z", distance=9)])  # late, older
    [stored] = db.hits()
    assert stored.seen_count == 1 and stored.distance == 4
    assert (stored.first_seen, stored.last_seen) == (
        "2026-01-01T00:00:00Z",
        "2026-02-01T00:00:00Z",
    )


def test_set_hit_status_optimistic_concurrency(db: SqlStore) -> None:
    db.upsert_hits([hit()])
    hit_id = hit().id
    assert db.hit_version(hit_id) == 1
    assert db.set_hit_status(hit_id, "confirmed", 1) == 2
    with pytest.raises(StoreError, match="changed meanwhile"):
        db.set_hit_status(hit_id, "rejected", 1)  # a second analyst with a stale view
    assert db.hits()[0].status == "confirmed"
    assert db.set_hit_status(hit_id, "rejected", 2) == 3
    assert db.hit_version(hit_id) == 3
    with pytest.raises(StoreError, match="unknown hit status"):
        db.set_hit_status(hit_id, "deleted", 3)
    with pytest.raises(StoreError, match="no hit"):
        db.set_hit_status("0" * 32, "confirmed", 1)
    with pytest.raises(StoreError, match="no hit"):
        db.hit_version("0" * 32)
    assert db.hits()[0].status == "rejected"


def test_hit_counts_and_filters(db: SqlStore) -> None:
    db.upsert_hits(
        [
            hit("alpha", url="https://a.example/1.jpg", distance=9),
            hit("alpha", url="https://a.example/2.jpg", distance=3),
            hit("alpha", url="https://b.example/1.jpg", site="b.example"),
            hit("beta", url="https://a.example/1.jpg"),
        ]
    )
    db.set_hit_status(hit("beta", url="https://a.example/1.jpg").id, "rejected", 1)
    assert db.hit_counts("site") == {"a.example": 3, "b.example": 1}
    assert db.hit_counts("case_id") == {"alpha": 3, "beta": 1}
    assert db.hit_counts("status") == {"pending": 3, "rejected": 1}
    with pytest.raises(StoreError, match="cannot count hits by"):
        db.hit_counts("image_url")

    assert [h.distance for h in db.hits("alpha")] == [3, 4, 9]  # by distance
    assert [h.case_id for h in db.hits()] == ["alpha"] * 3 + ["beta"]
    assert [h.case_id for h in db.hits(status="rejected")] == ["beta"]
    assert db.hits("beta", status="pending") == []
    assert len(db.hits("alpha", status="pending")) == 3
    assert len(db.hits(limit=2)) == 2
    assert db.hits("gamma") == []
    with pytest.raises(StoreError, match="unknown hit status"):
        db.hits(status="deleted")

"""The review queue's sort orders and search on the SQL hit store (SQLite and
PostgreSQL), checked against a brute-force twin in Python, and the Elasticsearch query
the same HitQuery becomes (its answers against SQLite's: tests/integration/
test_review_elastic.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from store import SqlStore
from store.elastic import _bool, _sort, priority_groups
from store.hitquery import ORDERS, SEARCH_FIELDS, HitQuery, search_pattern, sort_keys
from tests.store.test_sql import hit
from wire import Hit

PRIORITIES = {"alpha": 2, "gamma": 5}
# (case, site, url, distance, first seen, later sightings)
ROWS = [
    ("alpha", "a.example", "https://a.example/img/One.jpg", 4, "2026-01-03", 0),
    ("alpha", "b-site.example", "https://b-site.example/100%_real.jpg", 9, "2026-01-01", 2),
    ("beta", "a.example", "https://a.example/x/two.jpg", 2, "2026-01-02", 1),
    ("beta", "Zeta.example", "https://zeta.example/3.jpg", 4, "2026-01-05", 0),
    ("gamma", "c.example", "https://c.example/p?id=4", 12, "2026-01-04", 3),
    ("gamma", "a.example", "https://a.example/y/5.jpg", 2, "2026-01-06", 0),
    ("delta", "d.example", "https://d.example/6.JPG", 7, "2026-01-03", 1),
]


@pytest.fixture
def store(service_db: str) -> Iterator[SqlStore]:
    db = SqlStore(service_db)
    for n, (case, site, url, distance, first, later) in enumerate(ROWS):
        base = hit(case, f"ref-{n}", url, site, distance, f"{first}T0{n}:00:00Z")
        db.upsert_hits([base])
        for k in range(later):  # later sightings: last seen moves, seen count grows
            db.upsert_hits([dataclasses.replace(base, fetched_at=f"2026-02-0{k + n}T00:00:00Z")])
    yield db
    db.close()


def twin(hits: list[Hit], query: HitQuery) -> list[str]:
    """The query answered the slow way: filter in Python, then one stable sort per key,
    last key first."""
    text = search_pattern(query.search)
    kept = [
        h
        for h in hits
        if (not query.case_ids or h.case_id in query.case_ids)
        and (not query.sites or h.site in query.sites)
        and (not text or any(text in search_pattern(getattr(h, f)) for f in SEARCH_FIELDS))
    ]
    for column, descending in reversed(sort_keys(query)):
        if column == "priority":
            kept.sort(key=lambda h: query.priorities.get(h.case_id, 0), reverse=descending)
        else:
            kept.sort(key=lambda h, c=column: getattr(h, c), reverse=descending)
    return [h.id for h in kept][query.offset : query.offset + query.limit]


QUERIES = [
    HitQuery(priorities=PRIORITIES),
    HitQuery(priorities=PRIORITIES, descending=False),
    HitQuery(priorities=PRIORITIES, limit=3, offset=2),
    *(HitQuery(order=o, descending=d) for o in ORDERS for d in (None, True, False)),
    HitQuery(order="site", search="A.EXAMPLE", descending=True),
    HitQuery(order="seen_count", case_ids=("alpha", "gamma"), limit=2, offset=1),
    HitQuery(search="jpg", sites=("a.example",), order="last_seen"),
]


@pytest.mark.parametrize("query", QUERIES, ids=repr)
def test_every_order_and_search_matches_the_twin(store: SqlStore, query: HitQuery) -> None:
    everything = store.find_hits(HitQuery(limit=100))
    assert len(everything) == len(ROWS)
    assert [h.id for h in store.find_hits(query)] == twin(everything, query)
    assert store.count_hits(query) == len(
        twin(everything, dataclasses.replace(query, limit=100, offset=0))
    )


def labels(store: SqlStore, **kw: object) -> list[str]:
    return [h.reference_label for h in store.find_hits(HitQuery(limit=100, **kw))]  # type: ignore[arg-type]


def test_orders_by_hand(store: SqlStore) -> None:
    # Spelled out, so the twin's own reading of ORDERS is checked too.
    assert labels(store, priorities=PRIORITIES) == [
        "ref-5", "ref-4", "ref-0", "ref-1", "ref-2", "ref-3", "ref-6",
    ]  # fmt: skip
    assert labels(store, order="distance") == [
        "ref-2", "ref-5", "ref-0", "ref-3", "ref-6", "ref-1", "ref-4",
    ]  # fmt: skip
    assert labels(store, order="seen_count")[:2] == ["ref-4", "ref-1"]  # 4 and 3 sightings
    assert labels(store, order="first_seen", descending=False)[0] == "ref-1"
    assert labels(store, order="newest")[0] == "ref-5"  # the old name of first_seen, newest first
    # Sites by code point, as Elasticsearch sorts keywords: upper case before lower.
    assert labels(store, order="site")[:1] == ["ref-3"]
    assert labels(store, order="site", descending=True)[0] == "ref-6"


def test_search_matches_a_substring_of_each_field_ignoring_case(store: SqlStore) -> None:
    some = store.find_hits(HitQuery(limit=100))
    by_label = {h.reference_label: h for h in some}
    assert labels(store, search="one.JPG") == ["ref-0"]  # image URL, case ignored
    assert labels(store, search="zeta.EX") == ["ref-3"]  # site (and URL)
    assert labels(store, search="ref-6") == ["ref-6"]  # reference label
    assert labels(store, search=by_label["ref-2"].id[3:15].upper()) == ["ref-2"]  # hit id
    assert sorted(labels(store, search="a.example/page")) == sorted(by_label)  # page URL
    # Wildcards of LIKE typed in the search are plain characters.
    assert labels(store, search="100%_") == ["ref-1"]
    assert labels(store, search="%") == ["ref-1"]
    assert labels(store, search="_") == ["ref-1"]
    assert labels(store, search="!") == []
    assert labels(store, search="   ") == labels(store)  # blank: no search
    assert store.count_hits(HitQuery(search="nothing-like-this")) == 0


def test_a_search_longer_than_the_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="at most 200"):
        HitQuery(search="x" * 201)
    with pytest.raises(ValueError, match="unknown order"):
        HitQuery(order="random")


def test_the_elasticsearch_query_of_a_search_and_a_sort() -> None:
    query = HitQuery(search=" Forum*?\\x ", order="seen_count", descending=False)
    pattern = "*forum\\*\\?\\\\x*"
    assert _bool(query)["bool"]["filter"] == [
        {
            "bool": {
                "should": [
                    {"wildcard": {f: {"value": pattern, "case_insensitive": True}}}
                    for f in ("id", "image_url", "page_url", "site", "reference_label")
                ],
                "minimum_should_match": 1,
            }
        }
    ]
    assert _sort(query) == [{"seen_count": "asc"}, {"distance": "asc"}, {"id": "asc"}]
    assert _bool(HitQuery()) == {"bool": {"filter": [], "must_not": []}}


def test_the_elasticsearch_priority_groups_follow_the_direction() -> None:
    query = HitQuery(priorities={"a": 2, "b": 0, "c": 5, "d": 2}, statuses=("pending",))
    groups = priority_groups(query)
    cases = [
        g["bool"]["filter"][-1]["terms"]["case_id"] if g["bool"]["filter"][1:] else "rest"
        for g in groups
    ]
    assert cases == [["c"], ["a", "d"], "rest"]
    assert groups[-1]["bool"]["must_not"] == [{"terms": {"case_id": ["a", "c", "d"]}}]
    backwards = priority_groups(dataclasses.replace(query, descending=False))
    assert [g["bool"]["filter"][1:] for g in backwards] == [
        [],
        [{"terms": {"case_id": ["a", "d"]}}],
        [{"terms": {"case_id": ["c"]}}],
    ]
    # within a group: distance, then first seen, then id (the priority key is the groups)
    assert _sort(query) == [{"distance": "asc"}, {"first_seen": "asc"}, {"id": "asc"}]

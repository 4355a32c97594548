"""The hit store on Elasticsearch: the same :class:`store.HitStore` contract as SQLite.

Hits live in one index behind the alias ``<prefix>-hits`` (created from an index
template), so a mapping change is a reindex into a new index and an atomic alias swap,
not an outage. Writes merge each sighting with the stored hit by the rules of
:mod:`store.sighting` (a replay changes nothing, an older record never rolls evidence
back) and write conditionally on the document's sequence number, so concurrent matchers
never lose an update; they return once Elasticsearch has acknowledged them, i.e. written
to its translog.
Reads see writes after the index refreshes (about a second; ``refresh()`` forces it).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import ApiError, ConflictError, Elasticsearch, NotFoundError, TransportError

from store.base import StoreError
from store.hitquery import SEARCH_FIELDS, HitQuery, search_pattern, sort_keys
from store.models import HIT_STATUSES
from store.sighting import first_sighting, merge
from wire import Hit

log = logging.getLogger(__name__)

DEFAULT_URL = "http://127.0.0.1:19200"
_KEYWORD = {"type": "keyword"}
_DATE = {"type": "date", "format": "strict_date_time_no_millis||strict_date_optional_time"}
MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "id": _KEYWORD,
        "case_id": _KEYWORD,
        "reference_label": _KEYWORD,
        "algorithm": _KEYWORD,
        "distance": {"type": "short"},
        "matches": {
            "type": "object",
            "properties": {
                "algorithm": _KEYWORD,
                "distance": {"type": "short"},
                "variant": _KEYWORD,
            },
        },
        "image_url": _KEYWORD,
        "page_url": _KEYWORD,
        "site": _KEYWORD,
        "fetched_at": _DATE,
        "http_status": {"type": "short"},
        "content_sha256": _KEYWORD,
        "status": _KEYWORD,
        "first_seen": _DATE,
        "last_seen": _DATE,
        "seen_count": {"type": "integer"},
        "version": {"type": "integer"},
        "schema_version": {"type": "short"},
        "crawl_id": _KEYWORD,
    },
}


def _count(raw: str, name: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None


@dataclass(frozen=True, slots=True)
class ElasticSettings:
    """How to reach Elasticsearch; ``from_env`` reads ``RADAR_ES_*``. Secrets have no
    default and stay out of ``repr``."""

    url: str = DEFAULT_URL
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    ca_certs: str | None = None
    prefix: str = "radar"
    # Copies of each shard of the hit index beyond the primary: 0 on one node (the local
    # servers, a dev cluster), 1 or more on a cluster (RADAR_ES_REPLICAS).
    replicas: int = 0

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"Elasticsearch URL must be http(s)://..., got {self.url!r}")
        if not 0 <= self.replicas <= 10:
            raise ValueError(f"RADAR_ES_REPLICAS must be 0 to 10, got {self.replicas}")
        if bool(self.username) != bool(self.password):
            raise ValueError("RADAR_ES_USERNAME and RADAR_ES_PASSWORD go together")

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> ElasticSettings:
        return cls(
            url=env.get("RADAR_ES_URL", DEFAULT_URL),
            username=env.get("RADAR_ES_USERNAME") or None,
            password=env.get("RADAR_ES_PASSWORD") or None,
            api_key=env.get("RADAR_ES_API_KEY") or None,
            ca_certs=env.get("RADAR_ES_CA_CERTS") or None,
            prefix=env.get("RADAR_ES_PREFIX", "radar"),
            replicas=_count(env.get("RADAR_ES_REPLICAS", "0"), "RADAR_ES_REPLICAS"),
        )

    def client(self, timeout: float = 30.0) -> Elasticsearch:
        kwargs: dict[str, Any] = {"request_timeout": timeout}
        if self.username:
            kwargs["basic_auth"] = (self.username, self.password)
        if self.api_key:
            kwargs["api_key"] = self.api_key
        if self.ca_certs:
            kwargs["ca_certs"] = self.ca_certs
        return Elasticsearch(self.url, **kwargs)


class ElasticHitStore:
    """Implements :class:`store.HitStore` on Elasticsearch."""

    def __init__(self, settings: ElasticSettings, client: Elasticsearch | None = None) -> None:
        self.settings = settings
        self.es = client or settings.client()
        self.alias = f"{settings.prefix}-hits"

    def ensure_index(self) -> None:
        """Create the index template and the first index behind the alias if missing, and
        bring an existing index's mapping and replica count to this release's settings.
        Safe to call from several processes at once."""
        try:
            self.es.indices.put_index_template(
                name=self.alias,
                index_patterns=[f"{self.alias}-*"],
                priority=200,
                template={
                    "settings": {
                        "number_of_shards": 1,
                        "number_of_replicas": self.settings.replicas,
                    },
                    "mappings": MAPPINGS,
                },
            )
            if not self.es.indices.exists_alias(name=self.alias):
                try:
                    self.es.indices.create(
                        index=f"{self.alias}-000001", aliases={self.alias: {"is_write_index": True}}
                    )
                except ApiError as exc:
                    if "resource_already_exists" not in str(exc):
                        raise
            # Indices made by an older release lack fields added since: add them (a
            # strict mapping refuses a document with an unknown field).
            self.es.indices.put_mapping(index=self.alias, properties=MAPPINGS["properties"])
            # ... and the replica count set now (a dynamic setting: a cluster grown from
            # one node to three gets its copies without a reindex).
            self.es.indices.put_settings(
                index=self.alias, settings={"index": {"number_of_replicas": self.settings.replicas}}
            )
        except (ApiError, TransportError) as exc:
            raise StoreError(f"cannot set up the hit index: {exc}") from exc

    def refresh(self) -> None:
        self.es.indices.refresh(index=self.alias)

    def upsert_hits(self, hits: Sequence[Hit], attempts: int = 10) -> None:
        """Merge each sighting into its stored hit (:mod:`store.sighting`) by read, merge
        and conditional write (``if_seq_no``): a concurrent writer makes the write fail
        and the hit is read and merged again. No server-side script is needed."""
        pending = {hit.id: hit for hit in hits}  # one sighting per id per batch is enough
        later = [h for h in hits if pending[h.id] is not h]
        for _ in range(attempts):
            if not pending:
                break
            pending = self._write(pending)
        if pending:
            raise StoreError(f"{len(pending)} hits still contended after {attempts} tries")
        if later:
            self.upsert_hits(later, attempts)

    def _write(self, pending: dict[str, Hit]) -> dict[str, Hit]:
        """One round: return the hits whose conditional write lost a race."""
        try:
            found = self.es.mget(index=self.alias, ids=list(pending))["docs"]
            operations: list[dict[str, Any]] = []
            for doc in found:
                incoming = pending[doc["_id"]]
                if not doc.get("found"):
                    operations += [
                        {"create": {"_index": self.alias, "_id": incoming.id}},
                        _source(first_sighting(incoming), version=1),
                    ]
                    continue
                stored = doc["_source"]
                merged = merge(Hit.from_dict(stored), incoming)
                if merged is not None:
                    operations += [
                        {
                            "index": {
                                "_index": self.alias,
                                "_id": incoming.id,
                                "if_seq_no": doc["_seq_no"],
                                "if_primary_term": doc["_primary_term"],
                            }
                        },
                        _source(merged, version=stored["version"]),
                    ]
            if not operations:
                return {}
            response = self.es.bulk(operations=operations, require_alias=True)
        except (ApiError, TransportError) as exc:
            raise StoreError(f"Elasticsearch write failed: {exc}") from exc
        lost: dict[str, Hit] = {}
        for item in response["items"]:
            result = next(iter(item.values()))  # {"create" | "index": result}
            if result.get("status") == 409:
                lost[result["_id"]] = pending[result["_id"]]
            elif "error" in result:
                raise StoreError(f"hit {result['_id']} not written: {result['error']}")
        return lost

    def hits(
        self, case_id: str | None = None, status: str | None = None, limit: int = 1000
    ) -> list[Hit]:
        if status is not None and status not in HIT_STATUSES:
            raise StoreError(f"unknown hit status {status!r}")
        filters = [
            {"term": {k: v}} for k, v in (("case_id", case_id), ("status", status)) if v is not None
        ]
        try:
            response = self.es.search(
                index=self.alias,
                query={"bool": {"filter": filters}},
                size=limit,
                sort=[
                    {"case_id": "asc"},
                    {"distance": "asc"},
                    {"first_seen": "asc"},
                    {"id": "asc"},
                ],
            )
        except (ApiError, TransportError) as exc:
            raise StoreError(f"Elasticsearch search failed: {exc}") from exc
        return [Hit.from_dict(h["_source"]) for h in response["hits"]["hits"]]

    def _get(self, hit_id: str) -> dict[str, Any]:
        try:
            return dict(self.es.get(index=self.alias, id=hit_id))
        except NotFoundError:
            raise StoreError(f"no hit {hit_id!r}") from None

    def hit_version(self, hit_id: str) -> int:
        return int(self._get(hit_id)["_source"]["version"])

    def set_hit_status(self, hit_id: str, status: str, expected_version: int) -> int:
        if status not in HIT_STATUSES:
            raise StoreError(f"unknown hit status {status!r}")
        current = self._get(hit_id)
        version = int(current["_source"]["version"])
        if version != expected_version:
            raise StoreError(
                f"hit {hit_id} changed meanwhile (version {version}, expected {expected_version})"
            )
        try:
            self.es.update(
                index=self.alias,
                id=hit_id,
                if_seq_no=current["_seq_no"],
                if_primary_term=current["_primary_term"],
                doc={"status": status, "version": version + 1},
            )
        except ConflictError:
            raise StoreError(f"hit {hit_id} changed meanwhile") from None
        return version + 1

    def hit_counts(self, by: str) -> dict[str, int]:
        if by not in ("site", "case_id", "status"):
            raise StoreError(f"cannot count hits by {by!r}")
        response = self.es.search(
            index=self.alias, size=0, aggs={"by": {"terms": {"field": by, "size": 10_000}}}
        )
        buckets = response["aggregations"]["by"]["buckets"]
        return {b["key"]: b["doc_count"] for b in sorted(buckets, key=lambda b: b["key"])}

    def get_hit(self, hit_id: str) -> tuple[Hit, int]:
        source = self._get(hit_id)["_source"]
        return Hit.from_dict(source), int(source["version"])

    def find_hits(self, query: HitQuery) -> list[Hit]:
        """Priority order without scripts (not every cluster has Painless): one search
        per distinct case priority, highest first (lowest first when ascending), paged
        across the groups."""
        if query.limit == 0:
            return []
        if query.order != "priority":
            return self._search(_bool(query), _sort(query), query.offset, query.limit)
        skip, want, out = query.offset, query.limit, []
        for group in priority_groups(query):
            size = self._count(group)
            if skip >= size:
                skip -= size
                continue
            found = self._search(group, _sort(query), skip, min(want, size - skip))
            out += found
            want -= len(found)
            skip = 0
            if want <= 0:
                break
        return out

    def _search(self, q: dict[str, Any], sort: list[Any], offset: int, size: int) -> list[Hit]:
        try:
            response = self.es.search(index=self.alias, query=q, sort=sort, size=size, from_=offset)
        except (ApiError, TransportError) as exc:
            raise StoreError(f"Elasticsearch search failed: {exc}") from exc
        return [Hit.from_dict(h["_source"]) for h in response["hits"]["hits"]]

    def _count(self, q: dict[str, Any]) -> int:
        try:
            return int(self.es.count(index=self.alias, query=q)["count"])
        except (ApiError, TransportError) as exc:
            raise StoreError(f"Elasticsearch count failed: {exc}") from exc

    def count_hits(self, query: HitQuery) -> int:
        return self._count(_bool(query))


def _bool(query: HitQuery) -> dict[str, Any]:
    """The query's filters as an Elasticsearch ``bool`` query."""
    filters: list[dict[str, Any]] = [
        {"terms": {field: list(values)}}
        for field, values in (
            ("case_id", query.case_ids),
            ("site", query.sites),
            ("status", query.statuses),
            ("id", query.ids),
        )
        if values
    ]
    if query.content_sha256 is not None:
        filters.append({"term": {"content_sha256": query.content_sha256}})
    if text := search_pattern(query.search):
        pattern = "*" + text.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?") + "*"
        filters.append(
            {
                "bool": {
                    "should": [
                        {"wildcard": {f: {"value": pattern, "case_insensitive": True}}}
                        for f in SEARCH_FIELDS
                    ],
                    "minimum_should_match": 1,
                }
            }
        )
    must_not = [{"terms": {"id": list(query.exclude_ids)}}] if query.exclude_ids else []
    return {"bool": {"filter": filters, "must_not": must_not}}


def priority_groups(query: HitQuery) -> list[dict[str, Any]]:
    """The ``bool`` queries of a priority-ordered query, one per distinct case priority
    in the order they are read: highest priority first (lowest first when ascending);
    priority 0 is every case ``query.priorities`` does not name."""
    by_priority: dict[int, list[str]] = {}
    for case_id, priority in query.priorities.items():
        by_priority.setdefault(int(priority), []).append(case_id)
    others = [c for p, cases in by_priority.items() if p != 0 for c in cases]
    groups = []
    for priority in sorted(set(by_priority) | {0}, reverse=query.is_descending):
        group = _bool(query)
        if priority == 0:
            if others:
                group["bool"]["must_not"].append({"terms": {"case_id": sorted(others)}})
        else:
            group["bool"]["filter"].append({"terms": {"case_id": by_priority[priority]}})
        groups.append(group)
    return groups


def _sort(query: HitQuery) -> list[dict[str, str]]:
    """The search's sort of :func:`store.hitquery.sort_keys` (in a priority order, the
    keys within one priority group)."""
    return [{c: "desc" if d else "asc"} for c, d in sort_keys(query) if c != "priority"]


def _source(hit: Hit, version: int) -> dict[str, Any]:
    """The stored document of a hit: the hit, its id, and the review version."""
    return {**hit.to_dict(), "version": version}

"""The hit store on Elasticsearch: the same :class:`store.HitStore` contract as SQLite.

Hits live in indices behind the alias ``<prefix>-hits`` (created from an index
template), so a mapping change is a reindex into a new index and an atomic alias swap,
not an outage. New hits go to the alias's write index; :meth:`ElasticHitStore.rollover`
(the matchers call it, with the conditions of ``RADAR_ES_ROLLOVER_MAX_SIZE``,
``..._MAX_AGE`` and ``..._MAX_DOCS``) starts a new one
once the current one is old or large enough. A hit stays in the index it was created in:
every read and update by id looks it up in all the alias's indices (real-time ``mget``),
so a hit seen again after a rollover is merged where it is, never created twice (but for
one race: a hit first seen by two matchers at the instant of a rollover, one writing
before it and one after, is stored in both indices; reads by id take the older, searches
list both, and nothing removes the newer yet).

Writes merge each sighting with the stored hit by the rules of
:mod:`store.sighting` (a replay changes nothing, an older record never rolls evidence
back) and write conditionally on the document's sequence number, so concurrent matchers
never lose an update; they return once Elasticsearch has acknowledged them, i.e. written
to its translog.
Reads see writes after the index refreshes (about a second; ``refresh()`` forces it).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Annotated, Any, Self

from elasticsearch import ApiError, ConflictError, Elasticsearch, TransportError
from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from ops.settings import RadarSettings, empty_is_none, whole_number
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


_AGE_UNITS = ("d", "h", "m", "s")
_SIZE_UNITS = ("tb", "gb", "mb", "kb", "b")


def _quantity(value: str, units: tuple[str, ...]) -> bool:
    """True if ``value`` is a positive whole number and one of ``units`` ("30d", "50gb")."""
    unit = next((u for u in units if value.endswith(u)), None)
    number = value[: -len(unit)] if unit else ""
    return number.isdigit() and int(number) > 0


def _zero(value: object) -> object:
    return "0" if value == "" else value  # an empty count is off, as unset


def _whole(name: str) -> Any:
    """A before-validator: the variable ``name``'s text as a whole number."""
    return lambda value: whole_number(name, value)


class ElasticSettings(RadarSettings):
    """How to reach Elasticsearch; ``from_env`` reads ``RADAR_ES_*``. Secrets have no
    default and stay out of ``repr``."""

    url: str = Field(default=DEFAULT_URL, validation_alias="RADAR_ES_URL")
    username: str | None = Field(default=None, validation_alias="RADAR_ES_USERNAME")
    password: str | None = Field(default=None, validation_alias="RADAR_ES_PASSWORD", repr=False)
    api_key: str | None = Field(default=None, validation_alias="RADAR_ES_API_KEY", repr=False)
    ca_certs: str | None = Field(default=None, validation_alias="RADAR_ES_CA_CERTS")
    prefix: str = Field(default="radar", validation_alias="RADAR_ES_PREFIX")
    # Copies of each shard of the hit index beyond the primary: 0 on one node (the local
    # servers, a dev cluster), 1 or more on a cluster (RADAR_ES_REPLICAS).
    replicas: Annotated[int, BeforeValidator(_whole("RADAR_ES_REPLICAS"))] = Field(
        default=0, validation_alias="RADAR_ES_REPLICAS"
    )
    # When the write index is rolled over (Elasticsearch's rollover conditions; "" or 0:
    # not by that): an age such as "30d", a primary shard size such as "30gb", a count.
    rollover_max_age: str = Field(default="", validation_alias="RADAR_ES_ROLLOVER_MAX_AGE")
    rollover_max_size: str = Field(default="", validation_alias="RADAR_ES_ROLLOVER_MAX_SIZE")
    rollover_max_docs: Annotated[
        int, BeforeValidator(_whole("RADAR_ES_ROLLOVER_MAX_DOCS")), BeforeValidator(_zero)
    ] = Field(default=0, validation_alias="RADAR_ES_ROLLOVER_MAX_DOCS")

    _optional = field_validator("username", "password", "api_key", "ca_certs", mode="before")(
        empty_is_none
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(
                f"Elasticsearch URL (RADAR_ES_URL) must be http(s)://..., got {value!r}"
            )
        return value

    @field_validator("replicas")
    @classmethod
    def _replicas(cls, value: int) -> int:
        if not 0 <= value <= 10:
            raise ValueError(f"RADAR_ES_REPLICAS must be 0 to 10, got {value}")
        return value

    @field_validator("rollover_max_age", "rollover_max_size")
    @classmethod
    def _quantities(cls, value: str, info: ValidationInfo) -> str:
        name, units = {
            "rollover_max_age": ("RADAR_ES_ROLLOVER_MAX_AGE", _AGE_UNITS),
            "rollover_max_size": ("RADAR_ES_ROLLOVER_MAX_SIZE", _SIZE_UNITS),
        }[str(info.field_name)]
        if value and not _quantity(value, units):
            raise ValueError(f"{name} must be a number and one of {units}, got {value!r}")
        return value

    @field_validator("rollover_max_docs")
    @classmethod
    def _docs(cls, value: int) -> int:
        if value < 0:
            raise ValueError("RADAR_ES_ROLLOVER_MAX_DOCS must be 0 (off) or more")
        return value

    @model_validator(mode="after")
    def _login(self) -> Self:
        if bool(self.username) != bool(self.password):
            raise ValueError("RADAR_ES_USERNAME and RADAR_ES_PASSWORD go together")
        return self

    def rollover_conditions(self) -> dict[str, Any]:
        """Elasticsearch's rollover conditions ({} when rollover is off)."""
        conditions: dict[str, Any] = {}
        if self.rollover_max_age:
            conditions["max_age"] = self.rollover_max_age
        if self.rollover_max_size:
            conditions["max_primary_shard_size"] = self.rollover_max_size
        if self.rollover_max_docs:
            conditions["max_docs"] = self.rollover_max_docs
        return conditions

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

    def rollover(self) -> str | None:
        """Roll the alias over to a new write index if the settings' conditions are met;
        the new index's name, or None (not due, or rollover off). Safe from several
        matchers at once: Elasticsearch checks the conditions against the write index of
        the moment, so a second caller finds the new, empty one not due."""
        conditions = self.settings.rollover_conditions()
        if not conditions:
            return None
        try:
            answer = self.es.indices.rollover(alias=self.alias, conditions=conditions)
        except (ApiError, TransportError) as exc:
            raise StoreError(f"cannot roll the hit index over: {exc}") from exc
        if not answer.get("rolled_over"):
            return None
        log.info("hit index rolled over to %s (%s)", answer["new_index"], answer["conditions"])
        return str(answer["new_index"])

    def indices(self) -> list[str]:
        """The indices behind the alias, oldest first."""
        try:
            return sorted(self.es.indices.get_alias(name=self.alias))
        except (ApiError, TransportError) as exc:
            raise StoreError(f"cannot read the hit alias: {exc}") from exc

    def _lookup(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored document of each id found, with ``_index``, ``_seq_no`` and
        ``_primary_term``: a real-time ``mget`` in every index of the alias (a hit stays
        where it was created)."""
        docs = [{"_index": index, "_id": i} for index in self.indices() for i in ids]
        found: dict[str, dict[str, Any]] = {}
        for doc in self.es.mget(docs=docs)["docs"]:
            if doc.get("found"):
                found.setdefault(doc["_id"], doc)
        return found

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
            found = self._lookup(list(pending))
            operations: list[dict[str, Any]] = []
            for hit_id, incoming in pending.items():
                doc = found.get(hit_id)
                if doc is None:  # new: into the write index
                    operations += [
                        {"create": {"_index": self.alias, "_id": hit_id, "require_alias": True}},
                        _source(first_sighting(incoming), version=1),
                    ]
                    continue
                stored = doc["_source"]
                merged = merge(Hit.from_dict(stored), incoming)
                if merged is not None:
                    operations += [
                        {
                            "index": {  # where it is, even if no longer the write index
                                "_index": doc["_index"],
                                "_id": hit_id,
                                "if_seq_no": doc["_seq_no"],
                                "if_primary_term": doc["_primary_term"],
                            }
                        },
                        _source(merged, version=stored["version"]),
                    ]
            if not operations:
                return {}
            response = self.es.bulk(operations=operations)
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

    def case_hits(self, case_id: str, page: int = 1000) -> Iterator[Hit]:
        """Every hit of ``case_id``, by id, in pages of ``page`` (``search_after``: no
        10,000-hit result window, and hits written meanwhile after the cursor are
        included). An id stored twice (the rollover race) comes once."""
        after: list[Any] | None = None
        while True:
            try:
                response = self.es.search(
                    index=self.alias,
                    query={"bool": {"filter": [{"term": {"case_id": case_id}}]}},
                    size=page,
                    sort=[{"id": "asc"}],
                    search_after=after,  # None: from the first
                )
            except (ApiError, TransportError) as exc:
                raise StoreError(f"Elasticsearch search failed: {exc}") from exc
            found = response["hits"]["hits"]
            for doc in found:
                yield Hit.from_dict(doc["_source"])
            if len(found) < page:
                return
            after = found[-1]["sort"]

    def _get(self, hit_id: str) -> dict[str, Any]:
        try:
            found = self._lookup([hit_id])
        except (ApiError, TransportError) as exc:
            raise StoreError(f"Elasticsearch read failed: {exc}") from exc
        if hit_id not in found:
            raise StoreError(f"no hit {hit_id!r}")
        return found[hit_id]

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
                index=current["_index"],
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

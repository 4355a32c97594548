"""The tables of the crawler's memory: evidence and page snapshots, incremental-crawl
state, target leases for the scheduler, and re-check results.

:class:`CrawlStore` is :class:`store.SqlStore` (cases, targets, hits) with these tables
(defined here, on :data:`store.schema.metadata`): it implements the interfaces of
:mod:`store.evidence` on SQLite and PostgreSQL alike. The crawler, the scheduler and the
CLI open a ``CrawlStore``; the matcher and the review app need only a ``SqlStore``.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import (
    Column,
    Index,
    LargeBinary,
    PrimaryKeyConstraint,
    Table,
    UniqueConstraint,
    text,
)

from store.base import StoreError
from store.evidence import (
    Evidence,
    ImageState,
    PageSnapshot,
    PageState,
    RecheckResult,
    as_json,
    images_of,
    recheck_from_row,
    snapshot_html,
)
from store.schema import id_column as _id
from store.schema import int_column as _i
from store.schema import metadata, replace_into
from store.schema import text_column as _t
from store.sql import SqlStore

# -- the crawler's memory: evidence, page snapshots, incremental state, round progress, re-checks --
page_snapshots = Table(
    "page_snapshots",
    metadata,
    _t("sha256", primary_key=True),
    _t("url"),
    _t("fetched_at"),
    Column("html", LargeBinary, nullable=False),  # zlib-compressed HTML, never an image
    _i("truncated"),
)
evidence = Table(
    "evidence",
    metadata,
    _id(),
    _t("case_id"),
    _i("target_id"),
    _t("image_url"),
    _t("fetched_url"),
    _t("final_url"),
    _t("page_url"),
    _t("fetched_at"),
    _i("http_status"),
    _t("content_sha256"),
    _t("record"),
    UniqueConstraint("case_id", "image_url", "fetched_at", "content_sha256"),
    Index("evidence_image", "image_url", "fetched_at"),
)
round_pages = Table(  # the distributed crawl's progress per round: `radar seed --wait`
    "round_pages",
    metadata,
    _t("crawl_id"),
    _t("url"),
    _i("target_id"),
    _t("state"),  # queued | done | failed
    _i("images", server_default=text("0")),
    _t("updated_at"),
    PrimaryKeyConstraint("crawl_id", "url"),
)
page_state = Table(
    "page_state",
    metadata,
    _i("target_id"),
    _t("url"),
    _t("etag"),
    _t("last_modified"),
    _t("sha256"),
    _t("images"),
    _t("links"),
    _t("fetched_at"),
    PrimaryKeyConstraint("target_id", "url"),
)
image_state = Table(
    "image_state",
    metadata,
    _t("url", primary_key=True),
    _t("etag"),
    _t("last_modified"),
    _t("sha256"),
    _t("hashes"),
    _t("fetched_at"),
)
rechecks = Table(
    "rechecks",
    metadata,
    _id(),
    _t("url"),
    _t("case_id"),
    _t("status"),
    _t("checked_at"),
    _i("http_status"),
    _t("content_sha256"),
    _t("detail"),
    _t("matched"),
    Index("rechecks_url", "url", "checked_at"),
)


@dataclass(frozen=True, slots=True)
class RoundProgress:
    """A distributed crawl round's pages: ``queued`` are still waiting or in flight."""

    crawl_id: str
    target_id: int
    queued: int
    done: int
    failed: int
    images: int  # image requests the finished pages led to

    @property
    def finished(self) -> bool:
        return self.queued == 0


class CrawlStore(SqlStore):
    """The service store with the crawler's memory: implements
    :class:`store.evidence.EvidenceStore` and :class:`store.evidence.CrawlStateStore`,
    and the scheduler's target leases."""

    # -- evidence --------------------------------------------------------------------------
    def save_evidence(self, evidence: Evidence, page_html: str | None = None) -> Evidence:
        record = json.dumps(evidence.to_dict(), sort_keys=True)
        with self._tx() as db:
            if page_html is not None and evidence.page_sha256:
                kept, truncated = snapshot_html(page_html)
                blob = zlib.compress(kept.encode("utf-8", "replace"))
                db.execute(
                    "INSERT INTO page_snapshots VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
                    (
                        evidence.page_sha256,
                        evidence.page_final_url or evidence.page_url,
                        evidence.page_fetched_at or evidence.fetched_at,
                        blob,
                        int(truncated),
                    ),
                )
            cursor = db.execute(
                "INSERT INTO evidence (case_id,target_id,image_url,fetched_url,"
                "final_url,page_url,fetched_at,http_status,content_sha256,record) "
                "VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING RETURNING id",
                (
                    evidence.case_id,
                    evidence.target_id,
                    evidence.image_url,
                    evidence.fetched_url,
                    evidence.final_url,
                    evidence.page_url,
                    evidence.fetched_at,
                    evidence.http_status,
                    evidence.content_sha256,
                    record,
                ),
            )
            inserted = cursor.fetchone()
            row_id = None if inserted is None else inserted[0]
            if row_id is None:  # the same sighting again (a replay): keep the first
                row = db.execute(
                    "SELECT id FROM evidence WHERE case_id=? AND image_url=? AND fetched_at=? "
                    "AND content_sha256=?",
                    (
                        evidence.case_id,
                        evidence.image_url,
                        evidence.fetched_at,
                        evidence.content_sha256,
                    ),
                ).fetchone()
                row_id = row[0]
        return Evidence.from_dict({**evidence.to_dict(), "id": int(row_id)})

    def evidence(
        self, image_url: str | None = None, case_id: str | None = None, limit: int = 100
    ) -> list[Evidence]:
        clauses, args = [], []
        for column, value in (("image_url", image_url), ("case_id", case_id)):
            if value is not None:
                clauses.append(f"{column}=?")
                args.append(value)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._db.execute(
            f"SELECT id, record FROM evidence{where} ORDER BY fetched_at DESC, id DESC LIMIT ?",
            (*args, limit),
        )
        return [Evidence.from_dict({**json.loads(r["record"]), "id": r["id"]}) for r in rows]

    def page_snapshot(self, sha256: str) -> PageSnapshot | None:
        row = self._db.execute("SELECT * FROM page_snapshots WHERE sha256=?", (sha256,)).fetchone()
        if row is None:
            return None
        html = zlib.decompress(row["html"]).decode("utf-8", "replace")
        return PageSnapshot(
            row["sha256"], row["url"], row["fetched_at"], html, bool(row["truncated"])
        )

    # -- incremental crawling ---------------------------------------------------------------
    def page_state(self, target_id: int, url: str) -> PageState | None:
        row = self._db.execute(
            "SELECT * FROM page_state WHERE target_id=? AND url=?", (target_id, url)
        ).fetchone()
        if row is None:
            return None
        return PageState(
            target_id,
            url,
            row["etag"],
            row["last_modified"],
            row["sha256"],
            images_of(row["images"]),
            tuple(json.loads(row["links"])),
            row["fetched_at"],
        )

    def save_page_state(self, state: PageState) -> None:
        # One statement, atomic on its own: no write transaction, whose global advisory
        # lock on PostgreSQL would serialize every crawler's pages for nothing.
        self._db.execute(
            replace_into("page_state"),
            (
                state.target_id,
                state.url,
                state.etag,
                state.last_modified,
                state.sha256,
                as_json(state.images),
                as_json(state.links),
                state.fetched_at,
            ),
        )

    def image_state(self, url: str) -> ImageState | None:
        row = self._db.execute("SELECT * FROM image_state WHERE url=?", (url,)).fetchone()
        if row is None:
            return None
        return ImageState(
            url,
            row["etag"],
            row["last_modified"],
            row["sha256"],
            json.loads(row["hashes"]),
            row["fetched_at"],
        )

    def save_image_state(self, state: ImageState) -> None:
        # One atomic statement, as save_page_state (once per image crawled).
        self._db.execute(
            replace_into("image_state"),
            (
                state.url,
                state.etag,
                state.last_modified,
                state.sha256,
                state.hashes_json(),
                state.fetched_at,
            ),
        )

    # -- the distributed crawl's rounds (radar seed --wait) -----------------------------------
    def queue_round_pages(self, crawl_id: str, target_id: int, urls: list[str], now: str) -> None:
        """Record that ``urls`` were queued on the frontier for round ``crawl_id``, before
        they are published (so a round is never seen finished while a page is in flight).
        A URL the round already has keeps its row (a link found twice, a replay)."""
        with self._tx() as db:
            for url in urls:
                db.execute(
                    "INSERT INTO round_pages VALUES (?,?,?,'queued',0,?) ON CONFLICT DO NOTHING",
                    (crawl_id, url, target_id, now),
                )

    def finish_round_page(
        self, crawl_id: str, url: str, target_id: int, ok: bool, images: int, now: str
    ) -> None:
        """Mark a page of a round done (``ok``) or failed, with the images it led to. The
        first finish wins: a page crawled again (Kafka redelivered its record) keeps it."""
        state = "done" if ok else "failed"
        with self._tx() as db:
            db.execute(
                "INSERT INTO round_pages VALUES (?,?,?,?,?,?) ON CONFLICT (crawl_id, url) "
                "DO UPDATE SET state=excluded.state, images=excluded.images, "
                "updated_at=excluded.updated_at WHERE round_pages.state='queued'",
                (crawl_id, url, target_id, state, images, now),
            )

    def round_progress(self, crawl_ids: list[str]) -> dict[str, RoundProgress]:
        """The pages of each round by state; a round nothing was queued for is left out."""
        out: dict[str, RoundProgress] = {}
        for crawl_id in crawl_ids:
            rows = self._db.execute(
                "SELECT target_id, state, COUNT(*) AS n, SUM(images) AS images "
                "FROM round_pages WHERE crawl_id=? GROUP BY target_id, state",
                (crawl_id,),
            ).fetchall()
            if not rows:
                continue
            by_state = {r["state"]: int(r["n"]) for r in rows}
            out[crawl_id] = RoundProgress(
                crawl_id=crawl_id,
                target_id=int(rows[0]["target_id"]),
                queued=by_state.get("queued", 0),
                done=by_state.get("done", 0),
                failed=by_state.get("failed", 0),
                images=sum(int(r["images"] or 0) for r in rows),
            )
        return out

    # -- targets and their schedule ---------------------------------------------------------
    def claim_target(self, target_id: int, owner: str, now: str, until: str) -> bool:
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE targets SET lease_owner=?, lease_until=? WHERE id=? AND "
                "(lease_until IS NULL OR lease_until < ? OR lease_owner=?)",
                (owner, until, target_id, now, owner),
            )
        return cursor.rowcount == 1

    def mark_crawled(self, target_id: int, when: str) -> None:
        """Record that a round of the target started at ``when`` (distributed mode: the
        scheduler seeded it), so it is next due ``interval_seconds`` later."""
        with self._tx() as db:
            db.execute("UPDATE targets SET last_crawled_at=? WHERE id=?", (when, target_id))

    def release_target(self, target_id: int, owner: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE targets SET lease_owner=NULL, lease_until=NULL "
                "WHERE id=? AND lease_owner=?",
                (target_id, owner),
            )

    def lease_of(self, target_id: int) -> tuple[str | None, str | None]:
        row = self._db.execute(
            "SELECT lease_owner, lease_until FROM targets WHERE id=?", (target_id,)
        ).fetchone()
        if row is None:
            raise StoreError(f"no target #{target_id}")
        return row[0], row[1]

    # -- re-checks ---------------------------------------------------------------------------
    def save_recheck(self, result: RecheckResult) -> RecheckResult:
        with self._tx() as db:
            return insert_recheck(db, result)

    def rechecks(
        self, url: str | None = None, limit: int = 100, until: str | None = None
    ) -> list[RecheckResult]:
        return select_rechecks(self._db, url, limit, until)


def insert_recheck(db: Any, result: RecheckResult) -> RecheckResult:
    """Save one re-check in the ``rechecks`` table (inside the caller's transaction) and
    return it with its id: the one writer of the table, for the crawler's re-checks and
    the notice desk's (:class:`notices.storage.SqlNoticeStore`)."""
    cursor = db.execute(
        "INSERT INTO rechecks (url,case_id,status,checked_at,http_status,"
        "content_sha256,detail,matched) VALUES (?,?,?,?,?,?,?,?) RETURNING id",
        (
            result.url,
            result.case_id,
            result.status,
            result.checked_at,
            result.http_status,
            result.content_sha256,
            result.detail,
            as_json(result.matched),
        ),
    )
    (recheck_id,) = cursor.fetchone()
    return replace(result, id=int(recheck_id))


def select_rechecks(
    db: Any, url: str | None = None, limit: int = 100, until: str | None = None
) -> list[RecheckResult]:
    """The latest ``limit`` re-checks (of ``url``; made at or before ``until``), newest
    first."""
    where, args = ["checked_at<=?"], [until or "9999"]
    if url is not None:
        where.append("url=?")
        args.append(url)
    rows = db.execute(
        f"SELECT * FROM rechecks WHERE {' AND '.join(where)} "
        "ORDER BY checked_at DESC, id DESC LIMIT ?",
        (*args, limit),
    )
    return [recheck_from_row(r) for r in rows]

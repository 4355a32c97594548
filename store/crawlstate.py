"""SQLite tables of the crawler's memory: evidence and page snapshots, incremental-crawl
state, target leases for the scheduler, and re-check results.

A mixin of :class:`store.SqliteStore` (it uses its connection and transactions), so the
embedded store implements :class:`store.evidence.EvidenceStore` and
:class:`store.evidence.CrawlStateStore`. Older databases are migrated in place on open:
new columns are added with defaults, nothing is rewritten.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from typing import Any

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
from store.models import Target

SCHEMA = """
CREATE TABLE IF NOT EXISTS page_snapshots (
    sha256 TEXT PRIMARY KEY, url TEXT NOT NULL, fetched_at TEXT NOT NULL,
    html BLOB NOT NULL, truncated INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS evidence (
    id INTEGER PRIMARY KEY, case_id TEXT NOT NULL, target_id INTEGER NOT NULL,
    image_url TEXT NOT NULL, fetched_url TEXT NOT NULL, final_url TEXT NOT NULL,
    page_url TEXT NOT NULL, fetched_at TEXT NOT NULL, http_status INTEGER NOT NULL,
    content_sha256 TEXT NOT NULL, record TEXT NOT NULL,
    UNIQUE (case_id, image_url, fetched_at, content_sha256));
CREATE INDEX IF NOT EXISTS evidence_image ON evidence (image_url, fetched_at);
CREATE TABLE IF NOT EXISTS page_state (
    target_id INTEGER NOT NULL, url TEXT NOT NULL, etag TEXT NOT NULL,
    last_modified TEXT NOT NULL, sha256 TEXT NOT NULL, images TEXT NOT NULL,
    links TEXT NOT NULL, fetched_at TEXT NOT NULL, PRIMARY KEY (target_id, url));
CREATE TABLE IF NOT EXISTS image_state (
    url TEXT PRIMARY KEY, etag TEXT NOT NULL, last_modified TEXT NOT NULL,
    sha256 TEXT NOT NULL, hashes TEXT NOT NULL, fetched_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rechecks (
    id INTEGER PRIMARY KEY, url TEXT NOT NULL, case_id TEXT NOT NULL, status TEXT NOT NULL,
    checked_at TEXT NOT NULL, http_status INTEGER NOT NULL, content_sha256 TEXT NOT NULL,
    detail TEXT NOT NULL, matched TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS rechecks_url ON rechecks (url, checked_at);
"""
# Columns added to the targets table of older stores: (name, declaration).
TARGET_COLUMNS = (
    ("render", "TEXT NOT NULL DEFAULT 'http'"),
    ("enabled", "INTEGER NOT NULL DEFAULT 1"),
    ("lease_owner", "TEXT"),
    ("lease_until", "TEXT"),
)


def migrate(db: sqlite3.Connection) -> None:
    """Create the crawler tables and add missing target columns (idempotent)."""
    db.executescript(SCHEMA)
    have = {row[1] for row in db.execute("PRAGMA table_info(targets)")}
    for name, declaration in TARGET_COLUMNS:
        if name not in have:
            try:
                db.execute(f"ALTER TABLE targets ADD COLUMN {name} {declaration}")
            except sqlite3.OperationalError as exc:  # another process added it meanwhile
                if "duplicate column" not in str(exc):
                    raise


def target_of(r: sqlite3.Row) -> Target:
    return Target(
        case_id=r["case_id"],
        url=r["url"],
        allowed_domains=tuple(json.loads(r["allowed_domains"])),
        max_depth=r["max_depth"],
        max_pages=r["max_pages"],
        interval_seconds=r["interval_seconds"],
        obey_robots=bool(r["obey_robots"]),
        kind=r["kind"],
        id=r["id"],
        created_at=r["created_at"],
        last_crawled_at=r["last_crawled_at"],
        render=r["render"],
        enabled=bool(r["enabled"]),
    )


class CrawlStateMixin:
    _db: sqlite3.Connection

    def _tx(self) -> Any: ...  # provided by SqliteStore

    def __deepcopy__(self, memo: dict[int, object]) -> object:
        # Scrapy deep-copies its settings, where the embedded crawl passes the store: a
        # store is a shared connection, so every copy is the store itself.
        return self

    # -- evidence --------------------------------------------------------------------------
    def save_evidence(self, evidence: Evidence, page_html: str | None = None) -> Evidence:
        record = json.dumps(evidence.to_dict(), sort_keys=True)
        with self._tx() as db:
            if page_html is not None and evidence.page_sha256:
                kept, truncated = snapshot_html(page_html)
                blob = zlib.compress(kept.encode("utf-8", "replace"))
                db.execute(
                    "INSERT OR IGNORE INTO page_snapshots VALUES (?,?,?,?,?)",
                    (
                        evidence.page_sha256,
                        evidence.page_final_url or evidence.page_url,
                        evidence.page_fetched_at or evidence.fetched_at,
                        blob,
                        int(truncated),
                    ),
                )
            cursor = db.execute(
                "INSERT OR IGNORE INTO evidence (case_id,target_id,image_url,fetched_url,"
                "final_url,page_url,fetched_at,http_status,content_sha256,record) "
                "VALUES (?,?,?,?,?,?,?,?,?,?)",
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
            row_id = cursor.lastrowid if cursor.rowcount else None
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
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO page_state VALUES (?,?,?,?,?,?,?,?)",
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
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO image_state VALUES (?,?,?,?,?,?)",
                (
                    state.url,
                    state.etag,
                    state.last_modified,
                    state.sha256,
                    state.hashes_json(),
                    state.fetched_at,
                ),
            )

    # -- targets and their schedule ---------------------------------------------------------
    def get_target(self, target_id: int) -> Target:
        row = self._db.execute("SELECT * FROM targets WHERE id=?", (target_id,)).fetchone()
        if row is None:
            raise StoreError(f"no target #{target_id}")
        return target_of(row)

    def all_targets(self) -> list[Target]:
        return [target_of(r) for r in self._db.execute("SELECT * FROM targets ORDER BY id")]

    def set_target_enabled(self, target_id: int, enabled: bool) -> Target:
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE targets SET enabled=? WHERE id=?", (int(enabled), target_id)
            )
            if cursor.rowcount != 1:
                raise StoreError(f"no target #{target_id}")
        return self.get_target(target_id)

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
            cursor = db.execute(
                "INSERT INTO rechecks (url,case_id,status,checked_at,http_status,"
                "content_sha256,detail,matched) VALUES (?,?,?,?,?,?,?,?)",
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
        data = result.to_dict()
        data["id"], data["matched"] = int(cursor.lastrowid or 0), result.matched
        return RecheckResult(**data)

    def rechecks(self, url: str | None = None, limit: int = 100) -> list[RecheckResult]:
        where, args = ("WHERE url=?", (url,)) if url is not None else ("", ())
        rows = self._db.execute(
            f"SELECT * FROM rechecks {where} ORDER BY checked_at DESC, id DESC LIMIT ?",
            (*args, limit),
        )
        return [recheck_from_row(r) for r in rows]

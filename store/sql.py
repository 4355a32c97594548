"""The service store of cases, banks, targets, hits and reports, on SQLite (embedded
mode: one file) or PostgreSQL (distributed mode: shared by every replica); see
:mod:`store.db`.

Every public method is one transaction. Safe to use from several processes; one
instance should not be shared between threads.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from hashing import MatchRule
from store.base import StoreError
from store.db import Database, IntegrityError
from store.hitquery import SEARCH_FIELDS, HitQuery, search_pattern, sort_keys
from store.models import (
    HIT_STATUSES,
    Case,
    CrawlReport,
    Reference,
    Target,
    check_case_id,
    target_url_problem,
)
from store.sighting import first_sighting, merge
from wire import Hit, MatchEvidence, utc_now


class SqlStore(Database):
    """Implements :class:`store.CaseStore` and :class:`store.HitStore` on SQL. The
    crawler's memory (evidence, incremental state, leases, re-checks) is
    :class:`crawler.storage.CrawlStore`, this store with the crawler's tables."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        if self.dialect == "sqlite":  # PostgreSQL: the migration wrote it
            self._db.execute("INSERT INTO meta VALUES ('bank_version', 0) ON CONFLICT DO NOTHING")

    # -- cases and banks -----------------------------------------------------------------
    def create_case(self, case: Case) -> Case:
        check_case_id(case.id)
        case = replace(case, created_at=case.created_at or utc_now())
        with self._tx() as db:
            try:
                db.execute(
                    "INSERT INTO cases VALUES (?,?,?,?,?,?,?,?)",
                    (
                        case.id,
                        case.title,
                        case.rule.pdq_threshold,
                        case.rule.phash_threshold,
                        case.rule.min_pdq_quality,
                        int(case.dihedral),
                        case.priority,
                        case.created_at,
                    ),
                )
            except IntegrityError:
                raise StoreError(f"case {case.id!r} exists already") from None
            self._bump_bank(db)
        return case

    def get_case(self, case_id: str) -> Case:
        row = self._db.execute("SELECT * FROM cases WHERE id=?", (case_id,)).fetchone()
        if row is None:
            raise StoreError(f"no case {case_id!r} (see 'radar case list')")
        return _case(row)

    def list_cases(self) -> list[Case]:
        return [_case(r) for r in self._db.execute("SELECT * FROM cases ORDER BY id")]

    def add_references(self, case_id: str, references: Iterable[Reference]) -> int:
        self.get_case(case_id)
        added = 0
        now = utc_now()
        with self._tx() as db:
            for ref in references:
                if ref.case_id != case_id:
                    raise StoreError(f"reference for case {ref.case_id!r} given to {case_id!r}")
                cursor = db.execute(
                    "INSERT INTO reference_hashes "
                    "(case_id,label,algorithm,hash,quality,variant,source,added_at) "
                    "VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                    (
                        case_id,
                        ref.label,
                        ref.algorithm,
                        ref.hash,
                        ref.quality,
                        ref.variant,
                        ref.source,
                        now,
                    ),
                )
                added += cursor.rowcount
            if added:
                self._bump_bank(db)
        return added

    def references(self, case_id: str | None = None) -> list[Reference]:
        sql = "SELECT * FROM reference_hashes"
        args: tuple[Any, ...] = ()
        if case_id is not None:
            sql, args = sql + " WHERE case_id=?", (case_id,)
        rows = self._db.execute(sql + " ORDER BY id", args)
        return [
            Reference(
                r["case_id"],
                r["label"],
                r["algorithm"],
                r["hash"],
                r["quality"],
                r["variant"],
                r["source"],
                r["id"],
            )
            for r in rows
        ]

    def bank_version(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key='bank_version'").fetchone()
        return int(row[0])

    @staticmethod
    def _bump_bank(db: Any) -> None:
        db.execute("UPDATE meta SET value = value + 1 WHERE key='bank_version'")

    # -- targets and crawl reports -------------------------------------------------------
    def add_target(self, target: Target) -> Target:
        """Store a new target; ValueError if its URL cannot be crawled (see
        :func:`store.models.target_url_problem`), StoreError for an unknown case."""
        problem = target_url_problem(target.url)
        if problem:
            raise ValueError(problem)
        self.get_case(target.case_id)
        target = replace(target, created_at=target.created_at or utc_now())
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO targets (case_id,kind,url,allowed_domains,max_depth,max_pages,"
                "interval_seconds,obey_robots,created_at,render,enabled,pass_gates) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
                (
                    target.case_id,
                    target.kind,
                    target.url,
                    json.dumps(target.allowed_domains),
                    target.max_depth,
                    target.max_pages,
                    target.interval_seconds,
                    int(target.obey_robots),
                    target.created_at,
                    target.render,
                    int(target.enabled),
                    int(bool(target.pass_gates)),
                ),
            )
            (target_id,) = cursor.fetchone()
        return replace(target, id=int(target_id))

    def targets(self, case_id: str) -> list[Target]:
        rows = self._db.execute("SELECT * FROM targets WHERE case_id=? ORDER BY id", (case_id,))
        return [target_of(r) for r in rows]

    def save_crawl_report(self, report: CrawlReport) -> CrawlReport:
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO crawl_reports (case_id,target_id,started_at,finished_at,"
                "finish_reason,counts) VALUES (?,?,?,?,?,?) RETURNING id",
                (
                    report.case_id,
                    report.target_id,
                    report.started_at,
                    report.finished_at,
                    report.finish_reason,
                    json.dumps(report.counts, sort_keys=True),
                ),
            )
            (report_id,) = cursor.fetchone()
            db.execute(
                "UPDATE targets SET last_crawled_at=? WHERE id=?",
                (report.finished_at, report.target_id),
            )
        report.id = int(report_id)
        return report

    def crawl_reports(self, case_id: str) -> list[CrawlReport]:
        rows = self._db.execute(
            "SELECT * FROM crawl_reports WHERE case_id=? ORDER BY id", (case_id,)
        )
        return [
            CrawlReport(
                r["case_id"],
                r["target_id"],
                r["started_at"],
                r["finished_at"],
                r["finish_reason"],
                json.loads(r["counts"]),
                r["id"],
            )
            for r in rows
        ]

    # -- hits ------------------------------------------------------------------------------
    def upsert_hits(self, hits: Sequence[Hit]) -> None:
        with self._tx() as db:
            for incoming in hits:
                row = db.execute("SELECT * FROM hits WHERE id=?", (incoming.id,)).fetchone()
                if row is None:
                    self._write_hit(db, first_sighting(incoming), insert=True)
                elif (merged := merge(_hit(row), incoming)) is not None:
                    self._write_hit(db, merged, insert=False)

    @staticmethod
    def _write_hit(db: Any, hit: Hit, insert: bool) -> None:
        values = {
            "case_id": hit.case_id,
            "reference_label": hit.reference_label,
            "algorithm": hit.algorithm,
            "distance": hit.distance,
            "matches": json.dumps([_ev(m) for m in hit.matches]),
            "image_url": hit.image_url,
            "page_url": hit.page_url,
            "site": hit.site,
            "fetched_at": hit.fetched_at,
            "http_status": hit.http_status,
            "content_sha256": hit.content_sha256,
            "first_seen": hit.first_seen,
            "last_seen": hit.last_seen,
            "seen_count": hit.seen_count,
            "crawl_id": hit.crawl_id,
        }
        if insert:
            values.update(id=hit.id, status=hit.status)
            db.execute(
                f"INSERT INTO hits ({','.join(values)}) VALUES ({','.join('?' * len(values))})",
                tuple(values.values()),
            )
        else:
            db.execute(
                f"UPDATE hits SET {', '.join(f'{k}=?' for k in values)} WHERE id=?",
                (*values.values(), hit.id),
            )

    def hits(
        self, case_id: str | None = None, status: str | None = None, limit: int = 1000
    ) -> list[Hit]:
        clauses, args = [], []
        if case_id is not None:
            clauses.append("case_id=?")
            args.append(case_id)
        if status is not None:
            if status not in HIT_STATUSES:
                raise StoreError(f"unknown hit status {status!r}")
            clauses.append("status=?")
            args.append(status)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._db.execute(
            f"SELECT * FROM hits{where} ORDER BY case_id, distance, first_seen LIMIT ?",
            (*args, limit),
        )
        return [_hit(r) for r in rows]

    def hit_version(self, hit_id: str) -> int:
        row = self._db.execute("SELECT version FROM hits WHERE id=?", (hit_id,)).fetchone()
        if row is None:
            raise StoreError(f"no hit {hit_id!r}")
        return int(row[0])

    def set_hit_status(self, hit_id: str, status: str, expected_version: int) -> int:
        if status not in HIT_STATUSES:
            raise StoreError(f"unknown hit status {status!r}")
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE hits SET status=?, version=version+1 WHERE id=? AND version=?",
                (status, hit_id, expected_version),
            )
            if cursor.rowcount != 1:
                current = db.execute("SELECT version FROM hits WHERE id=?", (hit_id,)).fetchone()
                if current is None:
                    raise StoreError(f"no hit {hit_id!r}")
                raise StoreError(
                    f"hit {hit_id} changed meanwhile (version {current[0]}, "
                    f"expected {expected_version})"
                )
        return expected_version + 1

    def hit_counts(self, by: str) -> dict[str, int]:
        if by not in ("site", "case_id", "status"):
            raise StoreError(f"cannot count hits by {by!r}")
        rows = self._db.execute(f"SELECT {by}, COUNT(*) FROM hits GROUP BY {by} ORDER BY {by}")
        return {r[0]: r[1] for r in rows}

    def get_hit(self, hit_id: str) -> tuple[Hit, int]:
        row = self._db.execute("SELECT * FROM hits WHERE id=?", (hit_id,)).fetchone()
        if row is None:
            raise StoreError(f"no hit {hit_id!r}")
        return _hit(row), int(row["version"])

    def find_hits(self, query: HitQuery) -> list[Hit]:
        where, args = _where(query)
        select = "SELECT * FROM hits"
        if query.order == "priority":
            cases = list(query.priorities.items())
            priority = (
                "CASE case_id " + " ".join("WHEN ? THEN ?" for _ in cases) + " ELSE 0 END"
                if cases
                else "0"
            )
            args = [*(v for pair in cases for v in pair), *args]
            select = f"SELECT *, {priority} AS priority FROM hits"
        # Sites sort by code point on both backends, as in Elasticsearch, whatever the
        # PostgreSQL database's locale.
        site = 'site COLLATE "C"' if self.dialect == "postgresql" else "site"
        order = ", ".join(
            f"{site if c == 'site' else c} {'DESC' if d else 'ASC'}" for c, d in sort_keys(query)
        )
        rows = self._db.execute(
            f"{select}{where} ORDER BY {order} LIMIT ? OFFSET ?",
            (*args, query.limit, query.offset),
        )
        return [_hit(r) for r in rows]

    def count_hits(self, query: HitQuery) -> int:
        where, args = _where(query)
        return int(self._db.execute(f"SELECT COUNT(*) FROM hits{where}", args).fetchone()[0])

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


def _where(query: HitQuery) -> tuple[str, list[Any]]:
    """The WHERE clause (with a leading space, or empty) and its arguments."""
    clauses: list[str] = []
    args: list[Any] = []
    for column, values, negate in (
        ("case_id", query.case_ids, False),
        ("site", query.sites, False),
        ("status", query.statuses, False),
        ("id", query.ids, False),
        ("id", query.exclude_ids, True),
    ):
        if values:
            marks = ",".join("?" * len(values))
            clauses.append(f"{column} {'NOT IN' if negate else 'IN'} ({marks})")
            args += values
    if query.content_sha256 is not None:
        clauses.append("content_sha256=?")
        args.append(query.content_sha256)
    if text := search_pattern(query.search):
        # LIKE with '!' escaping the wildcards typed; LOWER on both backends (PostgreSQL's
        # LIKE minds case, SQLite's only for non-ASCII letters).
        like = "%" + text.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"
        clauses.append(
            "(" + " OR ".join(f"LOWER({c}) LIKE ? ESCAPE '!'" for c in SEARCH_FIELDS) + ")"
        )
        args += [like] * len(SEARCH_FIELDS)
    return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), args


def _ev(m: MatchEvidence) -> dict[str, Any]:
    return {"algorithm": m.algorithm, "distance": m.distance, "variant": m.variant}


def target_of(r: Any) -> Target:
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
        pass_gates=bool(r["pass_gates"]),
    )


def _case(row: Any) -> Case:
    rule = MatchRule(row["pdq_threshold"], row["phash_threshold"], row["min_pdq_quality"])
    return Case(
        row["id"], row["title"], rule, bool(row["dihedral"]), row["priority"], row["created_at"]
    )


def _hit(row: Any) -> Hit:
    return Hit(
        case_id=row["case_id"],
        reference_label=row["reference_label"],
        algorithm=row["algorithm"],
        distance=row["distance"],
        image_url=row["image_url"],
        page_url=row["page_url"],
        site=row["site"],
        fetched_at=row["fetched_at"],
        http_status=row["http_status"],
        content_sha256=row["content_sha256"],
        matches=[MatchEvidence(**m) for m in json.loads(row["matches"])],
        status=row["status"],
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        seen_count=row["seen_count"],
        crawl_id=row["crawl_id"],
    )

"""The service database itself: the Alembic revisions build the schema of
``store.schema`` on both backends, older embedded files are brought up to date on open,
a PostgreSQL database that is behind is refused until ``radar db upgrade``, and writes
from several connections (replicas) stay atomic."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from crawler.storage import CrawlStore
from radar.schema import metadata
from store import Case, SqlStore, StoreError, Target
from store.db import MIGRATIONS, head_revision, sqlalchemy_url
from tests.store.test_sql import hit

# The targets table and a case as stores before the Alembic schema wrote them.
LEGACY = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO meta VALUES ('bank_version', 7);
CREATE TABLE cases (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, pdq_threshold INTEGER NOT NULL,
    phash_threshold INTEGER NOT NULL, min_pdq_quality INTEGER NOT NULL,
    dihedral INTEGER NOT NULL, priority INTEGER NOT NULL, created_at TEXT NOT NULL);
INSERT INTO cases VALUES ('old', 'Old case', 31, 6, 50, 1, 0, '2025-01-01T00:00:00Z');
CREATE TABLE targets (
    id INTEGER PRIMARY KEY, case_id TEXT NOT NULL REFERENCES cases(id), kind TEXT NOT NULL,
    url TEXT NOT NULL, allowed_domains TEXT NOT NULL, max_depth INTEGER NOT NULL,
    max_pages INTEGER NOT NULL, interval_seconds INTEGER NOT NULL,
    obey_robots INTEGER NOT NULL, created_at TEXT NOT NULL, last_crawled_at TEXT);
INSERT INTO targets VALUES (1, 'old', 'website', 'https://a.example/', '["a.example"]', 2, 50,
    86400, 1, '2025-01-01T00:00:00Z', NULL);
"""


def store_at(path: Path, revision: str) -> None:
    """A new SQLite store built by the Alembic revisions up to ``revision``: the file an
    older release left."""
    from alembic import command
    from alembic.config import Config

    engine = create_engine(sqlalchemy_url(path), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def schema_drift(target: str) -> list[object]:
    engine = create_engine(sqlalchemy_url(target), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_server_default": True})
            assert context.get_current_revision() == head_revision()
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


def test_the_schema_on_both_backends_is_store_schema(service_db: str) -> None:
    # SQLite: created on open from store.schema; PostgreSQL: by Alembic's revisions.
    SqlStore(service_db).close()
    assert schema_drift(service_db) == []


def test_a_store_from_before_alembic_is_migrated_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.executescript(LEGACY)
    store = SqlStore(path)
    (target,) = store.targets("old")
    assert (target.url, target.render, target.enabled) == ("https://a.example/", "http", True)
    assert store.bank_version() == 7, "data is kept"
    store.upsert_hits([hit(case_id="old")])  # tables it never had now exist
    assert store.hits("old")[0].case_id == "old"
    store.close()
    with sqlite3.connect(path) as db:  # every table and column of store.schema is there
        for table in metadata.sorted_tables:
            have = {row[1] for row in db.execute(f"PRAGMA table_info({table.name})")}
            assert have >= {c.name for c in table.columns}, table.name
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (head_revision(),)
        ]


def test_older_stores_get_pass_gates_by_kind_and_one_recheck_table(tmp_path: Path) -> None:
    # A file from before Alembic, and one at revision 0002: websites pass gates, the
    # other kinds do not (store.models.default_pass_gates), whichever path migrates.
    feed = (
        "INSERT INTO targets (id, case_id, kind, url, allowed_domains, max_depth, max_pages,"
        " interval_seconds, obey_robots, created_at) VALUES (2, 'old', 'feed',"
        " 'https://a.example/feed', '[\"a.example\"]', 1, 5, 86400, 1, '2025-01-01T00:00:00Z')"
    )
    legacy = tmp_path / "legacy.db"
    with sqlite3.connect(legacy) as old:
        old.executescript(LEGACY + feed + ";")
    at_0002 = tmp_path / "at0002.db"
    store_at(at_0002, "0002")  # as a release of revision 0002 left it
    with sqlite3.connect(at_0002) as db:
        db.execute(  # revision 0006 moves these into rechecks
            "INSERT INTO notice_rechecks (url, at, result, http_status, sha256, detail) VALUES"
            " ('https://a.example/p.jpg', '2025-02-01T00:00:00Z', 'present', 200, 'ab', ''),"
            " ('https://a.example/p.jpg', '2025-02-02T00:00:00Z', 'gone', 410, '', 'HTTP 410')"
        )
        db.execute(
            "INSERT INTO cases VALUES ('old', 'Old case', 31, 6, 50, 1, 0, '2025-01-01T00:00:00Z')"
        )
        db.execute(
            "INSERT INTO targets (case_id, kind, url, allowed_domains, max_depth, max_pages,"
            " interval_seconds, obey_robots, created_at) VALUES ('old', 'website',"
            " 'https://a.example/', '[\"a.example\"]', 2, 50, 86400, 1, '2025-01-01T00:00:00Z')"
        )
        db.execute(feed.replace("(id, ", "(").replace("VALUES (2, ", "VALUES ("))
    for path in (legacy, at_0002):
        store = SqlStore(path)
        assert [(t.kind, t.pass_gates) for t in store.targets("old")] == [
            ("website", True),
            ("feed", False),
        ], path.name
        store.close()
    assert schema_drift(str(at_0002)) == []  # revision 0003 builds store.schema's column
    moved = CrawlStore(at_0002).rechecks("https://a.example/p.jpg")
    assert [(r.status, r.http_status, r.checked_at) for r in moved] == [
        ("gone", 410, "2025-02-02T00:00:00Z"),
        ("still_there", 200, "2025-02-01T00:00:00Z"),
    ], "the notice round's re-checks are in the one table, in its vocabulary"


def test_postgres_behind_is_refused_until_radar_db_upgrade(postgres_db: str) -> None:
    name = postgres_db.rsplit("/", 1)[1]
    fresh = postgres_db.replace(name, name + "_new")
    import psycopg

    with psycopg.connect(postgres_db.replace(name, "postgres"), autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}_new")
    try:
        with pytest.raises(StoreError, match=r"revision none.*radar --db URL db upgrade"):
            SqlStore(fresh)
        radar = [sys.executable, "-m", "radar", "--db", fresh, "db"]
        behind = subprocess.run([*radar, "current"], capture_output=True, text=True)
        assert behind.returncode == 1 and "behind" in behind.stdout
        assert "***" in behind.stdout and fresh.split(":")[2].split("@")[0] not in behind.stdout
        done = subprocess.run([*radar, "upgrade"], capture_output=True, text=True, check=True)
        assert f"upgraded from empty to schema revision {head_revision()}" in done.stdout
        again = subprocess.run([*radar, "upgrade"], capture_output=True, text=True, check=True)
        assert "already at" in again.stdout
        store = SqlStore(fresh)
        assert store.bank_version() == 0
        store.close()
        assert schema_drift(fresh) == []
    finally:
        with psycopg.connect(postgres_db.replace(name, "postgres"), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name}_new WITH (FORCE)")


def test_replicas_lease_a_target_once_and_merge_sightings(service_db: str) -> None:
    """Eight connections at once, as eight pods would: one lease, one hit row holding
    the newest sighting (older ones arriving later are ignored by the merge rule), and no
    integrity error from the inserts racing."""
    setup = SqlStore(service_db)
    setup.create_case(Case("c1"))
    target = setup.add_target(Target("c1", "https://a.example/", ("a.example",)))
    barrier, results, errors = threading.Barrier(8), [], []

    def replica(n: int) -> None:
        store = CrawlStore(service_db)  # the scheduler's lease is the crawler's state
        try:
            barrier.wait()
            until = "2026-01-01T01:00:00Z"
            results.append(store.claim_target(target.id, f"pod-{n}", "2026-01-01T00:00:00Z", until))
            store.upsert_hits([hit(case_id="c1", fetched_at=f"2026-01-01T00:00:{n:02d}Z")])
        except Exception as exc:  # collected: the assert below names it
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=replica, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(results) == [False] * 7 + [True]
    (only,) = setup.hits("c1")
    assert only.last_seen == "2026-01-01T00:00:07Z" and 1 <= only.seen_count <= 8
    setup.close()


def test_the_readiness_query_answers_on_both_backends_and_creates_nothing(
    service_db: str, tmp_path: Path
) -> None:
    from store.db import DatabaseError, answers

    SqlStore(service_db).close()
    answers(service_db)
    with pytest.raises(DatabaseError):
        answers(tmp_path / "nowhere" / "radar.db")
    assert not (tmp_path / "nowhere").exists()
    if service_db.startswith("postgresql"):
        with pytest.raises(DatabaseError):
            answers(service_db.rsplit("/", 1)[0] + "/no_such_database")


HOLD = """
import sys, time
from store.db import exclusive
with exclusive(sys.argv[1], "rounds") as held:
    print("held" if held else "busy", flush=True)
    time.sleep(60)
"""


def test_a_round_has_one_holder_across_processes_and_a_dead_one_frees_it(
    service_db: str,
) -> None:
    """Two review replicas never run the notice round at once: the second is told at
    once (no wait), another job name is independent, and a holder killed mid-round
    (a pod evicted) leaves the round free for the next one."""
    from store.db import exclusive

    SqlStore(service_db).close()  # the SQLite file exists, as in a running app
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, service_db], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with exclusive(service_db, "rounds") as held:
            assert held is False
        with exclusive(service_db, "other-job") as held:
            assert held is True
    finally:
        holder.kill()
        holder.wait()
    with exclusive(service_db, "rounds") as held:
        assert held is True
        with exclusive(service_db, "rounds") as again:  # not re-entrant: one holder
            assert again is False
    with exclusive(service_db, "rounds") as held:  # released when the block ended
        assert held is True

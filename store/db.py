"""The service database, opened the same way by every store (cases and hits, crawl
state, review state, notices), on either backend:

* **SQLite** (a path; embedded mode, the zero-setup default): WAL mode, a busy timeout,
  one ``BEGIN IMMEDIATE`` transaction per write. A new file gets the schema the Alembic
  revisions build, on open; an older one is brought up to date on open.
* **PostgreSQL** (a ``postgresql://`` or ``postgresql+psycopg://`` URL; distributed
  mode, shared by every replica): psycopg 3 in autocommit, so a read is one statement;
  a write transaction first takes one transaction-scoped advisory lock, so writers are
  serialized as SQLite serializes them and every read-check-write in the stores stays
  atomic across pods. The schema is Alembic's (``radar db upgrade``, the deployment's
  migrations job); a store refuses to open a database that is behind.

Both run the same SQL: the stores write ``?`` placeholders and statements both dialects
accept (``ON CONFLICT``, ``RETURNING``); rows answer ``row["name"]`` and ``row[0]``.
A connection belongs to the thread that opened it: use one store instance per thread.
"""

from __future__ import annotations

import fcntl
import functools
import re
import sqlite3
import threading
import zlib
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from store.base import StoreError

POSTGRES_SCHEMES = ("postgresql://", "postgresql+psycopg://", "postgres://")
# pg_advisory_xact_lock key of the store's write lock ("radar" in ASCII).
WRITE_LOCK = 0x7261646172
MIGRATIONS = Path(__file__).with_name("migrations")


def is_postgres(target: str | Path) -> bool:
    return str(target).startswith(POSTGRES_SCHEMES)


def _libpq_url(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


def sqlalchemy_url(target: str | Path) -> str:
    """The SQLAlchemy URL of a store path or database URL."""
    if is_postgres(target):
        return "postgresql+psycopg://" + str(target).split("://", 1)[1]
    return f"sqlite:///{Path(target).resolve()}"


def display(target: str | Path) -> str:
    """The store's name for messages and logs: a URL without its password."""
    if not is_postgres(target):
        return str(target)
    from sqlalchemy.engine import make_url

    return make_url(sqlalchemy_url(target)).render_as_string(hide_password=True)


try:  # PostgreSQL is optional for embedded use; its errors join SQLite's when present
    import psycopg

    IntegrityError: tuple[type[Exception], ...] = (sqlite3.IntegrityError, psycopg.IntegrityError)
    DatabaseError: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error)
except ImportError:  # pragma: no cover - psycopg is a dependency
    IntegrityError = (sqlite3.IntegrityError,)
    DatabaseError = (sqlite3.Error,)


class Row:
    """A PostgreSQL result row that reads like :class:`sqlite3.Row`: by name or index,
    unpacks like a tuple."""

    __slots__ = ("_names", "_values")

    def __init__(self, values: Sequence[Any], names: dict[str, int]) -> None:
        self._values = tuple(values)
        self._names = names

    def __getitem__(self, key: int | str) -> Any:
        return self._values[self._names[key] if isinstance(key, str) else key]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def keys(self) -> list[str]:
        return list(self._names)


def _rows(cursor: Any) -> Any:
    names = {d.name: i for i, d in enumerate(cursor.description or ())}
    return lambda values: Row(values, names)


@functools.lru_cache(maxsize=2048)
def _pg_sql(sql: str) -> str:
    """``?`` placeholders to psycopg's ``%s`` (outside quoted literals; ``%`` doubled)."""
    parts = sql.split("'")
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("%", "%%").replace("?", "%s")
    return "'".join(parts)


class _PgConnection:
    """The part of the sqlite3 connection API the stores use, on psycopg.

    The stores a thread opens on one URL share one server connection (a review worker
    thread holds a case, a review and a notice store): a replica then needs one
    connection per thread, not three. It closes when the last of them closes."""

    _mine = threading.local()  # per thread: url -> [connection, users]

    def __init__(self, url: str) -> None:
        self.url = url
        shared = self._shared()
        if url not in shared:
            conn = psycopg.connect(
                _libpq_url(url), autocommit=True, row_factory=_rows, connect_timeout=10
            )
            shared[url] = [conn, 0]
        shared[url][1] += 1
        self.conn = shared[url][0]

    @classmethod
    def _shared(cls) -> dict[str, list[Any]]:
        if not hasattr(cls._mine, "by_url"):
            cls._mine.by_url = {}
        return cls._mine.by_url

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.conn.execute(_pg_sql(sql), tuple(params))

    def close(self) -> None:
        shared = self._shared()
        entry = shared.get(self.url)
        if entry is None or entry[0] is not self.conn:  # closed already, or another thread's
            return
        entry[1] -= 1
        if entry[1] <= 0:
            del shared[self.url]
            self.conn.close()


@functools.lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest Alembic revision of this release."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def _current_revision(db: Any) -> str | None:
    try:
        row = db.execute("SELECT version_num FROM alembic_version").fetchone()
    except DatabaseError:
        return None
    return None if row is None else str(row[0])


class Database:
    """Opens ``target`` (a SQLite path, creating its folder, or a PostgreSQL URL)."""

    def __init__(self, target: str | Path) -> None:
        self.path = str(target)
        self.dialect = "postgresql" if is_postgres(target) else "sqlite"
        self._db: Any
        if self.dialect == "postgresql":
            try:
                self._db = _PgConnection(self.path)
            except psycopg.Error as exc:
                raise StoreError(f"cannot reach the database {display(target)}: {exc}") from None
            current = _current_revision(self._db)
            if current != head_revision():
                self._db.close()
                raise StoreError(
                    f"the database {display(target)} is at schema revision {current or 'none'}, "
                    f"this release needs {head_revision()}: run 'radar --db URL db upgrade'"
                )
            return
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        _sqlite_schema(self._db, self.path)

    def close(self) -> None:
        self._db.close()

    def __deepcopy__(self, memo: dict[int, object]) -> object:
        # Scrapy deep-copies its settings, where the embedded crawl passes the store: a
        # store is a shared connection, so every copy is the store itself.
        return self

    def ping(self) -> None:
        """Raise unless the database answers a query (readiness probes)."""
        self._db.execute("SELECT 1").fetchall()

    def _tx(self) -> Transaction:
        """``with self._tx() as db``: one write transaction, rolled back on error."""
        return Transaction(self._db, self.dialect == "postgresql")


class Transaction:
    def __init__(self, db: Any, postgres: bool) -> None:
        self.db = db
        self.postgres = postgres

    def __enter__(self) -> Any:
        if self.postgres:
            self.db.execute("BEGIN")
            self.db.execute("SELECT pg_advisory_xact_lock(?)", (WRITE_LOCK,))
        else:
            self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


# Columns that stores from before the Alembic schema lacked: (table, column, declaration).
_LEGACY_COLUMNS = (
    ("targets", "render", "TEXT NOT NULL DEFAULT 'http'"),
    ("targets", "enabled", "INTEGER NOT NULL DEFAULT 1"),
    ("targets", "lease_owner", "TEXT"),
    ("targets", "lease_until", "TEXT"),
    ("hits", "crawl_id", "TEXT NOT NULL DEFAULT ''"),
    ("targets", "pass_gates", "INTEGER NOT NULL DEFAULT 1"),
)
# Run after a legacy column was added, where its default is not every row's value.
_LEGACY_FIXES = {
    ("targets", "pass_gates"): "UPDATE targets SET pass_gates = 0 WHERE kind <> 'website'",
}


@functools.lru_cache(maxsize=1)
def _sqlite_ddl() -> tuple[str, ...]:
    """The head schema as SQLite statements. The Alembic revisions are its one source on
    both backends: they run once per process on an in-memory database, whose tables and
    indexes are then created in each new file (every stage's table definitions agree with
    the revisions: ``tests/store/test_service_db.py``)."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine
    from sqlalchemy.pool import StaticPool

    engine = create_engine("sqlite://", poolclass=StaticPool)
    try:
        with engine.begin() as conn:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            rows = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL "
                "AND name <> 'alembic_version' ORDER BY type = 'index', rowid"
            ).fetchall()
    finally:
        engine.dispose()
    create = re.compile(r"(CREATE (?:UNIQUE )?(?:TABLE|INDEX)) ")
    return tuple(create.sub(r"\1 IF NOT EXISTS ", sql, count=1) for (sql,) in rows)


def _sqlite_schema(db: sqlite3.Connection, path: str) -> None:
    """Bring an embedded store to the head revision: a new file gets the head schema
    (:func:`_sqlite_ddl`); a file from before Alembic gets its missing columns and tables
    and is stamped; a file at an older revision runs the Alembic migrations."""
    head = head_revision()
    current = _current_revision(db)
    if current == head:
        return
    if current is not None:
        upgrade(path)
        return
    _sqlite_create(db, head)


def _sqlite_create(db: sqlite3.Connection, head: str) -> None:
    db.execute("BEGIN IMMEDIATE")
    try:
        if _current_revision(db) is None:  # not done meanwhile by another process
            for table, column, declaration in _LEGACY_COLUMNS:
                have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                if have and column not in have:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
                    if (table, column) in _LEGACY_FIXES:
                        db.execute(_LEGACY_FIXES[table, column])
            for statement in _sqlite_ddl():
                db.execute(statement)
            db.execute(
                "CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL, "
                "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
            )
            db.execute("INSERT INTO alembic_version VALUES (?)", (head,))
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def answers(target: str | Path, timeout: float = 2.0) -> None:
    """Raise unless the store answers a query on a fresh connection (readiness probes:
    a SQLite file is opened read-only, never created)."""
    if is_postgres(target):
        with psycopg.connect(_libpq_url(str(target)), connect_timeout=max(1, int(timeout))) as c:
            c.execute("SELECT 1").fetchall()
        return
    uri = f"file:{Path(target)}?mode=ro"
    with closing(sqlite3.connect(uri, uri=True, timeout=timeout)) as conn:
        conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()


@contextmanager
def exclusive(target: str | Path, name: str) -> Iterator[bool]:
    """One holder at a time of the job ``name`` on this store, across processes and pods:
    yields True to the holder, False at once to everyone else (never waits). For rounds
    that run for minutes outside any transaction (the notice re-check round of every
    review replica): on PostgreSQL a session advisory lock on a connection of its own,
    released when the block ends or the process dies; on SQLite an ``flock`` on a file
    beside the database (one machine, as the file is)."""
    key = zlib.crc32(f"radar/{name}".encode())
    if is_postgres(target):
        try:
            conn = psycopg.connect(_libpq_url(str(target)), autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise StoreError(f"cannot reach the database {display(target)}: {exc}") from None
        with conn:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            held = bool(row and row[0])
            try:
                yield held
            finally:
                if held and not conn.closed:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
        return
    if str(target) == ":memory:":  # a private database: nobody else can hold it
        yield True
        return
    path = Path(f"{target}.{name}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(target: str | Path) -> tuple[str | None, str]:
    """Run the Alembic migrations up to this release's head (``radar db upgrade``);
    returns (revision before, revision after). Safe to run from several pods at once:
    on PostgreSQL the migration holds the store's write lock."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    if not is_postgres(target):  # a new or pre-Alembic file is created or stamped first
        with closing(sqlite3.connect(str(target), timeout=30, isolation_level=None)) as db:
            if _current_revision(db) is None:
                _sqlite_create(db, head_revision())
    engine = create_engine(sqlalchemy_url(target), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK})
            before = _revision_of(conn)
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            after = _revision_of(conn)
    finally:
        engine.dispose()
    return before, after or head_revision()


def current_revision(target: str | Path) -> str | None:
    """The database's schema revision (None: no schema yet)."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(sqlalchemy_url(target), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return _revision_of(conn)
    finally:
        engine.dispose()


def _revision_of(conn: Any) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()

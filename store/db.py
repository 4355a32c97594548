"""One SQLite file, opened the same way by every embedded store (cases and hits, review
state, notices): WAL mode, a busy timeout, one IMMEDIATE transaction per write.

A connection belongs to the thread that opened it: use one store instance per thread.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


class SqliteDatabase:
    """Opens ``path`` (creating its folder) and applies ``schema`` (idempotent DDL)."""

    def __init__(self, path: str | Path, schema: str, foreign_keys: bool = False) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        if foreign_keys:
            self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(schema)

    def close(self) -> None:
        self._db.close()

    def _tx(self) -> Transaction:
        """``with self._tx() as db``: one IMMEDIATE transaction, rolled back on error."""
        return Transaction(self._db)


class Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")

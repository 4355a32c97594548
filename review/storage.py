"""Review state: users, sessions, sign-in failures and lock-outs, the audit log, claims,
decisions, disputes, skips, notes on hits, exposure.

The hits themselves stay in the hit store (SQLite or Elasticsearch); everything here is
keyed by hit id, so the review queue works the same on both. :class:`ReviewStore` is the
interface, :class:`SqlReviewStore` its implementation on the service database (SQLite or
PostgreSQL, :mod:`store.db`); the review tables are defined here, on the service
schema's one :data:`store.schema.metadata`. Times are ISO 8601 UTC strings
(``wire.utc_now`` format), which order correctly as text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import BigInteger, Column, ForeignKey, Index, PrimaryKeyConstraint, Table

from store.base import StoreError
from store.db import Database, IntegrityError
from store.schema import id_column as _id
from store.schema import int_column as _i
from store.schema import metadata, replace_into
from store.schema import text_column as _t

# -- review state: users, sessions, audit, claims, decisions, disputes, reveals, settings, notes --
review_users = Table(
    "review_users",
    metadata,
    _id(),
    _t("username", unique=True),
    _t("display_name"),
    _t("email"),
    _t("roles"),
    _t("password_hash"),
    _i("active"),
    _t("prefs"),
    _i("exposure_budget", nullable=True),
    _t("created_at"),
)
review_sessions = Table(
    "review_sessions",
    metadata,
    _t("token_hash", primary_key=True),
    Column("user_id", BigInteger, ForeignKey("review_users.id"), nullable=False),
    _t("csrf"),
    _t("created_at"),
    _t("expires_at"),
)
review_audit = Table(
    "review_audit",
    metadata,
    _id(),
    _t("at"),
    _t("username"),
    _t("action"),
    _t("target"),
    _t("detail"),
    Index("review_audit_at", "at"),
)
review_claims = Table(
    "review_claims",
    metadata,
    _t("hit_id", primary_key=True),
    _t("username"),
    _t("claimed_at"),
    _t("expires_at"),
)
review_decisions = Table(
    "review_decisions",
    metadata,
    _t("hit_id"),
    _t("username"),
    _t("decision"),
    _t("reason"),
    _t("at"),
    PrimaryKeyConstraint("hit_id", "username"),
)
review_disputes = Table(
    "review_disputes",
    metadata,
    _t("hit_id", primary_key=True),
    _t("opened_at"),
    _t("resolved_by", nullable=True),
    _t("resolution", nullable=True),
    _t("note", nullable=True),
    _t("resolved_at", nullable=True),
)
review_skips = Table(
    "review_skips",
    metadata,
    _t("hit_id"),
    _t("username"),
    _t("until"),
    PrimaryKeyConstraint("hit_id", "username"),
)
review_reveals = Table(
    "review_reveals",
    metadata,
    _id(),
    _t("username"),
    _t("hit_id"),
    _t("at"),
    Index("review_reveals_user", "username", "at"),
)
review_settings = Table("review_settings", metadata, _t("key", primary_key=True), _t("value"))
review_login_failures = Table(
    "review_login_failures",
    metadata,
    _t("key"),
    _t("at"),
    Index("review_login_failures_key", "key", "at"),
)
review_lockouts = Table("review_lockouts", metadata, _t("key", primary_key=True), _t("until"))
review_notes = Table(  # analysts' notes on a hit: text only, never a picture
    "review_notes",
    metadata,
    _id(),
    _t("hit_id"),
    _t("username"),
    _t("at"),
    _t("text"),
    Index("review_notes_hit", "hit_id", "at"),
)


ROLES = ("analyst", "legal", "admin")
DECISIONS = ("confirmed", "rejected")
DEFAULT_PREFS = {"blur": "strong", "greyscale": True, "reveal_colour": False}


@dataclass(frozen=True, slots=True)
class User:
    username: str
    display_name: str
    email: str
    roles: frozenset[str]
    password_hash: str = field(default="", repr=False)
    active: bool = True
    prefs: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_PREFS))
    exposure_budget: int | None = None  # None: the global daily budget applies
    created_at: str = ""
    id: int = 0

    def __post_init__(self) -> None:
        if not self.username or not self.username.replace("-", "").replace(".", "").isalnum():
            raise ValueError(f"bad user name {self.username!r}: letters, digits, '.', '-'")
        unknown = set(self.roles) - set(ROLES)
        if unknown or not self.roles:
            raise ValueError(f"roles must be one or more of {', '.join(ROLES)}")

    def has(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: str
    username: str
    action: str
    target: str
    detail: str
    id: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    hit_id: str
    username: str
    decision: str
    reason: str
    at: str


@dataclass(frozen=True, slots=True)
class Dispute:
    hit_id: str
    opened_at: str
    resolved_by: str | None = None
    resolution: str | None = None
    note: str | None = None
    resolved_at: str | None = None


@dataclass(frozen=True, slots=True)
class Note:
    """A note someone wrote on a hit (text only)."""

    hit_id: str
    username: str
    text: str
    at: str
    id: int = 0


class ReviewStore(Protocol):
    """Every method is atomic. Raises StoreError for requests it refuses."""

    def add_user(self, user: User) -> User: ...
    def get_user(self, username: str) -> User:
        """The user; StoreError if there is none."""
        ...

    def user_by_id(self, user_id: int) -> User: ...
    def list_users(self) -> list[User]: ...
    def update_user(self, username: str, **changes: Any) -> User:
        """Change display_name, email, roles, password_hash, active, prefs or
        exposure_budget."""
        ...

    def create_session(self, token_hash: str, user_id: int, csrf: str, at: str, expires: str): ...
    def get_session(self, token_hash: str, now: str) -> tuple[int, str] | None:
        """(user id, CSRF token) of a live session, else None."""
        ...

    def delete_session(self, token_hash: str) -> None: ...
    def delete_sessions_of(self, user_id: int) -> None: ...
    def locked_until(self, keys: Sequence[str], now: str) -> str | None:
        """The latest end of a live lock-out of any of ``keys``; None if none is locked."""
        ...

    def record_login_failure(
        self, limits: Mapping[str, int], now: str, since: str, until: str
    ) -> list[str]:
        """Count one failed sign-in against each key of ``limits``; a key with at least
        its limit of failures since ``since`` is locked until ``until`` and its count
        starts again. Returns the keys this failure locked."""
        ...

    def clear_login_failures(self, key: str) -> None: ...
    def audit(self, at: str, username: str, action: str, target: str = "", detail: str = ""): ...
    def audit_entries(
        self, username: str = "", action: str = "", limit: int = 200, offset: int = 0
    ) -> list[AuditEntry]: ...
    def claim(self, hit_id: str, username: str, now: str, expires: str) -> bool:
        """Claim a hit for one user; True if it is now theirs (free, expired or
        already theirs), False if another user holds a live claim. A user holds one
        claim at a time: claiming a hit releases the user's claims of other hits."""
        ...

    def release(self, hit_id: str, username: str, made_by: str | None = None) -> None:
        """Release ``username``'s claim of ``hit_id``; with ``made_by``, only a claim made
        (or renewed) at or before that time, so a late release from a page the user left
        does not drop the claim of the page they opened next."""
        ...

    def release_all(self, username: str) -> None:
        """Release every claim ``username`` holds (signing out)."""
        ...

    def claimed_by_others(self, username: str, now: str) -> set[str]: ...
    def claim_of(self, hit_id: str, now: str) -> str | None: ...
    def record_decision(self, decision: Decision) -> None:
        """StoreError if this user already decided this hit."""
        ...

    def decisions(self, hit_id: str) -> list[Decision]: ...
    def decided_by(self, username: str) -> set[str]: ...
    def decisions_of(self, username: str, limit: int = 200) -> list[Decision]:
        """``username``'s decisions, newest first."""
        ...

    def withdraw_decision(self, hit_id: str, username: str, since: str) -> Decision | None:
        """Delete ``username``'s decision on ``hit_id`` if it is their latest decision of
        all and was made at or after ``since``; an open dispute of the hit is closed when
        the votes left agree. The withdrawn decision, or None (nothing changed)."""
        ...

    def reopen(self, hit_id: str) -> tuple[list[Decision], Dispute | None]:
        """Delete the hit's decisions and dispute (its next review starts afresh) and
        return them, so the caller can write them to the audit log."""
        ...

    def decision_counts(self, since: str) -> dict[str, dict[str, int]]: ...
    def open_dispute(self, hit_id: str, at: str) -> None: ...
    def resolve_dispute(self, hit_id: str, username: str, resolution: str, note: str, at: str): ...
    def disputes(self, open_only: bool = True) -> list[Dispute]: ...
    def skip(self, hit_id: str, username: str, until: str) -> None: ...
    def skipped(self, username: str, now: str) -> set[str]: ...
    def skips(self, username: str, now: str, hit_ids: Sequence[str]) -> dict[str, str]:
        """Of ``hit_ids``, those ``username`` skipped and that are still skipped at
        ``now``: hit id -> when the skip ends."""
        ...

    def add_note(self, note: Note) -> Note:
        """Store ``note`` (its ``id`` is ignored); the stored note, with its id."""
        ...

    def notes(self, hit_id: str) -> list[Note]:
        """The hit's notes, oldest first; empty if it has none."""
        ...

    def note_counts(self, hit_ids: Sequence[str]) -> dict[str, int]:
        """How many notes each of ``hit_ids`` has (hits without notes are left out)."""
        ...

    def record_reveal(self, username: str, hit_id: str, at: str) -> None: ...
    def spend_reveal(
        self, username: str, hit_id: str, at: str, since: str, limit: int
    ) -> int | None:
        """Record a reveal if fewer than ``limit`` were made since ``since``, as one
        atomic step; the count including this one, or None (nothing recorded)."""
        ...

    def reveals_since(self, username: str, since: str) -> int: ...
    def settings(self) -> dict[str, Any]: ...
    def set_setting(self, key: str, value: Any) -> None: ...


class SqlReviewStore(Database):
    """Implements :class:`ReviewStore` on SQLite (may share the file of the main store).
    One instance per thread."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)

    # -- users and sessions ---------------------------------------------------------------
    def add_user(self, user: User) -> User:
        with self._tx() as db:
            try:
                cursor = db.execute(
                    "INSERT INTO review_users "
                    "(username,display_name,email,roles,password_hash,active,"
                    "prefs,exposure_budget,created_at) VALUES (?,?,?,?,?,?,?,?,?) RETURNING id",
                    (
                        user.username,
                        user.display_name,
                        user.email,
                        ",".join(sorted(user.roles)),
                        user.password_hash,
                        int(user.active),
                        json.dumps(user.prefs, sort_keys=True),
                        user.exposure_budget,
                        user.created_at,
                    ),
                )
            except IntegrityError:
                raise StoreError(f"user {user.username!r} exists already") from None
            (user_id,) = cursor.fetchone()
        return self.user_by_id(int(user_id))

    def get_user(self, username: str) -> User:
        row = self._db.execute(
            "SELECT * FROM review_users WHERE username=?", (username,)
        ).fetchone()
        if row is None:
            raise StoreError(f"no user {username!r}")
        return _user(row)

    def user_by_id(self, user_id: int) -> User:
        row = self._db.execute("SELECT * FROM review_users WHERE id=?", (user_id,)).fetchone()
        if row is None:
            raise StoreError(f"no user #{user_id}")
        return _user(row)

    def list_users(self) -> list[User]:
        return [_user(r) for r in self._db.execute("SELECT * FROM review_users ORDER BY username")]

    def update_user(self, username: str, **changes: Any) -> User:
        allowed = {
            "display_name",
            "email",
            "roles",
            "password_hash",
            "active",
            "prefs",
            "exposure_budget",
        }
        if set(changes) - allowed:
            raise StoreError(f"cannot change {sorted(set(changes) - allowed)}")
        current = self.get_user(username)
        values = dict(changes)
        if "roles" in values:
            User(username, "", "", frozenset(values["roles"]))  # validates
            values["roles"] = ",".join(sorted(values["roles"]))
        if "prefs" in values:
            values["prefs"] = json.dumps({**current.prefs, **values["prefs"]}, sort_keys=True)
        if "active" in values:
            values["active"] = int(values["active"])
        if values:
            with self._tx() as db:
                db.execute(
                    f"UPDATE review_users SET {', '.join(f'{k}=?' for k in values)} "
                    "WHERE username=?",
                    (*values.values(), username),
                )
        return self.get_user(username)

    def create_session(
        self, token_hash: str, user_id: int, csrf: str, at: str, expires: str
    ) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM review_sessions WHERE expires_at < ?", (at,))
            db.execute(
                "INSERT INTO review_sessions VALUES (?,?,?,?,?)",
                (token_hash, user_id, csrf, at, expires),
            )

    def get_session(self, token_hash: str, now: str) -> tuple[int, str] | None:
        row = self._db.execute(
            "SELECT user_id, csrf FROM review_sessions WHERE token_hash=? AND expires_at > ?",
            (token_hash, now),
        ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def delete_session(self, token_hash: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM review_sessions WHERE token_hash=?", (token_hash,))

    def delete_sessions_of(self, user_id: int) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM review_sessions WHERE user_id=?", (user_id,))

    # -- sign-in throttling ---------------------------------------------------------------------
    def locked_until(self, keys: Sequence[str], now: str) -> str | None:
        marks = ",".join("?" * len(keys))
        row = self._db.execute(
            f"SELECT MAX(until) FROM review_lockouts WHERE key IN ({marks}) AND until > ?",
            (*keys, now),
        ).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def record_login_failure(
        self, limits: Mapping[str, int], now: str, since: str, until: str
    ) -> list[str]:
        locked = []
        with self._tx() as db:
            for key, limit in limits.items():
                db.execute("DELETE FROM review_login_failures WHERE key=? AND at < ?", (key, since))
                db.execute("INSERT INTO review_login_failures VALUES (?,?)", (key, now))
                (count,) = db.execute(
                    "SELECT COUNT(*) FROM review_login_failures WHERE key=?", (key,)
                ).fetchone()
                if count >= limit:
                    db.execute("DELETE FROM review_login_failures WHERE key=?", (key,))
                    db.execute(replace_into("review_lockouts"), (key, until))
                    locked.append(key)
            db.execute("DELETE FROM review_lockouts WHERE until <= ?", (now,))
        return locked

    def clear_login_failures(self, key: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM review_login_failures WHERE key=?", (key,))

    # -- audit -------------------------------------------------------------------------------
    def audit(
        self, at: str, username: str, action: str, target: str = "", detail: str = ""
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO review_audit (at,username,action,target,detail) VALUES (?,?,?,?,?)",
                (at, username, action, target, detail),
            )

    def audit_entries(
        self, username: str = "", action: str = "", limit: int = 200, offset: int = 0
    ) -> list[AuditEntry]:
        clauses, args = [], []
        if username:
            clauses.append("username=?")
            args.append(username)
        if action:
            clauses.append("action LIKE ?")
            args.append(action + "%")
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._db.execute(
            f"SELECT * FROM review_audit{where} ORDER BY id DESC LIMIT ? OFFSET ?",
            (*args, limit, offset),
        )
        return [
            AuditEntry(r["at"], r["username"], r["action"], r["target"], r["detail"], r["id"])
            for r in rows
        ]

    # -- claims, decisions, disputes, skips -------------------------------------------------
    def claim(self, hit_id: str, username: str, now: str, expires: str) -> bool:
        with self._tx() as db:
            row = db.execute(
                "SELECT username, expires_at FROM review_claims WHERE hit_id=?", (hit_id,)
            ).fetchone()
            if row is not None and row[0] != username and row[1] > now:
                return False
            db.execute(
                replace_into("review_claims"),
                (hit_id, username, now, expires),
            )
            db.execute(
                "DELETE FROM review_claims WHERE username=? AND hit_id<>?", (username, hit_id)
            )
            return True

    def release(self, hit_id: str, username: str, made_by: str | None = None) -> None:
        with self._tx() as db:
            db.execute(
                "DELETE FROM review_claims WHERE hit_id=? AND username=? AND claimed_at<=?",
                (hit_id, username, made_by or "9999"),
            )

    def release_all(self, username: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM review_claims WHERE username=?", (username,))

    def claimed_by_others(self, username: str, now: str) -> set[str]:
        rows = self._db.execute(
            "SELECT hit_id FROM review_claims WHERE username<>? AND expires_at > ?", (username, now)
        )
        return {r[0] for r in rows}

    def claim_of(self, hit_id: str, now: str) -> str | None:
        row = self._db.execute(
            "SELECT username FROM review_claims WHERE hit_id=? AND expires_at > ?", (hit_id, now)
        ).fetchone()
        return None if row is None else str(row[0])

    def record_decision(self, decision: Decision) -> None:
        if decision.decision not in DECISIONS:
            raise StoreError(f"unknown decision {decision.decision!r}")
        with self._tx() as db:
            try:
                db.execute(
                    "INSERT INTO review_decisions VALUES (?,?,?,?,?)",
                    (
                        decision.hit_id,
                        decision.username,
                        decision.decision,
                        decision.reason,
                        decision.at,
                    ),
                )
            except IntegrityError:
                raise StoreError(f"{decision.username} already decided this hit") from None
            db.execute(
                "DELETE FROM review_claims WHERE hit_id=? AND username=?",
                (decision.hit_id, decision.username),
            )

    def decisions(self, hit_id: str) -> list[Decision]:
        rows = self._db.execute(
            "SELECT * FROM review_decisions WHERE hit_id=? ORDER BY at", (hit_id,)
        )
        return [Decision(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    def decided_by(self, username: str) -> set[str]:
        rows = self._db.execute("SELECT hit_id FROM review_decisions WHERE username=?", (username,))
        return {r[0] for r in rows}

    def decisions_of(self, username: str, limit: int = 200) -> list[Decision]:
        rows = self._db.execute(
            "SELECT * FROM review_decisions WHERE username=? ORDER BY at DESC, hit_id LIMIT ?",
            (username, limit),
        )
        return [Decision(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    def withdraw_decision(self, hit_id: str, username: str, since: str) -> Decision | None:
        with self._tx() as db:
            row = db.execute(
                "SELECT * FROM review_decisions WHERE hit_id=? AND username=?",
                (hit_id, username),
            ).fetchone()
            (latest,) = db.execute(
                "SELECT MAX(at) FROM review_decisions WHERE username=?", (username,)
            ).fetchone()
            if row is None or row[4] != latest or row[4] < since:
                return None
            db.execute(
                "DELETE FROM review_decisions WHERE hit_id=? AND username=?", (hit_id, username)
            )
            left = {
                r[0]
                for r in db.execute(
                    "SELECT decision FROM review_decisions WHERE hit_id=?", (hit_id,)
                )
            }
            if len(left) <= 1:
                db.execute(
                    "DELETE FROM review_disputes WHERE hit_id=? AND resolved_at IS NULL",
                    (hit_id,),
                )
            return Decision(row[0], row[1], row[2], row[3], row[4])

    def reopen(self, hit_id: str) -> tuple[list[Decision], Dispute | None]:
        with self._tx() as db:
            votes = [
                Decision(r[0], r[1], r[2], r[3], r[4])
                for r in db.execute(
                    "SELECT * FROM review_decisions WHERE hit_id=? ORDER BY at", (hit_id,)
                )
            ]
            row = db.execute("SELECT * FROM review_disputes WHERE hit_id=?", (hit_id,)).fetchone()
            db.execute("DELETE FROM review_decisions WHERE hit_id=?", (hit_id,))
            db.execute("DELETE FROM review_disputes WHERE hit_id=?", (hit_id,))
            db.execute("DELETE FROM review_claims WHERE hit_id=?", (hit_id,))
        return votes, None if row is None else Dispute(*tuple(row))

    def decision_counts(self, since: str) -> dict[str, dict[str, int]]:
        """Per user, decisions per kind since ``since``."""
        out: dict[str, dict[str, int]] = {}
        rows = self._db.execute(
            "SELECT username, decision, COUNT(*) FROM review_decisions WHERE at >= ? "
            "GROUP BY username, decision",
            (since,),
        )
        for user, kind, n in rows:
            out.setdefault(user, {})[kind] = n
        return out

    def open_dispute(self, hit_id: str, at: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO review_disputes (hit_id, opened_at) VALUES (?,?) "
                "ON CONFLICT DO NOTHING",
                (hit_id, at),
            )

    def resolve_dispute(
        self, hit_id: str, username: str, resolution: str, note: str, at: str
    ) -> None:
        if resolution not in DECISIONS:
            raise StoreError(f"unknown resolution {resolution!r}")
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE review_disputes SET resolved_by=?, resolution=?, note=?, resolved_at=? "
                "WHERE hit_id=? AND resolved_at IS NULL",
                (username, resolution, note, at, hit_id),
            )
            if cursor.rowcount != 1:
                raise StoreError(f"no open dispute for hit {hit_id}")

    def disputes(self, open_only: bool = True) -> list[Dispute]:
        where = " WHERE resolved_at IS NULL" if open_only else ""
        rows = self._db.execute(f"SELECT * FROM review_disputes{where} ORDER BY opened_at")
        return [Dispute(*tuple(r)) for r in rows]

    def skip(self, hit_id: str, username: str, until: str) -> None:
        with self._tx() as db:
            db.execute(replace_into("review_skips"), (hit_id, username, until))
            db.execute(
                "DELETE FROM review_claims WHERE hit_id=? AND username=?", (hit_id, username)
            )

    def skipped(self, username: str, now: str) -> set[str]:
        rows = self._db.execute(
            "SELECT hit_id FROM review_skips WHERE username=? AND until > ?", (username, now)
        )
        return {r[0] for r in rows}

    def skips(self, username: str, now: str, hit_ids: Sequence[str]) -> dict[str, str]:
        if not hit_ids:
            return {}
        marks = ",".join("?" * len(hit_ids))
        rows = self._db.execute(
            f"SELECT hit_id, until FROM review_skips WHERE username=? AND until > ? "
            f"AND hit_id IN ({marks})",
            (username, now, *hit_ids),
        )
        return {r[0]: r[1] for r in rows}

    # -- notes ----------------------------------------------------------------------------
    def add_note(self, note: Note) -> Note:
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO review_notes (hit_id,username,at,text) VALUES (?,?,?,?) RETURNING id",
                (note.hit_id, note.username, note.at, note.text),
            )
            (note_id,) = cursor.fetchone()
        return Note(note.hit_id, note.username, note.text, note.at, int(note_id))

    def notes(self, hit_id: str) -> list[Note]:
        rows = self._db.execute(
            "SELECT * FROM review_notes WHERE hit_id=? ORDER BY at, id", (hit_id,)
        )
        return [Note(r["hit_id"], r["username"], r["text"], r["at"], r["id"]) for r in rows]

    def note_counts(self, hit_ids: Sequence[str]) -> dict[str, int]:
        if not hit_ids:
            return {}
        marks = ",".join("?" * len(hit_ids))
        rows = self._db.execute(
            f"SELECT hit_id, COUNT(*) FROM review_notes WHERE hit_id IN ({marks}) GROUP BY hit_id",
            tuple(hit_ids),
        )
        return {r[0]: int(r[1]) for r in rows}

    # -- exposure and settings --------------------------------------------------------------
    def record_reveal(self, username: str, hit_id: str, at: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO review_reveals (username, hit_id, at) VALUES (?,?,?)",
                (username, hit_id, at),
            )

    def spend_reveal(
        self, username: str, hit_id: str, at: str, since: str, limit: int
    ) -> int | None:
        # One IMMEDIATE transaction: the count and the insert cannot interleave with
        # another worker's, so parallel reveals never overspend.
        with self._tx() as db:
            (used,) = db.execute(
                "SELECT COUNT(*) FROM review_reveals WHERE username=? AND at >= ?",
                (username, since),
            ).fetchone()
            if used >= limit:
                return None
            db.execute(
                "INSERT INTO review_reveals (username, hit_id, at) VALUES (?,?,?)",
                (username, hit_id, at),
            )
            return int(used) + 1

    def reveals_since(self, username: str, since: str) -> int:
        row = self._db.execute(
            "SELECT COUNT(*) FROM review_reveals WHERE username=? AND at >= ?", (username, since)
        ).fetchone()
        return int(row[0])

    def settings(self) -> dict[str, Any]:
        return {r[0]: json.loads(r[1]) for r in self._db.execute("SELECT * FROM review_settings")}

    def set_setting(self, key: str, value: Any) -> None:
        with self._tx() as db:
            db.execute(replace_into("review_settings"), (key, json.dumps(value)))


def _user(row: Any) -> User:
    return User(
        username=row["username"],
        display_name=row["display_name"],
        email=row["email"],
        roles=frozenset(row["roles"].split(",")),
        password_hash=row["password_hash"],
        active=bool(row["active"]),
        prefs={**DEFAULT_PREFS, **json.loads(row["prefs"])},
        exposure_budget=row["exposure_budget"],
        created_at=row["created_at"],
        id=row["id"],
    )

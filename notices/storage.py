"""Notice state: host contacts, removal notices, the URLs they name, their history.

:class:`NoticeStore` is the interface, :class:`SqlNoticeStore` its implementation on the
service database (SQLite or PostgreSQL, :mod:`store.db`), with the notice tables defined
here on :data:`store.schema.metadata`. A notice names hits by id (the hits stay in the
hit store) and keeps a copy of each URL with its tracking state, so re-checks and the
per-host dashboard need no hit store; their re-checks are saved in the crawler's one
``rechecks`` table (:func:`crawler.storage.insert_recheck`), beside those of
``radar recheck``. Times are ISO 8601 UTC strings.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    Table,
    UniqueConstraint,
)

from crawler.storage import insert_recheck, select_rechecks
from notices.mailbox import check_mailbox, mailbox_problem
from store.base import StoreError
from store.db import Database
from store.evidence import RecheckResult
from store.schema import id_column as _id
from store.schema import int_column as _i
from store.schema import metadata
from store.schema import text_column as _t

log = logging.getLogger(__name__)

# -- notices: host contacts, notices, their URLs and history -----------------------
notice_contacts = Table(
    "notice_contacts",
    metadata,
    _id(),
    _t("host"),
    _t("level"),
    _t("email"),
    _t("name"),
    _t("source"),
    _t("note"),
    _t("updated_at"),
    UniqueConstraint("host", "level", "email"),
)
notices = Table(
    "notices",
    metadata,
    _id(),
    _t("host"),
    _t("regime"),
    _t("level"),
    _t("status"),
    _t("recipient"),
    _t("fields"),
    _t("created_by"),
    _t("created_at"),
    _t("sent_at", nullable=True),
    _t("acknowledged_at", nullable=True),
    _t("closed_at", nullable=True),
    _i("parent_id", nullable=True),
    _i("sequence"),
    _t("message_id"),
    Index("notices_host", "host", "status"),
)
notice_urls = Table(
    "notice_urls",
    metadata,
    Column("notice_id", BigInteger, ForeignKey("notices.id"), nullable=False),
    _t("hit_id"),
    _t("url"),
    _t("page_url"),
    _t("case_id"),
    _t("reference_label"),
    _i("distance"),
    _t("content_sha256"),
    _t("state"),
    _t("last_checked", nullable=True),
    _t("removed_at", nullable=True),
    _t("reappeared_at", nullable=True),
    PrimaryKeyConstraint("notice_id", "hit_id"),
)
notice_events = Table(
    "notice_events",
    metadata,
    _id(),
    _i("notice_id"),
    _t("at"),
    _t("username"),
    _t("event"),
    _t("detail"),
)


NOTICE_STATES = ("draft", "sent", "acknowledged", "removed", "still-online", "reappeared")
OPEN_STATES = ("sent", "acknowledged", "still-online", "reappeared")
URL_STATES = ("online", "removed", "changed", "reappeared")
CONTACT_LEVELS = ("host", "site", "registrar")  # escalation order
CONTACT_SOURCES = ("security.txt", "directory", "manual")


@dataclass(frozen=True, slots=True)
class Contact:
    host: str
    level: str
    email: str
    name: str = ""
    source: str = "manual"
    note: str = ""
    updated_at: str = ""
    id: int = 0

    def __post_init__(self) -> None:
        if self.level not in CONTACT_LEVELS:
            raise ValueError(f"contact level must be one of {CONTACT_LEVELS}")
        if self.source not in CONTACT_SOURCES:
            raise ValueError(f"contact source must be one of {CONTACT_SOURCES}")
        check_mailbox(self.email)  # ValueError: not exactly one e-mail address


@dataclass(frozen=True, slots=True)
class NoticeUrl:
    """One URL a notice names, with its tracking state."""

    hit_id: str
    url: str
    page_url: str
    case_id: str
    reference_label: str
    distance: int
    content_sha256: str
    state: str = "online"
    last_checked: str | None = None
    removed_at: str | None = None
    reappeared_at: str | None = None
    notice_id: int = 0


@dataclass(frozen=True, slots=True)
class Notice:
    host: str
    regime: str
    level: str
    recipient: str
    fields: dict[str, Any]
    created_by: str
    created_at: str
    urls: tuple[NoticeUrl, ...] = ()
    status: str = "draft"
    sent_at: str | None = None
    acknowledged_at: str | None = None
    closed_at: str | None = None
    parent_id: int | None = None
    sequence: int = 1  # 1 for the first notice, 2.. for re-notices and escalations
    message_id: str = ""
    id: int = 0


@dataclass(frozen=True, slots=True)
class NoticeEvent:
    notice_id: int
    at: str
    username: str
    event: str
    detail: str = ""


class NoticeStore(Protocol):
    def save_contact(self, contact: Contact) -> Contact:
        """Insert, or update the contact with the same host, level and e-mail."""
        ...

    def contacts(self, host: str | None = None) -> list[Contact]:
        """Contacts (of ``host``); rows whose address breaks :mod:`notices.mailbox` are left
        out (stored by an older version), so they are never offered or mailed."""
        ...

    def delete_contact(self, contact_id: int) -> None: ...
    def create_notice(self, notice: Notice) -> Notice: ...
    def get_notice(self, notice_id: int) -> Notice:
        """StoreError if there is none."""
        ...

    def notices(self, host: str | None = None, statuses: tuple[str, ...] = ()) -> list[Notice]: ...
    def update_notice(self, notice_id: int, **changes: Any) -> Notice: ...
    def set_url_state(self, notice_id: int, hit_id: str, **changes: Any) -> None: ...
    def add_event(self, event: NoticeEvent) -> None: ...
    def events(self, notice_id: int) -> list[NoticeEvent]: ...
    def add_recheck(self, result: RecheckResult) -> RecheckResult:
        """Save a re-check in the one ``rechecks`` table; return it with its id."""
        ...

    def rechecks(self, url: str, limit: int = 20, until: str | None = None) -> list[RecheckResult]:
        """The latest ``limit`` re-checks of ``url`` (made at or before ``until``), newest
        first, whoever made them (the notice round or ``radar recheck``)."""
        ...


class SqlNoticeStore(Database):
    """Implements :class:`NoticeStore` on the service database. One instance per thread."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path)

    # -- contacts -----------------------------------------------------------------------------
    def save_contact(self, contact: Contact) -> Contact:
        with self._tx() as db:
            db.execute(
                "INSERT INTO notice_contacts (host,level,email,name,source,note,updated_at) "
                "VALUES (?,?,?,?,?,?,?) ON CONFLICT (host, level, email) DO UPDATE SET "
                "name=excluded.name, source=excluded.source, note=excluded.note, "
                "updated_at=excluded.updated_at",
                (
                    contact.host.lower(),
                    contact.level,
                    contact.email.strip(),
                    contact.name,
                    contact.source,
                    contact.note,
                    contact.updated_at,
                ),
            )
            row = db.execute(
                "SELECT id FROM notice_contacts WHERE host=? AND level=? AND email=?",
                (contact.host.lower(), contact.level, contact.email.strip()),
            ).fetchone()
        return replace(contact, host=contact.host.lower(), id=int(row[0]))

    def contacts(self, host: str | None = None) -> list[Contact]:
        sql = "SELECT * FROM notice_contacts"
        args: tuple[str, ...] = ()
        if host is not None:
            sql += " WHERE host=?"
            args = (host.lower(),)
        rows = self._db.execute(sql + " ORDER BY host, level, id", args)
        out = []
        for r in rows:
            problem = mailbox_problem(r["email"])
            if problem:  # stored before the address rule (a hostile security.txt): never used
                log.warning("contact #%d of %s skipped: %s", r["id"], r["host"], problem)
                continue
            out.append(
                Contact(
                    r["host"],
                    r["level"],
                    r["email"],
                    r["name"],
                    r["source"],
                    r["note"],
                    r["updated_at"],
                    r["id"],
                )
            )
        return out

    def delete_contact(self, contact_id: int) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM notice_contacts WHERE id=?", (contact_id,))

    # -- notices ------------------------------------------------------------------------------
    def create_notice(self, notice: Notice) -> Notice:
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO notices (host,regime,level,status,recipient,fields,created_by,"
                "created_at,sent_at,acknowledged_at,closed_at,parent_id,sequence,message_id) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id",
                (
                    notice.host,
                    notice.regime,
                    notice.level,
                    notice.status,
                    notice.recipient,
                    json.dumps(notice.fields, sort_keys=True),
                    notice.created_by,
                    notice.created_at,
                    notice.sent_at,
                    notice.acknowledged_at,
                    notice.closed_at,
                    notice.parent_id,
                    notice.sequence,
                    notice.message_id,
                ),
            )
            notice_id = int(cursor.fetchone()[0])
            for u in notice.urls:
                db.execute(
                    "INSERT INTO notice_urls VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        notice_id,
                        u.hit_id,
                        u.url,
                        u.page_url,
                        u.case_id,
                        u.reference_label,
                        u.distance,
                        u.content_sha256,
                        u.state,
                        u.last_checked,
                        u.removed_at,
                        u.reappeared_at,
                    ),
                )
        return self.get_notice(notice_id)

    def get_notice(self, notice_id: int) -> Notice:
        row = self._db.execute("SELECT * FROM notices WHERE id=?", (notice_id,)).fetchone()
        if row is None:
            raise StoreError(f"no notice #{notice_id}")
        return self._notice(row)

    def notices(self, host: str | None = None, statuses: tuple[str, ...] = ()) -> list[Notice]:
        clauses: list[str] = []
        args: list[Any] = []
        if host is not None:
            clauses.append("host=?")
            args.append(host)
        if statuses:
            clauses.append(f"status IN ({','.join('?' * len(statuses))})")
            args += statuses
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._db.execute(f"SELECT * FROM notices{where} ORDER BY id DESC", args)
        return [self._notice(r) for r in rows]

    def update_notice(self, notice_id: int, **changes: Any) -> Notice:
        allowed = {
            "status",
            "recipient",
            "fields",
            "sent_at",
            "acknowledged_at",
            "closed_at",
            "message_id",
            "regime",
        }
        if set(changes) - allowed:
            raise StoreError(f"cannot change {sorted(set(changes) - allowed)}")
        if "status" in changes and changes["status"] not in NOTICE_STATES:
            raise StoreError(f"unknown notice status {changes['status']!r}")
        if "fields" in changes:
            changes["fields"] = json.dumps(changes["fields"], sort_keys=True)
        self.get_notice(notice_id)
        with self._tx() as db:
            db.execute(
                f"UPDATE notices SET {', '.join(f'{k}=?' for k in changes)} WHERE id=?",
                (*changes.values(), notice_id),
            )
        return self.get_notice(notice_id)

    def set_url_state(self, notice_id: int, hit_id: str, **changes: Any) -> None:
        allowed = {"state", "last_checked", "removed_at", "reappeared_at"}
        if set(changes) - allowed:
            raise StoreError(f"cannot change {sorted(set(changes) - allowed)}")
        if "state" in changes and changes["state"] not in URL_STATES:
            raise StoreError(f"unknown URL state {changes['state']!r}")
        with self._tx() as db:
            db.execute(
                f"UPDATE notice_urls SET {', '.join(f'{k}=?' for k in changes)} "
                "WHERE notice_id=? AND hit_id=?",
                (*changes.values(), notice_id, hit_id),
            )

    def _notice(self, row: Any) -> Notice:
        urls = tuple(
            NoticeUrl(
                hit_id=u["hit_id"],
                url=u["url"],
                page_url=u["page_url"],
                case_id=u["case_id"],
                reference_label=u["reference_label"],
                distance=u["distance"],
                content_sha256=u["content_sha256"],
                state=u["state"],
                last_checked=u["last_checked"],
                removed_at=u["removed_at"],
                reappeared_at=u["reappeared_at"],
                notice_id=u["notice_id"],
            )
            for u in self._db.execute(
                "SELECT * FROM notice_urls WHERE notice_id=? ORDER BY url", (row["id"],)
            )
        )
        return Notice(
            host=row["host"],
            regime=row["regime"],
            level=row["level"],
            recipient=row["recipient"],
            fields=json.loads(row["fields"]),
            created_by=row["created_by"],
            created_at=row["created_at"],
            urls=urls,
            status=row["status"],
            sent_at=row["sent_at"],
            acknowledged_at=row["acknowledged_at"],
            closed_at=row["closed_at"],
            parent_id=row["parent_id"],
            sequence=row["sequence"],
            message_id=row["message_id"],
            id=row["id"],
        )

    # -- history ------------------------------------------------------------------------------
    def add_event(self, event: NoticeEvent) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO notice_events (notice_id,at,username,event,detail) VALUES (?,?,?,?,?)",
                (event.notice_id, event.at, event.username, event.event, event.detail),
            )

    def events(self, notice_id: int) -> list[NoticeEvent]:
        rows = self._db.execute(
            "SELECT * FROM notice_events WHERE notice_id=? ORDER BY id", (notice_id,)
        )
        return [
            NoticeEvent(r["notice_id"], r["at"], r["username"], r["event"], r["detail"])
            for r in rows
        ]

    def add_recheck(self, result: RecheckResult) -> RecheckResult:
        with self._tx() as db:
            return insert_recheck(db, result)

    def rechecks(self, url: str, limit: int = 20, until: str | None = None) -> list[RecheckResult]:
        return select_rechecks(self._db, url, limit, until)


__all__ = [
    "CONTACT_LEVELS",
    "NOTICE_STATES",
    "OPEN_STATES",
    "URL_STATES",
    "Contact",
    "Notice",
    "NoticeEvent",
    "NoticeStore",
    "NoticeUrl",
    "SqlNoticeStore",
]

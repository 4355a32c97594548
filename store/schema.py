"""The service database's schema, once, for both backends: SQLite (embedded mode) and
PostgreSQL (distributed mode, shared by every replica).

The stores write plain SQL that both dialects accept; this module is the single source
of the tables they write to. Column order matters: a few statements insert or read
positionally. Changing a table means a new Alembic revision in ``store/migrations``
(``tests/test_service_db.py`` fails while the revisions and this module disagree).
Times are ISO 8601 UTC text (``wire.utc_now``), which order correctly as text; flags
are 0/1 integers; JSON documents are text.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()


def _id() -> Column[int]:
    # SQLite: INTEGER PRIMARY KEY is the rowid (auto-numbered); PostgreSQL: a bigint
    # identity, so ids never wrap.
    return Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )


def _t(name: str, nullable: bool = False, **kw: object) -> Column[str]:
    return Column(name, Text, nullable=nullable, **kw)  # type: ignore[arg-type]


def _i(name: str, nullable: bool = False, **kw: object) -> Column[int]:
    return Column(name, BigInteger, nullable=nullable, **kw)  # type: ignore[arg-type]


# -- cases, banks, targets, hits, crawl reports (store.sql.SqlStore) ---------------------
meta = Table("meta", metadata, _t("key", primary_key=True), _i("value"))
cases = Table(
    "cases",
    metadata,
    _t("id", primary_key=True),
    _t("title"),
    _i("pdq_threshold"),
    _i("phash_threshold"),
    _i("min_pdq_quality"),
    _i("dihedral"),
    _i("priority"),
    _t("created_at"),
)
reference_hashes = Table(
    "reference_hashes",
    metadata,
    _id(),
    Column("case_id", Text, ForeignKey("cases.id"), nullable=False),
    _t("label"),
    _t("algorithm"),
    _t("hash"),
    _i("quality", nullable=True),
    _t("variant"),
    _t("source"),
    _t("added_at"),
    UniqueConstraint("case_id", "algorithm", "hash", "label"),
)
targets = Table(
    "targets",
    metadata,
    _id(),
    Column("case_id", Text, ForeignKey("cases.id"), nullable=False),
    _t("kind"),
    _t("url"),
    _t("allowed_domains"),
    _i("max_depth"),
    _i("max_pages"),
    _i("interval_seconds"),
    _i("obey_robots"),
    _t("created_at"),
    _t("last_crawled_at", nullable=True),
    _t("render", server_default=text("'http'")),
    _i("enabled", server_default=text("1")),
    _t("lease_owner", nullable=True),
    _t("lease_until", nullable=True),
    _i("pass_gates", server_default=text("1")),
)
hits = Table(
    "hits",
    metadata,
    _t("id", primary_key=True),
    _t("case_id"),
    _t("reference_label"),
    _t("algorithm"),
    _i("distance"),
    _t("matches"),
    _t("image_url"),
    _t("page_url"),
    _t("site"),
    _t("fetched_at"),
    _i("http_status"),
    _t("content_sha256"),
    _t("status"),
    _t("first_seen"),
    _t("last_seen"),
    _i("seen_count"),
    _i("version", server_default=text("1")),
    _t("crawl_id", server_default=text("''")),  # round of the latest sighting (wire.Hit)
    Index("hits_queue", "status", "case_id", "distance"),
    Index("hits_content", "content_sha256"),
    Index("hits_site", "site", "status"),
)
crawl_reports = Table(
    "crawl_reports",
    metadata,
    _id(),
    _t("case_id"),
    _i("target_id"),
    _t("started_at"),
    _t("finished_at"),
    _t("finish_reason"),
    _t("counts"),
)

# -- the crawler's memory (store.crawlstate) ------------------------------------------------
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

# -- review state (store.review) --------------------------------------------------------------
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

# -- notices (store.notices) --------------------------------------------------------------------
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
notice_rechecks = Table(
    "notice_rechecks",
    metadata,
    _id(),
    _t("url"),
    _t("at"),
    _t("result"),
    _i("http_status"),
    _t("sha256"),
    _t("detail"),
    Index("notice_rechecks_url", "url", "at"),
)


def replace_into(table: str) -> str:
    """``INSERT OR REPLACE`` in SQL both dialects accept: insert a whole row (every column,
    in order) or overwrite the row with the same primary key."""
    t = metadata.tables[table]
    key = [c.name for c in t.primary_key.columns]
    rest = [c.name for c in t.columns if c.name not in key]
    return (
        f"INSERT INTO {table} ({','.join(c.name for c in t.columns)}) "
        f"VALUES ({','.join('?' * len(t.columns))}) ON CONFLICT ({','.join(key)}) "
        f"DO UPDATE SET {', '.join(f'{c}=excluded.{c}' for c in rest)}"
    )

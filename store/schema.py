"""The service database's schema for both backends: SQLite (embedded mode) and
PostgreSQL (distributed mode, shared by every replica).

One :data:`metadata`; each stage defines its own tables on it, next to the code that
writes them: here the store's (cases, banks, targets, hits, crawl reports),
:mod:`crawler.storage` the crawler's memory, :mod:`review.storage` review state,
:mod:`notices.storage` notices. :mod:`radar.schema` gathers them all. The stores write
plain SQL that both dialects accept. Column order matters: a few statements insert or
read positionally. Changing a table means a new Alembic revision in ``store/migrations``,
which build the schema on both backends (``tests/store/test_service_db.py`` fails while
the revisions and the definitions disagree). Times are ISO 8601 UTC text
(``wire.utc_now``), which order correctly as text; flags are 0/1 integers; JSON
documents are text.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()


def id_column() -> Column[int]:
    # SQLite: INTEGER PRIMARY KEY is the rowid (auto-numbered); PostgreSQL: a bigint
    # identity, so ids never wrap.
    return Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )


def text_column(name: str, nullable: bool = False, **kw: object) -> Column[str]:
    return Column(name, Text, nullable=nullable, **kw)  # type: ignore[arg-type]


def int_column(name: str, nullable: bool = False, **kw: object) -> Column[int]:
    return Column(name, BigInteger, nullable=nullable, **kw)  # type: ignore[arg-type]


_id, _t, _i = id_column, text_column, int_column

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

"""one re-check table: notice_rechecks joins rechecks

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

The notice round's re-checks (table notice_rechecks: url, at, result, http_status, sha256,
detail) move into the crawler's ``rechecks`` table, in its one vocabulary (``present`` is
``still_there``), so every re-check of a URL, by the notice round or ``radar recheck``,
is read from one place (crawler/storage.py ``insert_recheck``/``select_rechecks``).
Downgrading recreates the old table empty: the rows stay in rechecks.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "INSERT INTO rechecks (url, case_id, status, checked_at, http_status, content_sha256,"
        " detail, matched) SELECT url, '', CASE result WHEN 'present' THEN 'still_there'"
        " ELSE result END, at, http_status, sha256, detail, '[]' FROM notice_rechecks"
        " ORDER BY id"
    )
    op.drop_index("notice_rechecks_url", table_name="notice_rechecks")
    op.drop_table("notice_rechecks")


def downgrade() -> None:
    op.create_table(
        "notice_rechecks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("at", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("http_status", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("notice_rechecks_url", "notice_rechecks", ["url", "at"])

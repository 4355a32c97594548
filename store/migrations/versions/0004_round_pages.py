"""round_pages: the distributed crawl's progress per round

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

A row per page a round queued on the crawl frontier (its seed, then every link a crawler
published), marked done or failed by the crawler that finished it: ``radar seed --wait``
reads it to know when a round is crawled (crawler/storage.py, radar/rounds.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "round_pages",
        sa.Column("crawl_id", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("images", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated_at", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("crawl_id", "url"),
    )


def downgrade() -> None:
    op.drop_table("round_pages")

"""hits: the crawl round of the latest sighting

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03

A fetch from the round of the stored sighting (Kafka redelivers a page after a
rebalance) refreshes a hit's evidence without counting another sighting
(store/sighting.py). Existing hits get '' (no round), so their next sighting counts.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "hits", sa.Column("crawl_id", sa.Text(), server_default=sa.text("''"), nullable=False)
    )


def downgrade() -> None:
    with op.batch_alter_table("hits") as batch:  # SQLite rebuilds the table
        batch.drop_column("crawl_id")

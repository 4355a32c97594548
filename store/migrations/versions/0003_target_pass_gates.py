"""targets: whether the crawler passes age gates and cookie walls

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03

On by default for websites (crawler/gates.py), off for channels, feeds and sitemaps,
as store.models.default_pass_gates says for new targets.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "targets",
        sa.Column("pass_gates", sa.BigInteger(), server_default=sa.text("1"), nullable=False),
    )
    op.execute("UPDATE targets SET pass_gates = 0 WHERE kind <> 'website'")


def downgrade() -> None:
    with op.batch_alter_table("targets") as batch:  # SQLite rebuilds the table
        batch.drop_column("pass_gates")

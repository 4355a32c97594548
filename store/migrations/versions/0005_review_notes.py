"""review_notes: analysts' notes on a hit

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04

A row per note someone who can open a hit wrote on it: the hit, who, when and the text
(review/storage.py ``add_note``; review/routes/reviewing.py shows them on the hit's page).
Text only: the review app refuses a note that holds an encoded picture.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "review_notes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("hit_id", sa.Text(), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("at", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("review_notes_hit", "review_notes", ["hit_id", "at"])


def downgrade() -> None:
    op.drop_index("review_notes_hit", table_name="review_notes")
    op.drop_table("review_notes")

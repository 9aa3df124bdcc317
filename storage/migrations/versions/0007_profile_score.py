"""machine profile score settings: thin artwork strokes as lines in their own colour

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("machine_profile", schema=None) as batch_op:
        batch_op.add_column(sa.Column("score_color", sa.String(length=7), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("score_width_mm", sa.Float(), nullable=False, server_default="0.25"))


def downgrade() -> None:
    # plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch copy would fail on rows that refer to it
    op.drop_column("machine_profile", "score_width_mm")
    op.drop_column("machine_profile", "score_color")

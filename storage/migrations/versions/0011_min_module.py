"""machine profile code settings: the smallest code module and inverted codes for dark materials

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("machine_profile", schema=None) as batch_op:
        batch_op.add_column(sa.Column("min_module_mm", sa.Float(), nullable=False, server_default="0.25"))
        batch_op.add_column(
            sa.Column("invert_codes", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    # plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch copy would fail on rows that refer to it
    op.drop_column("machine_profile", "invert_codes")
    op.drop_column("machine_profile", "min_module_mm")

"""machine profile laser settings per operation (the layers of a LightBurn project)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OPTIONAL = (
    ("engrave_speed_mm_s", sa.Float()),
    ("engrave_power_pct", sa.Float()),
    ("engrave_passes", sa.Integer()),
    ("engrave_interval_mm", sa.Float()),
    ("score_speed_mm_s", sa.Float()),
    ("score_power_pct", sa.Float()),
    ("score_passes", sa.Integer()),
    ("cut_speed_mm_s", sa.Float()),
    ("cut_power_pct", sa.Float()),
    ("cut_passes", sa.Integer()),
)


def upgrade() -> None:
    with op.batch_alter_table("machine_profile", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("engrave_mode", sa.String(length=8), nullable=False, server_default="fill")
        )
        for name, type_ in _OPTIONAL:
            batch_op.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    # plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch copy would fail on rows that refer to it
    for name, _type in reversed(_OPTIONAL):
        op.drop_column("machine_profile", name)
    op.drop_column("machine_profile", "engrave_mode")

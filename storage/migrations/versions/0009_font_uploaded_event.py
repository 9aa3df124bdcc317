"""activity events: "Font uploaded" stored as its identifier, like every other event

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANGE = sa.text("UPDATE activity_event SET event_type = :new WHERE event_type = :old")


def upgrade() -> None:
    op.execute(CHANGE.bindparams(old="Font uploaded", new="font_uploaded"))


def downgrade() -> None:
    op.execute(CHANGE.bindparams(old="font_uploaded", new="Font uploaded"))

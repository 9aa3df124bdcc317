"""proof versions keep the field values they were drawn from (what changed, shown to the customer)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("proof_version", sa.Column("values", sa.JSON(), nullable=True))
    # An item's current proof was drawn from its values unless they changed since (then it is pending):
    # that version's values are known. Earlier versions stay unknown (None).
    op.execute(
        """
        UPDATE proof_version SET "values" = (
            SELECT item."values" FROM item
            WHERE item.id = proof_version.item_id
              AND item.proof_version = proof_version.version
              AND item.proof_status <> 'pending'
        )
        """
    )


def downgrade() -> None:
    op.drop_column("proof_version", "values")

"""customer mail: approval links and reminders emailed through the outbox

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("customer_reminder_days", sa.Float(), nullable=False, server_default="2")
        )
        batch_op.add_column(sa.Column("mail_from", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("mail_reply_to", sa.String(length=254), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("via", sa.String(length=8), nullable=False, server_default="slack"))
    op.create_table(
        "link_mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("emailed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.Column("reminded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["job.id"]),
        sa.ForeignKeyConstraint(["link_id"], ["approval_link.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("link_id"),
    )
    with op.batch_alter_table("link_mail", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_link_mail_job_id"), ["job_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("link_mail", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_mail_job_id"))
    op.drop_table("link_mail")
    # plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch copy of "workspace" would fail on the
    # rows that refer to it
    op.drop_column("outbox", "via")
    for column in ("mail_reply_to", "mail_from", "customer_reminder_days"):
        op.drop_column("workspace", column)

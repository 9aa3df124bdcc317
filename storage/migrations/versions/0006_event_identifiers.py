"""activity events: stored as stable identifiers instead of English sentences

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (the sentence stored until now, its identifier) as they stood when this migration was written
RENAMES = [
    ("Job created", "job_created"),
    ("Job edited", "job_edited"),
    ("Status changed", "status_changed"),
    ("Job deleted", "job_deleted"),
    ("Job restored", "job_restored"),
    ("Job purged", "job_purged"),
    ("Input submitted", "input_submitted"),
    ("Parsing failed", "parse_failed"),
    ("Items parsed", "items_parsed"),
    ("Items accepted", "items_accepted"),
    ("Items replaced", "items_replaced"),
    ("Item edited", "item_edited"),
    ("Template chosen", "template_chosen"),
    ("Mapping applied", "mapping_applied"),
    ("Proofs generated", "proofs_generated"),
    ("Preflight completed", "preflight_completed"),
    ("Approval link generated", "approval_link_generated"),
    ("Approval link revoked", "approval_link_revoked"),
    ("Approval page viewed", "approval_page_viewed"),
    ("Item approved", "item_approved"),
    ("Change requested", "change_requested"),
    ("Approval recorded", "approval_recorded"),
    ("Approval skipped", "approval_skipped"),
    ("Export created", "export_created"),
    ("Exported without customer approval", "exported_without_approval"),
    ("Job completed", "job_completed"),
    ("Task failed", "task_failed"),
    ("Task resumed", "task_resumed"),
    ("Template imported", "template_imported"),
    ("Machine profile changed", "machine_profile_changed"),
]


def _rename(pairs: list[tuple[str, str]]) -> None:
    change = sa.text("UPDATE activity_event SET event_type = :new WHERE event_type = :old")
    for old, new in pairs:
        op.execute(change.bindparams(old=old, new=new))


def upgrade() -> None:
    _rename(RENAMES)


def downgrade() -> None:
    _rename([(new, old) for old, new in RENAMES])

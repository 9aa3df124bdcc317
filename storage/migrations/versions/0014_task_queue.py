"""the task queue on PostgreSQL: Procrastinate's tables and functions, for `python app.py worker`

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06

Applied on PostgreSQL only (SQLite runs its background work inside `serve`). The schema is the one of
the Procrastinate release pinned in pyproject.toml; a later release's own migrations go into a later
revision of ours.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from procrastinate.schema import SchemaManager

    present = bind.exec_driver_sql("SELECT to_regclass('procrastinate_jobs') IS NOT NULL").scalar()
    if not present:
        # several statements with no parameters: straight to psycopg, which sends them as one query
        bind.connection.driver_connection.execute(SchemaManager.get_schema())  # type: ignore[union-attr]


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    here = "(SELECT oid FROM pg_namespace WHERE nspname = current_schema())"
    for (name,) in bind.exec_driver_sql(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
        "AND tablename LIKE 'procrastinate%%'"
    ).all():
        op.execute(f'DROP TABLE IF EXISTS "{name}" CASCADE')
    for (signature,) in bind.exec_driver_sql(
        f"SELECT oid::regprocedure::text FROM pg_proc WHERE pronamespace = {here} "
        f"AND proname LIKE 'procrastinate%%'"
    ).all():
        op.execute(f"DROP FUNCTION IF EXISTS {signature} CASCADE")
    for (name,) in bind.exec_driver_sql(
        f"SELECT typname FROM pg_type WHERE typnamespace = {here} AND typname LIKE 'procrastinate%%'"
    ).all():  # enums and the composite types (the tables' own row types went with them)
        op.execute(f'DROP TYPE IF EXISTS "{name}" CASCADE')

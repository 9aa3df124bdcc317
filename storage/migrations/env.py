"""Alembic environment: runs against the connection handed in by storage.migrate."""

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

import storage.models  # noqa: F401 - registers the tables on SQLModel.metadata

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        from sqlalchemy import create_engine

        url = config.get_main_option("sqlalchemy.url")
        if url is None:
            raise RuntimeError("no database: storage.migrate sets sqlalchemy.url or hands in a connection")
        engine = create_engine(url)
        with engine.begin() as conn:
            _run(conn)
        return
    _run(connection)


def ours(name: str | None, type_: str, parent_names: object) -> bool:
    """The task queue's tables are Procrastinate's (revision 0014), not the models': autogenerate
    leaves them alone."""
    return not (type_ == "table" and (name or "").startswith("procrastinate"))


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=ours,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()

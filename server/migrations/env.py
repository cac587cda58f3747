"""Alembic environment: runs migrations on the connection or URL that :mod:`server.migrate` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import server.models  # noqa: F401  (registers every table on Base.metadata)
from server.catalog.schema import include_object
from server.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()

"""Alembic environment of the service database (see store/db.py: ``radar db upgrade``
passes its connection in ``config.attributes["connection"]``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from radar.schema import metadata


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_server_default=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:  # the alembic command line: alembic -x url=... (developers writing a revision)
    url = context.get_x_argument(as_dictionary=True)["url"]
    with create_engine(url, poolclass=NullPool).connect() as conn:
        _run(conn)
        conn.commit()

"""Alembic environment for the governance ledger.

``Ledger.open`` runs migrations programmatically and hands its own connection in
through ``config.attributes["connection"]`` (it holds the migration lock on it).
Run by hand (``alembic -c governed_agents/ledger/alembic.ini upgrade head``), the
URL is ``sqlalchemy.url`` from the ini file, else ``GOVERNED_AGENTS_DB_URL``,
else the SQLite ledger in the state home.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from governed_agents.ledger.schema import metadata

config = context.config
target_metadata = metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from governed_agents.config import ledger_url

    return ledger_url()


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection) -> None:
    # render_as_batch: SQLite cannot ALTER most things; batch mode rebuilds the table.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

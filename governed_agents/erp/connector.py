"""Connection to the ERP database (the demo: SQLite under the state home)."""

from __future__ import annotations

import os
from functools import lru_cache

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from governed_agents import config
from governed_agents.erp.schema import metadata


def erp_url() -> str:
    return os.environ.get("GOVERNED_AGENTS_ERP_URL") or f"sqlite:///{config.home() / 'erp.sqlite3'}"


@lru_cache(maxsize=8)
def _engine(url: str) -> Engine:
    engine = create_engine(url, future=True)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
    metadata.create_all(engine)
    return engine


def erp_engine(url: str | None = None) -> Engine:
    """The ERP engine, with its tables created if missing."""
    return _engine(url or erp_url())

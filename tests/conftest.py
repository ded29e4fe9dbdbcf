"""Shared fixtures.

PostgreSQL tests use the real server on 127.0.0.1:5432 (override with
``GOVERNED_AGENTS_TEST_PG``). They never skip: a missing server is an error,
because a skipped database test in CI hides exactly the failure it exists for.
Each test that asks for ``pg_url`` gets a fresh, empty database that is dropped
afterwards.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get(
    "GOVERNED_AGENTS_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Every test gets its own state home, policies from the repo, and no ambient DB URL."""
    home = tmp_path / "home"
    monkeypatch.setenv("GOVERNED_AGENTS_HOME", str(home))
    monkeypatch.setenv("GOVERNED_AGENTS_POLICY_DIR", str(REPO / "policies"))
    monkeypatch.delenv("GOVERNED_AGENTS_DB_URL", raising=False)
    monkeypatch.delenv("GOVERNED_AGENTS_TOKEN", raising=False)
    monkeypatch.delenv("GOVERNED_AGENTS_SIGNING_KEY", raising=False)
    monkeypatch.setenv("GOVERNED_AGENTS_ENV", "test")
    return home


def _admin_engine():
    from sqlalchemy import create_engine

    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


@pytest.fixture
def pg_database():
    """A factory of fresh PostgreSQL databases for one test; all dropped afterwards."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    engine = _admin_engine()
    names: list[str] = []

    def create() -> str:
        name = f"ga_test_{uuid.uuid4().hex[:12]}"
        try:
            with engine.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:  # pragma: no cover - the point is to fail loudly
            pytest.fail(
                f"PostgreSQL is required for this test and is not reachable at {PG_ADMIN_URL}: {exc}\n"
                "Start it (.ci/run does) or set GOVERNED_AGENTS_TEST_PG."
            )
        names.append(name)
        return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    try:
        yield create
    finally:
        with engine.connect() as conn:
            for name in names:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :n AND pid <> pg_backend_pid()"
                    ),
                    {"n": name},
                )
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        engine.dispose()


@pytest.fixture
def pg_url(pg_database):
    """A fresh PostgreSQL database for one test; dropped afterwards."""
    return pg_database()


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    """Run a test on both ledger backends."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    return request.getfixturevalue("pg_url")

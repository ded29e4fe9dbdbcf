"""The gateway's hot statements, run on the database driver inside SQLAlchemy's transaction.

Every model call runs about ten statements around the provider call; through
SQLAlchemy's execution layer each costs a tenth of a millisecond or more, the
driver alone a fraction of that (``Ledger.append`` does the same for the audit
chain). Statements are written once with ``:name`` parameters and rendered per
driver (sqlite3 takes ``:name``; psycopg2 ``%(name)s``); values are adapted the
way SQLAlchemy's types would store them, so rows written here read back through
SQLAlchemy unchanged (SQLite: datetimes as ``YYYY-MM-DD HH:MM:SS.ffffff`` text,
numerics as floats, booleans as 0/1).
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from decimal import Decimal
from typing import Any, Iterable

import sqlalchemy as sa

from governed_agents.errors import LedgerError

_PARAM = re.compile(r"(?<!:):([a-z_][a-z0-9_]*)")
_rendered: dict[tuple[str, str], str] = {}


def _render(sql: str, dialect: str) -> str:
    key = (sql, dialect)
    text = _rendered.get(key)
    if text is None:
        text = _PARAM.sub(r"%(\1)s", sql.replace("%", "%%")) if dialect == "postgresql" else sql
        _rendered[key] = text
    return text


@functools.lru_cache(maxsize=256)  # one call converts the same few instants many times
def _sqlite_datetime(value: _dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


# By exact type: str, int, float and None pass through untouched (the common case, no call).
_SQLITE = {_dt.datetime: _sqlite_datetime, bool: int, Decimal: float}


def _adapt(params: dict, dialect: str) -> dict:
    if dialect != "sqlite":
        return params
    out = params
    for key, value in params.items():
        convert = _SQLITE.get(type(value))
        if convert is not None:
            if out is params:
                out = dict(params)
            out[key] = convert(value)
    return out


def run(conn: sa.Connection, sql: str, params: dict | None = None) -> Any:
    """Execute one statement on ``conn``'s driver connection; returns the DB-API cursor."""
    dialect = conn.dialect.name
    driver = conn.connection.driver_connection
    try:
        if dialect == "sqlite":
            return driver.execute(_render(sql, dialect), _adapt(params or {}, dialect))
        cursor = driver.cursor()
        cursor.execute(_render(sql, dialect), params or {})
        return cursor
    except conn.dialect.loaded_dbapi.Error as exc:
        raise _error(exc) from exc


def run_many(conn: sa.Connection, sql: str, rows: Iterable[dict]) -> None:
    dialect = conn.dialect.name
    driver = conn.connection.driver_connection
    rows = [_adapt(r, dialect) for r in rows]
    try:
        if dialect == "sqlite":
            driver.executemany(_render(sql, dialect), rows)
        else:
            cursor = driver.cursor()
            cursor.executemany(_render(sql, dialect), rows)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise _error(exc) from exc


def run_together(conn: sa.Connection, pieces: list[tuple[str, dict]], final: tuple[str, dict] | None = None) -> Any:
    """Several writes in one round trip on PostgreSQL (data-modifying CTEs); one after another on SQLite.

    The pieces must not depend on each other's effects (on PostgreSQL they all
    see the statement's snapshot). ``final`` is a SELECT run last (on
    PostgreSQL as the statement's main query); its cursor is returned.
    """
    if conn.dialect.name != "postgresql":
        for sql, params in pieces:
            run(conn, sql, params)
        return run(conn, *final) if final is not None else None
    main_sql, main_params = final if final is not None else ("SELECT 1", {})
    shape = (tuple(sql for sql, _ in pieces), main_sql)
    combined = _together.get(shape)
    if combined is None:
        parts = [f"w{i} AS ({_PARAM.sub(lambda m, i=i: f':w{i}_' + m.group(1), sql)})" for i, (sql, _) in
                 enumerate(pieces)]
        combined = _together[shape] = "WITH " + ", ".join(parts) + " " + _PARAM.sub(
            lambda m: ":f_" + m.group(1), main_sql)
    merged = {f"f_{k}": v for k, v in main_params.items()}
    for index, (_, params) in enumerate(pieces):
        merged.update({f"w{index}_{k}": v for k, v in params.items()})
    return run(conn, combined, merged)


_together: dict[tuple, str] = {}


def in_list(name: str, count: int) -> str:
    """``(:name0, :name1, …)`` for ``count`` values."""
    return "(" + ", ".join(f":{name}{i}" for i in range(count)) + ")"


def in_params(name: str, values: list) -> dict:
    return {f"{name}{i}": v for i, v in enumerate(values)}


def as_datetime(value: Any) -> _dt.datetime | None:
    """A datetime read on the driver (SQLite gives text) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = _dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=_dt.timezone.utc) if value.tzinfo is None else value.astimezone(_dt.timezone.utc)


def _error(exc: BaseException) -> LedgerError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return LedgerError(
        f"the governance ledger refused a spend record: {text}",
        hint="no model call is made while its spend cannot be recorded",
    )


__all__ = ["as_datetime", "in_list", "in_params", "run", "run_many", "run_together"]

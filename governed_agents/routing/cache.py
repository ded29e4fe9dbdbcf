"""The model cache: identical deterministic calls are answered from the ledger at no cost.

A call is cacheable when its temperature is 0. Its key is a sha256 over exactly
what decides the answer: the litellm model, the messages, the tools, the
options (tool choice, response format, output limit) and the tenant (answers
are never shared across tenants). Entries expire after the catalog's
``cache.ttl_hours``. A hit is recorded like a call (a ``spend_reservations`` row
with ``cache_hit`` and cost 0, a transcript, a ``model.call`` audit event), so
the spend report counts it.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from typing import Any

import sqlalchemy as sa

from governed_agents.canonical import canonical_json
from governed_agents.ledger.schema import model_cache
from governed_agents.routing import _sql


def cache_key(*, model: str, messages: list[dict], tools: list[dict] | None, options: dict[str, Any],
              tenant: str | None) -> str:
    material = canonical_json({"model": model, "messages": messages, "tools": tools or None,
                               "options": {k: v for k, v in sorted(options.items()) if v is not None},
                               "tenant": tenant})
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


# Hot statements, on the driver (see _sql).
_LOOKUP = ("SELECT response, input_tokens, output_tokens, offline_model, expires_at, model, alias "
           "FROM model_cache WHERE key = :k")
_HIT = "UPDATE model_cache SET hits = hits + 1 WHERE key = :k"
_STORE = (
    "INSERT INTO model_cache (key, model, alias, tenant, response, input_tokens, output_tokens, offline_model, hits, "
    "created_at, expires_at) VALUES (:key, :model, :alias, :tenant, :response, :input_tokens, :output_tokens, "
    ":offline_model, 0, :created_at, :expires_at) "
    "ON CONFLICT (key) DO UPDATE SET response = excluded.response, input_tokens = excluded.input_tokens, "
    "output_tokens = excluded.output_tokens, created_at = excluded.created_at, expires_at = excluded.expires_at"
)


def lookup(conn: sa.Connection, key: str, now: _dt.datetime) -> dict | None:
    """The cached answer under ``key`` if it has not expired."""
    row = _sql.run(conn, _LOOKUP, {"k": key}).fetchone()
    if row is None or _sql.as_datetime(row[4]) <= now:
        return None
    return {"response": json.loads(row[0]), "input_tokens": row[1], "output_tokens": row[2],
            "offline_model": bool(row[3]), "model": row[5], "alias": row[6]}


def count_hit(conn: sa.Connection, key: str) -> None:
    _sql.run(conn, _HIT, {"k": key})


def row(*, key: str, model: str, alias: str, tenant: str | None, response: dict, input_tokens: int,
        output_tokens: int, offline_model: bool, now: _dt.datetime, ttl_hours: float) -> dict:
    """A cache entry, ready for ``put`` (built before the write lock is taken)."""
    return {
        "key": key, "model": model, "alias": alias, "tenant": tenant, "response": canonical_json(response),
        "input_tokens": input_tokens, "output_tokens": output_tokens, "offline_model": offline_model,
        "created_at": now, "expires_at": now + _dt.timedelta(hours=ttl_hours),
    }


def put_piece(entry: dict) -> tuple[str, dict]:
    """The statement that keeps ``entry`` (for ``_sql.run_together``)."""
    return _STORE, entry


def put(conn: sa.Connection, entry: dict) -> None:
    """Keep an answer (replacing an expired or concurrent one under the same key)."""
    _sql.run(conn, _STORE, entry)


def store(conn: sa.Connection, **fields: Any) -> None:
    put(conn, row(**fields))


def purge_expired(ledger: Any, *, now: _dt.datetime | None = None) -> int:
    """Delete expired cache entries; returns how many."""
    from governed_agents.timeutil import utcnow

    now = now or utcnow()
    with ledger.transaction() as conn:
        return conn.execute(sa.delete(model_cache).where(model_cache.c.expires_at <= now)).rowcount or 0


__all__ = ["cache_key", "count_hit", "lookup", "purge_expired", "put", "put_piece", "row", "store"]

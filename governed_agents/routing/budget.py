"""Budgets: which caps apply to a call, what is committed against them, and atomic reservation.

Every model call is counted against seven running totals (``spend_counters``):
its task, and its workflow, user and tenant per UTC day and per UTC month.
A *budget* is such a total with a cap: the task's ``hard_cost_cap_usd`` and
``max_tokens_per_task``, the envelope's ``workflow_daily_usd``,
``workflow_monthly_usd``, ``user_daily_usd`` and ``tenant_monthly_usd``, and
any cap an admin set (``spend_caps``; the lower cap wins). Totals are kept for
uncapped scopes too, so a cap set mid-month sees the month's spend.

``user_daily_usd`` and ``tenant_monthly_usd`` cap the user's and the tenant's
spend across all workflows; an envelope that sets them refuses its own calls
once that total reaches the cap.

Reservation is one transaction: lock every scope the call touches
(``pg_advisory_xact_lock`` per scope, in key order, on PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` already serialises writers), read the totals, decide,
add the estimate, insert the reservation row. Two reservations on one scope
therefore never both see room that only one of them fits into.

Money in counters is an integer count of 1e-8 USD, exact on both databases.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from typing import Any, Iterable

import sqlalchemy as sa

from governed_agents.ledger.schema import spend_caps, spend_reservations
from governed_agents.routing import _sql
from governed_agents.timeutil import utcnow

E8 = Decimal("0.00000001")
_SCALE = Decimal(100_000_000)

SCOPES = ("task", "workflow", "user", "tenant")
PERIODS = ("task", "day", "month")

#: budget name → (scope, period, envelope field, unit)
ENVELOPE_BUDGETS: dict[str, tuple[str, str, str, str]] = {
    "task_cost": ("task", "task", "hard_cost_cap_usd", "usd"),
    "task_tokens": ("task", "task", "max_tokens_per_task", "tokens"),
    "workflow_daily": ("workflow", "day", "workflow_daily_usd", "usd"),
    "workflow_monthly": ("workflow", "month", "workflow_monthly_usd", "usd"),
    "user_daily": ("user", "day", "user_daily_usd", "usd"),
    "tenant_monthly": ("tenant", "month", "tenant_monthly_usd", "usd"),
}

_BUDGET_WORDS = {
    "task_cost": "task cost cap",
    "task_tokens": "task token budget",
    "workflow_daily": "workflow daily budget",
    "workflow_monthly": "workflow monthly budget",
    "user_daily": "user daily budget",
    "user_monthly": "user monthly budget",
    "tenant_daily": "tenant daily budget",
    "tenant_monthly": "tenant monthly budget",
}


def to_e8(amount: Decimal | int | float | str, *, up: bool = False) -> int:
    """``amount`` USD as an integer count of 1e-8 USD (rounded up when ``up``)."""
    value = Decimal(str(amount)).quantize(E8, rounding=ROUND_CEILING if up else ROUND_HALF_EVEN)
    return int(value * _SCALE)


def from_e8(count: int) -> Decimal:
    return (Decimal(int(count)) / _SCALE).quantize(E8)


def budget_name(scope: str, period: str, unit: str = "usd") -> str:
    if scope == "task":
        return "task_tokens" if unit == "tokens" else "task_cost"
    return f"{scope}_{'daily' if period == 'day' else 'monthly'}"


def describe_budget(budget: str) -> str:
    return _BUDGET_WORDS.get(budget, budget.replace("_", " ") + " budget")


def period_key(period: str, at: _dt.datetime) -> str:
    at = at.astimezone(_dt.timezone.utc)
    if period == "day":
        return at.strftime("%Y-%m-%d")
    if period == "month":
        return at.strftime("%Y-%m")
    return "-"


def period_end(period: str, at: _dt.datetime) -> _dt.datetime | None:
    """When the period containing ``at`` ends (UTC); ``None`` for a task."""
    at = at.astimezone(_dt.timezone.utc)
    if period == "day":
        start = at.replace(hour=0, minute=0, second=0, microsecond=0)
        return start + _dt.timedelta(days=1)
    if period == "month":
        start = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return (start + _dt.timedelta(days=32)).replace(day=1)
    return None


@dataclass(frozen=True, slots=True)
class Scope:
    """One running total a call is counted against."""

    scope: str  # task | workflow | user | tenant
    name: str
    period: str  # task | day | month
    period_key: str

    @property
    def key(self) -> str:
        return f"{self.scope}:{self.period}:{self.period_key}:{self.name}"


def scopes_for(*, task_id: str, workflow: str, principal: str | None, tenant: str | None,
               at: _dt.datetime) -> list[Scope]:
    """The totals a call at ``at`` counts against, in key order (the lock order)."""
    out = [Scope("task", task_id, "task", "-")]
    for scope, name in (("workflow", workflow), ("user", principal), ("tenant", tenant)):
        if name:
            for period in ("day", "month"):
                out.append(Scope(scope, name, period, period_key(period, at)))
    return sorted(out, key=lambda s: s.key)


@dataclass(frozen=True, slots=True)
class Budget:
    """A capped total: the scope, its cap, and where the cap comes from."""

    budget: str  # task_cost | task_tokens | workflow_daily | … | tenant_monthly
    scope: Scope
    cap: Decimal | int  # USD, or tokens for task_tokens
    unit: str  # usd | tokens
    source: str  # "policies/x.yaml budgets.workflow_daily_usd" | "admin cap set by erin"

    @property
    def cap_e8(self) -> int:
        return to_e8(self.cap) if self.unit == "usd" else int(self.cap)

    def describe(self) -> str:
        """``workflow daily budget of invoice_reconcile (2026-03-01 UTC)``."""
        words = describe_budget(self.budget)
        if self.scope.scope == "task":
            return f"{words} of task {self.scope.name}"
        when = f" ({self.scope.period_key} UTC)" if self.scope.period in ("day", "month") else ""
        return f"{words} of {self.scope.scope} {self.scope.name}{when}"


@dataclass(frozen=True, slots=True)
class Usage:
    """What is committed against one total: settled spend plus open reservations."""

    reserved_e8: int = 0
    settled_e8: int = 0
    reserved_tokens: int = 0
    settled_tokens: int = 0
    calls: int = 0

    @property
    def committed_e8(self) -> int:
        return self.reserved_e8 + self.settled_e8

    @property
    def committed_tokens(self) -> int:
        return self.reserved_tokens + self.settled_tokens

    def committed(self, unit: str) -> int:
        return self.committed_tokens if unit == "tokens" else self.committed_e8


def budgets_for(envelope: Any, scopes: Iterable[Scope], admin_caps: Iterable[dict] = ()) -> list[Budget]:
    """The capped budgets among ``scopes``: from the envelope (``LoadedEnvelope``) and admin caps.

    For each (scope, period) the lowest cap wins; an admin cap with name ``*``
    applies to every name.
    """
    budgets_section = envelope.envelope.budgets
    source_file = getattr(envelope, "source", "the envelope")
    by_kind = {(s.scope, s.period): s for s in scopes}
    out: dict[str, Budget] = {}

    def offer(budget: Budget) -> None:
        current = out.get(budget.budget)
        if current is None or budget.cap_e8 < current.cap_e8:
            out[budget.budget] = budget

    for name, (scope, period, field, unit) in ENVELOPE_BUDGETS.items():
        target = by_kind.get((scope, period))
        cap = getattr(budgets_section, field)
        if target is None or cap is None:
            continue
        offer(Budget(name, target, cap, unit, f"{source_file} budgets.{field}"))
    for row in admin_caps:
        target = by_kind.get((row["scope"], row["period"]))
        if target is None or row["name"] not in ("*", target.name):
            continue
        offer(Budget(budget_name(row["scope"], row["period"]), target, from_e8(row["cap_usd_e8"]), "usd",
                     f"admin cap set by {row['set_by']}" + (f" for every {row['scope']}" if row["name"] == "*" else "")))
    order = list(ENVELOPE_BUDGETS) + ["user_monthly", "tenant_daily"]
    return sorted(out.values(), key=lambda b: order.index(b.budget) if b.budget in order else len(order))


# -- the database side -------------------------------------------------------------------------


def _lock_id(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big", signed=True)


def lock_scopes(conn: sa.Connection, keys: Iterable[str]) -> None:
    """Serialise writers per scope for the rest of the transaction (PostgreSQL; SQLite is already serial)."""
    if conn.dialect.name != "postgresql":
        return
    ids = sorted({_lock_id(k) for k in keys})
    # One round trip; the locks are taken in the order given (ascending: no deadlock between lockers).
    _sql.run(conn, "SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:ids AS bigint[])) AS k ORDER BY k",
             {"ids": ids})


# The hot statements run on the driver (see _sql); the same text on SQLite and PostgreSQL.
_UPSERT_HEAD = ("INSERT INTO spend_counters (scope_key, scope, name, period, period_key, reserved_usd_e8, "
                "settled_usd_e8, reserved_tokens, settled_tokens, calls, updated_at) VALUES ")
_UPSERT_TAIL = (
    " ON CONFLICT (scope_key) DO UPDATE SET "
    "reserved_usd_e8 = spend_counters.reserved_usd_e8 + excluded.reserved_usd_e8, "
    "reserved_tokens = spend_counters.reserved_tokens + excluded.reserved_tokens, "
    "updated_at = excluded.updated_at"
)
_upserts: dict[int, str] = {}


def _upsert(rows: int) -> str:
    """One multi-row upsert (one round trip on PostgreSQL) for ``rows`` totals."""
    sql = _upserts.get(rows)
    if sql is None:
        values = ", ".join(
            f"(:k{i}, :s{i}, :n{i}, :p{i}, :pk{i}, :usd, 0, :tokens, 0, 0, :at)" for i in range(rows)
        )
        sql = _upserts[rows] = _UPSERT_HEAD + values + _UPSERT_TAIL
    return sql


_READ_USAGE = ("SELECT scope_key, reserved_usd_e8, settled_usd_e8, reserved_tokens, settled_tokens, calls "
               "FROM spend_counters WHERE scope_key IN ")
_READ_CAPS = "SELECT scope, name, period, cap_usd_e8, set_by, reason FROM spend_caps WHERE name IN "
_MOVE = (
    "UPDATE spend_counters SET reserved_usd_e8 = reserved_usd_e8 - :d_reserved_e8, "
    "reserved_tokens = reserved_tokens - :d_reserved_tokens, settled_usd_e8 = settled_usd_e8 + :d_settled_e8, "
    "settled_tokens = settled_tokens + :d_settled_tokens, calls = calls + :d_calls, updated_at = :at "
    "WHERE scope_key IN "
)


# One round trip for everything a reservation reads: the totals, the admin caps and
# (for a cacheable call) the cache entry. Columns: kind, three texts, five integers.
_STATE_USAGE = ("SELECT 'u', scope_key, NULL, NULL, reserved_usd_e8, settled_usd_e8, reserved_tokens, settled_tokens, "
                "calls FROM spend_counters WHERE scope_key IN ")
_STATE_CAPS = ("SELECT 'c', scope, name, period, cap_usd_e8, CAST(NULL AS BIGINT), CAST(NULL AS BIGINT), "
               "CAST(NULL AS BIGINT), CAST(NULL AS BIGINT) FROM spend_caps WHERE name IN ")
_STATE_CACHE = ("SELECT 'h', response, model, alias, input_tokens, output_tokens, CAST(offline_model AS INTEGER), "
                "CAST(NULL AS BIGINT), CAST(NULL AS BIGINT) FROM model_cache WHERE key = :ck AND expires_at > :now")
_states: dict[tuple[int, int, bool], str] = {}


def read_state(conn: sa.Connection, scopes: list[Scope], *, cache_key: str | None = None,
               now: _dt.datetime | None = None) -> tuple[dict[str, Usage], list[dict], dict | None]:
    """(usage by scope key, admin caps, the cache entry or None) in one query."""
    keys = sorted(s.key for s in scopes)
    names = sorted({s.name for s in scopes if s.scope != "task"} | {"*"})
    shape = (len(keys), len(names), cache_key is not None)
    sql = _states.get(shape)
    if sql is None:
        sql = (_STATE_USAGE + _sql.in_list("k", len(keys)) + " UNION ALL " + _STATE_CAPS
               + _sql.in_list("n", len(names)) + (" UNION ALL " + _STATE_CACHE if cache_key is not None else ""))
        _states[shape] = sql
    params = {**_sql.in_params("k", keys), **_sql.in_params("n", names)}
    if cache_key is not None:
        params.update(ck=cache_key, now=now)
    usage: dict[str, Usage] = {}
    caps: list[dict] = []
    hit = None
    for row in _sql.run(conn, sql, params).fetchall():
        if row[0] == "u":
            usage[row[1]] = Usage(int(row[4]), int(row[5]), int(row[6]), int(row[7]), int(row[8]))
        elif row[0] == "c":
            caps.append({"scope": row[1], "name": row[2], "period": row[3], "cap_usd_e8": int(row[4]),
                         "set_by": None})
        else:
            import json

            hit = {"response": json.loads(row[1]), "model": row[2], "alias": row[3], "input_tokens": int(row[4]),
                   "output_tokens": int(row[5]), "offline_model": bool(row[6])}
    if caps:
        # Who set a cap is only needed for a message: read it when a cap applies at all.
        by = {(r[0], r[1], r[2]): r[3] for r in _sql.run(
            conn, "SELECT scope, name, period, set_by FROM spend_caps WHERE name IN " + _sql.in_list("n", len(names)),
            _sql.in_params("n", names)).fetchall()}
        for cap in caps:
            cap["set_by"] = by.get((cap["scope"], cap["name"], cap["period"]))
    return usage, caps, hit


def read_usage(conn: sa.Connection, keys: Iterable[str]) -> dict[str, Usage]:
    keys = sorted(keys)
    cursor = _sql.run(conn, _READ_USAGE + _sql.in_list("k", len(keys)), _sql.in_params("k", keys))
    return {row[0]: Usage(int(row[1]), int(row[2]), int(row[3]), int(row[4]), int(row[5]))
            for row in cursor.fetchall()}


def read_admin_caps(conn: sa.Connection, scopes: Iterable[Scope]) -> list[dict]:
    names = sorted({s.name for s in scopes if s.scope != "task"} | {"*"})
    cursor = _sql.run(conn, _READ_CAPS + _sql.in_list("n", len(names)), _sql.in_params("n", names))
    columns = ("scope", "name", "period", "cap_usd_e8", "set_by", "reason")
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def _insert(conn: sa.Connection):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def reserved_piece(scopes: list[Scope], usd_e8: int, tokens: int, now: _dt.datetime) -> tuple[str, dict]:
    """The statement that adds a reservation to every total (creating missing totals), in key order."""
    ordered = sorted(scopes, key=lambda s: s.key)
    params: dict[str, Any] = {"usd": usd_e8, "tokens": tokens, "at": now}
    for i, s in enumerate(ordered):
        params.update({f"k{i}": s.key, f"s{i}": s.scope, f"n{i}": s.name, f"p{i}": s.period, f"pk{i}": s.period_key})
    return _upsert(len(ordered)), params


def add_reserved(conn: sa.Connection, scopes: list[Scope], usd_e8: int, tokens: int, now: _dt.datetime) -> None:
    """Add a reservation to every total (creating the totals that do not exist yet), in key order."""
    _sql.run(conn, *reserved_piece(scopes, usd_e8, tokens, now))


def moved_piece(keys: list[str], *, reserved_e8: int, reserved_tokens: int, settled_e8: int, settled_tokens: int,
                calls: int, now: _dt.datetime, only_if_reserved: str | None = None) -> tuple[str, dict]:
    """The statement that takes a reservation off every total and adds what it settled at.

    ``only_if_reserved``: a reservation id; the totals move only while that
    reservation is still ``reserved`` (as the statement sees it), so a
    reservation closed meanwhile (expired by the sweeper) is never counted twice.
    """
    keys = sorted(keys)
    sql = _MOVE + _sql.in_list("k", len(keys))
    params = {"d_reserved_e8": reserved_e8, "d_reserved_tokens": reserved_tokens, "d_settled_e8": settled_e8,
              "d_settled_tokens": settled_tokens, "d_calls": calls, "at": now, **_sql.in_params("k", keys)}
    if only_if_reserved is not None:
        sql += " AND EXISTS (SELECT 1 FROM spend_reservations WHERE id = :rid AND status = 'reserved')"
        params["rid"] = only_if_reserved
    return sql, params


def move_reserved(conn: sa.Connection, keys: list[str], *, reserved_e8: int, reserved_tokens: int,
                  settled_e8: int, settled_tokens: int, calls: int, now: _dt.datetime) -> None:
    """Take a reservation off every total and add what it settled at (0 when released)."""
    _sql.run(conn, *moved_piece(keys, reserved_e8=reserved_e8, reserved_tokens=reserved_tokens,
                                settled_e8=settled_e8, settled_tokens=settled_tokens, calls=calls, now=now))


def reservation_scopes(row: dict) -> list[Scope]:
    """The totals a stored reservation was counted against (from its own created_at)."""
    created = row["created_at"]
    if created.tzinfo is None:
        created = created.replace(tzinfo=_dt.timezone.utc)
    return scopes_for(task_id=row["task_id"], workflow=row["workflow"], principal=row["principal"],
                      tenant=row["tenant"], at=created)


def expire_stale_reservations(ledger: Any, *, older_than: _dt.timedelta = _dt.timedelta(hours=1),
                              now: _dt.datetime | None = None) -> list[str]:
    """Close reservations left open by a crashed process, counting them as spent at their estimate.

    A process that dies between reserving and settling leaves its reservation
    ``reserved``; whether the provider charged is unknown, so the estimate is
    kept as spend (fail closed) and the row becomes ``expired``, with one
    ``model.reservation_expired`` audit event each. Returns their ids.
    """
    now = now or utcnow()
    cutoff = now - older_than
    done: list[str] = []
    with ledger.transaction() as conn:
        c = spend_reservations.c
        rows = conn.execute(
            sa.select(spend_reservations).where(c.status == "reserved", c.created_at < cutoff).order_by(c.created_at)
        ).mappings().all()
        scopes_by_id = {row["id"]: reservation_scopes(dict(row)) for row in rows}
        # Every lock up front, in key order, like a reservation takes them.
        lock_scopes(conn, [s.key for scopes in scopes_by_id.values() for s in scopes])
        for row in rows:
            scopes = scopes_by_id[row["id"]]
            est_e8 = to_e8(row["estimated_usd"], up=True)
            updated = conn.execute(
                sa.update(spend_reservations)
                .where(c.id == row["id"], c.status == "reserved")
                .values(status="expired", actual_usd=row["estimated_usd"], actual_tokens=row["estimated_tokens"],
                        settled_at=now)
            ).rowcount
            if not updated:
                continue
            move_reserved(conn, [s.key for s in scopes], reserved_e8=est_e8, reserved_tokens=row["estimated_tokens"],
                          settled_e8=est_e8, settled_tokens=row["estimated_tokens"], calls=0, now=now)
            ledger.append("model.reservation_expired",
                          {"reservation_id": row["id"], "task_id": row["task_id"], "model": row["model"],
                           "estimated_usd": str(row["estimated_usd"]), "reserved_at": row["created_at"]},
                          workflow=row["workflow"], trace_id=row["trace_id"], conn=conn)
            done.append(row["id"])
    return done


# -- admin caps --------------------------------------------------------------------------------


def set_spend_cap(ledger: Any, *, scope: str, name: str, period: str, usd: Decimal | str | float,
                  set_by: str, reason: str | None = None, now: _dt.datetime | None = None) -> dict:
    """Set (or replace) an admin spend cap, with a ``spend.cap_set`` audit event.

    ``set_by`` must be an identity the caller has verified (a token's principal);
    this function does not check authority.
    """
    from governed_agents.errors import UsageError

    if scope not in ("workflow", "user", "tenant"):
        raise UsageError(f"spend caps apply to a workflow, user or tenant, not {scope!r}")
    if period not in ("day", "month"):
        raise UsageError(f"a spend cap is per day or per month, not {period!r}")
    amount = Decimal(str(usd))
    if not amount.is_finite() or amount <= 0:
        raise UsageError(f"a spend cap must be a positive amount of USD, got {usd!r}")
    now = now or utcnow()
    row = {"scope": scope, "name": name, "period": period, "cap_usd_e8": to_e8(amount), "set_by": set_by,
           "reason": reason, "set_at": now}
    with ledger.transaction() as conn:
        insert = _insert(conn)
        stmt = insert(spend_caps).values(row)
        stmt = stmt.on_conflict_do_update(
            index_elements=[spend_caps.c.scope, spend_caps.c.name, spend_caps.c.period],
            set_={k: stmt.excluded[k] for k in ("cap_usd_e8", "set_by", "reason", "set_at")},
        )
        conn.execute(stmt)
        ledger.append("spend.cap_set", {"scope": scope, "name": name, "period": period, "cap_usd": str(amount),
                                        "reason": reason}, actor=set_by,
                      workflow=name if scope == "workflow" and name != "*" else None, conn=conn)
    return row


def remove_spend_cap(ledger: Any, *, scope: str, name: str, period: str, removed_by: str) -> bool:
    """Remove an admin spend cap (the envelope's caps still apply); audit event ``spend.cap_removed``."""
    with ledger.transaction() as conn:
        c = spend_caps.c
        gone = conn.execute(
            sa.delete(spend_caps).where(c.scope == scope, c.name == name, c.period == period)
        ).rowcount
        if gone:
            ledger.append("spend.cap_removed", {"scope": scope, "name": name, "period": period},
                          actor=removed_by, conn=conn)
    return bool(gone)


def list_spend_caps(ledger: Any) -> list[dict]:
    with ledger.engine.connect() as conn:
        rows = conn.execute(sa.select(spend_caps).order_by(spend_caps.c.scope, spend_caps.c.name,
                                                           spend_caps.c.period)).mappings()
        return [{**dict(r), "cap_usd": from_e8(r["cap_usd_e8"])} for r in rows]


__all__ = [
    "Budget",
    "ENVELOPE_BUDGETS",
    "Scope",
    "Usage",
    "budgets_for",
    "describe_budget",
    "expire_stale_reservations",
    "from_e8",
    "list_spend_caps",
    "period_end",
    "period_key",
    "remove_spend_cap",
    "scopes_for",
    "set_spend_cap",
    "to_e8",
]

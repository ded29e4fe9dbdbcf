"""Autonomous write bounds: when a write may run without approval, counted from recorded writes.

An envelope under pattern ``autonomous_bounded`` (or ``continuous``) may list
``permissions.autonomous_writes``: a write tool, the limits it must stay within
(``max`` writes per ``window`` — day, run or task — optionally per value of an
input field such as ``employee_id``) and an amount above which it needs an
approval. Inside every bound the gate allows the write (reason ``within_bounds``);
past any, it asks for an approval through the normal path (``bound_exceeded``,
``bound_amount``); never a silent drop.

Three parts, kept apart as the gate requires:

- ``scopes`` (pure): the bounds a call counts against, as scope keys;
- ``snapshot`` (reads the ledger): how many writes each scope has recorded, handed
  to the gate in ``GateState.bounds``;
- ``reserve`` / ``release`` (writes the ledger, called by the executor): under a
  lock per scope (``pg_advisory_xact_lock`` on PostgreSQL, ``BEGIN IMMEDIATE`` on
  SQLite) the counts are read again and a row per scope is inserted in the same
  transaction as the write's idempotency key. Two runs at once therefore cannot
  both take the last slot: the second finds the bound reached and its write
  becomes an approval request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select, text

from governed_agents.envelope.model import BOUNDED_PATTERNS
from governed_agents.ledger.schema import bounded_writes


@dataclass(frozen=True, slots=True)
class Scope:
    """One bound a write counts against: ``used`` of ``max`` writes recorded in its window."""

    key: str
    label: str
    max: int
    used: int = 0


@dataclass(frozen=True, slots=True)
class BoundsSnapshot:
    """What the gate needs to decide a bounded write: the tool, its scopes with counts, problems."""

    tool: str
    scopes: tuple[Scope, ...]
    problems: tuple[str, ...] = ()


def rule_for(envelope, tool: str):
    """The envelope's ``autonomous_writes`` entry for ``tool`` (None when it has none or the pattern
    does not allow autonomous writes)."""
    env = envelope.envelope
    if env.pattern not in BOUNDED_PATTERNS:
        return None
    for rule in env.permissions.autonomous_writes:
        if rule.tool == tool:
            return rule
    return None


def scopes(rule, validated: Any, *, workflow: str, run_id: str | None, task_id: str,
           now: dt.datetime) -> tuple[list[Scope], list[str]]:
    """The scope keys of one call (pure). A ``per`` field the input lacks is a problem, not a guess."""
    out: list[Scope] = []
    problems: list[str] = []
    for limit in rule.limits:
        window = {"day": f"day:{now.astimezone(dt.timezone.utc).date().isoformat()}",
                  "run": f"run:{run_id or task_id}", "task": f"task:{task_id}"}[limit.window]
        per = "*"
        if limit.per is not None:
            value = getattr(validated, limit.per, None)
            if value is None:
                problems.append(f"{rule.tool} input has no field {limit.per!r} to count a bound per")
                continue
            per = f"{limit.per}={value}"
        label = f"{limit.max} per {limit.window}" + (f" per {limit.per} ({per.split('=', 1)[1]})" if limit.per else "")
        out.append(Scope(key=f"{workflow}|{rule.tool}|{window}|{per}"[:400], label=label, max=limit.max))
    return out, problems


def amount_over(rule, validated: Any) -> str | None:
    """Why the call's amount needs an approval, or None (pure)."""
    threshold = rule.approval_above
    if threshold is None:
        return None
    raw = getattr(validated, threshold.field, None)
    try:
        amount = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        return f"{rule.tool} input field {threshold.field!r} is not an amount ({raw!r}): a person decides"
    if amount > threshold.value:
        return f"{threshold.field} {amount} is above {threshold.value}: this write needs an approval"
    return None


def snapshot(ledger, envelope, spec, arguments: dict, *, run_id: str | None, task_id: str,
             now: dt.datetime) -> BoundsSnapshot | None:
    """Counts for a write of ``spec`` with ``arguments`` (None: the tool has no bounds here)."""
    rule = rule_for(envelope, spec.name)
    if rule is None:
        return None
    try:
        validated = spec.input_model.model_validate(arguments)
    except Exception:
        return None  # the gate reports the schema errors
    found, problems = scopes(rule, validated, workflow=envelope.envelope.workflow, run_id=run_id,
                             task_id=task_id, now=now)
    with ledger.engine.connect() as c:
        used = _counts(c, [s.key for s in found])
    return BoundsSnapshot(spec.name, tuple(Scope(s.key, s.label, s.max, used.get(s.key, 0)) for s in found),
                          tuple(problems))


def reserve(ledger, conn, envelope, spec, validated: Any, *, run_id: str | None, task_id: str,
            now: dt.datetime, idempotency_key: str, enforce: bool) -> list[Scope]:
    """Record the write against its bounds in ``conn``'s transaction.

    With ``enforce`` (an autonomous write) the scopes are locked and counted again
    first; the scopes already full are returned and nothing is inserted. Without
    (a write that runs on an approval) the rows are inserted regardless: it counts.
    """
    rule = rule_for(envelope, spec.name)
    if rule is None:
        return []
    found, _ = scopes(rule, validated, workflow=envelope.envelope.workflow, run_id=run_id, task_id=task_id, now=now)
    if not found:
        return []
    if enforce:
        if ledger.dialect == "postgresql":
            ids = sorted({_lock_id(s.key) for s in found})
            conn.execute(text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:ids AS bigint[])) AS k ORDER BY k"),
                         {"ids": ids})
        used = _counts(conn, [s.key for s in found])
        full = [Scope(s.key, s.label, s.max, used.get(s.key, 0)) for s in found if used.get(s.key, 0) >= s.max]
        if full:
            return full
    conn.execute(bounded_writes.insert(), [
        {"id": str(uuid.uuid4()), "scope_key": s.key, "workflow": envelope.envelope.workflow, "tool": spec.name,
         "idempotency_key": idempotency_key, "approved": not enforce, "created_at": now}
        for s in found])
    return []


def release(conn, idempotency_key: str) -> None:
    """Forget the bound rows of a write that did not run (refused before the system of record)."""
    conn.execute(bounded_writes.delete().where(bounded_writes.c.idempotency_key == idempotency_key))


def overruns(ledger, envelope) -> list[dict]:
    """Scopes of ``envelope``'s workflow holding more autonomous writes than their limit
    (for a check: there should never be any; approved writes past a bound do not count here)."""
    limits = {(rule.tool, limit.window, limit.per or "*"): limit.max
              for rule in envelope.envelope.permissions.autonomous_writes for limit in rule.limits}
    with ledger.engine.connect() as c:
        rows = c.execute(select(bounded_writes.c.scope_key, bounded_writes.c.tool, func.count()).where(
            bounded_writes.c.workflow == envelope.envelope.workflow, bounded_writes.c.approved.is_(False))
            .group_by(bounded_writes.c.scope_key, bounded_writes.c.tool))
        found = [tuple(r) for r in rows]
    out = []
    for key, tool, n in found:
        parts = key.split("|")
        if len(parts) != 4:
            continue
        window, per = parts[2].split(":", 1)[0], parts[3].split("=", 1)[0]
        limit = limits.get((tool, window, per))
        if limit is not None and n > limit:
            out.append({"scope": key, "autonomous_writes": int(n), "max": limit})
    return out


def _counts(conn, keys: list[str]) -> dict[str, int]:
    if not keys:
        return {}
    rows = conn.execute(select(bounded_writes.c.scope_key, func.count()).where(
        bounded_writes.c.scope_key.in_(keys)).group_by(bounded_writes.c.scope_key))
    return {k: int(n) for k, n in rows}


def _lock_id(key: str) -> int:
    return int.from_bytes(hashlib.sha256(b"bounds:" + key.encode()).digest()[:8], "big", signed=True)


__all__ = ["BoundsSnapshot", "Scope", "amount_over", "overruns", "release", "reserve", "rule_for", "scopes",
           "snapshot"]

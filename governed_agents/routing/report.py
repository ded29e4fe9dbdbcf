"""Spend figures: the report, cap status, one task's spend, and task outcomes.

Plain functions of the ledger, for the CLI (``governed-agents spend report``), the
Dagster asset and its checks, and receipts:

- ``spend_report(ledger, since=, until=, workflow=)``: cost and calls by workflow,
  user, tenant and model; cache hits; offline stand-in spend labelled; cost per
  *completed* task (all spend, failed tasks included, over the tasks that completed);
- ``caps_status(ledger, envelope)`` / ``caps_exceeded(ledger, envelope)``: every cap
  that applies to a workflow against what is committed now;
- ``task_spend(ledger, task_id)``: one task's model spend, for its receipt;
- ``record_task_outcome(ledger, task, outcome)``: how a task ended.
"""

from __future__ import annotations

import datetime as _dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from governed_agents.ledger.schema import spend_counters, spend_reservations, task_outcomes
from governed_agents.routing.budget import (
    budgets_for,
    describe_budget,
    from_e8,
    period_key,
    to_e8,
)
from governed_agents.timeutil import as_utc, utcnow

OUTCOMES = ("completed", "failed", "refused", "stopped")
OFFLINE_NOTE = ("offline stand-in: these calls were answered by the deterministic offline model; "
                "the amounts are its catalog prices, no provider charged them")


def _as_datetime(value: _dt.date | _dt.datetime | str | None, *, end: bool = False) -> _dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = _dt.datetime.fromisoformat(value) if "T" in value or " " in value else _dt.date.fromisoformat(value)
    if isinstance(value, _dt.datetime):
        return as_utc(value)
    start = _dt.datetime(value.year, value.month, value.day, tzinfo=_dt.timezone.utc)
    return start + _dt.timedelta(days=1) if end else start


def _money(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.00000001")).normalize(), "f") if value else "0"


class _Group:
    __slots__ = ("cost", "calls", "cache_hits", "tokens", "tasks", "offline_calls", "offline_cost", "failed")

    def __init__(self) -> None:
        self.cost = Decimal(0)
        self.calls = 0
        self.cache_hits = 0
        self.tokens = 0
        self.tasks: set[str] = set()
        self.offline_calls = 0
        self.offline_cost = Decimal(0)
        self.failed = 0

    def add(self, row: dict, cost: Decimal) -> None:
        self.tasks.add(row["task_id"])
        if row["status"] == "released":
            self.failed += 1
            return
        self.cost += cost
        self.calls += 1
        self.tokens += int(row["actual_tokens"] or 0)
        if row["cache_hit"]:
            self.cache_hits += 1
        if row["offline_model"]:
            self.offline_calls += 1
            self.offline_cost += cost

    def to_dict(self, completed: set[str]) -> dict:
        done = len(self.tasks & completed)
        return {
            "cost_usd": _money(self.cost),
            "calls": self.calls,
            "model_calls": self.calls - self.cache_hits,
            "cache_hits": self.cache_hits,
            "failed_calls": self.failed,
            "tokens": self.tokens,
            "tasks": len(self.tasks),
            "completed_tasks": done,
            "cost_per_completed_task_usd": _money(self.cost / done) if done else None,
            "offline_calls": self.offline_calls,
            "offline_cost_usd": _money(self.offline_cost),
        }


def spend_report(ledger: Any, *, since: _dt.date | _dt.datetime | str | None = None,
                 until: _dt.date | _dt.datetime | str | None = None, workflow: str | None = None,
                 now: _dt.datetime | None = None) -> dict:
    """Model spend in ``[since, until)`` (dates are whole UTC days; ``until`` inclusive for a date).

    Spent = settled calls (cache hits at 0) plus expired reservations at their
    estimate; released reservations (failed attempts) cost nothing and are
    counted as ``failed_calls``; open reservations are listed apart. Completed
    tasks are those recorded (``record_task_outcome``) as completed in the
    window, with or without model calls; cost per completed task is all spend
    in the window (failed and unfinished tasks included) over them.
    """
    start = _as_datetime(since)
    end = _as_datetime(until, end=True)
    c = spend_reservations.c
    stmt = sa.select(
        c.task_id, c.workflow, c.principal, c.tenant, c.model, c.alias, c.tier, c.status, c.actual_usd,
        c.estimated_usd, c.actual_tokens, c.cache_hit, c.offline_model, c.downgrade, c.created_at,
    )
    if start is not None:
        stmt = stmt.where(c.created_at >= start)
    if end is not None:
        stmt = stmt.where(c.created_at < end)
    if workflow:
        stmt = stmt.where(c.workflow == workflow)
    total = _Group()
    groups: dict[str, dict[Any, _Group]] = {k: defaultdict(_Group) for k in ("workflow", "user", "tenant", "model")}
    model_meta: dict[Any, dict] = {}
    open_count, open_usd = 0, Decimal(0)
    downgrades: dict[str, int] = defaultdict(int)
    with ledger.engine.connect() as conn:
        for row in conn.execute(stmt).mappings():
            row = dict(row)
            if row["status"] == "reserved":
                open_count += 1
                open_usd += Decimal(row["estimated_usd"] or 0)
                continue
            cost = Decimal(row["actual_usd"] if row["actual_usd"] is not None else row["estimated_usd"] or 0)
            total.add(row, cost)
            groups["workflow"][row["workflow"]].add(row, cost)
            groups["user"][row["principal"] or "-"].add(row, cost)
            groups["tenant"][row["tenant"] or "-"].add(row, cost)
            model_key = (row["model"] or "-", row["alias"] or "-")
            groups["model"][model_key].add(row, cost)
            model_meta[model_key] = {"model": model_key[0], "alias": model_key[1],
                                     "offline_model": bool(row["offline_model"])}
            for step in (row["downgrade"] or "").split(","):
                if step and row["status"] != "released":
                    downgrades[step] += 1
        # Completed tasks: every task that finished as completed in the window, with or
        # without model spend (a task settled by rules alone completed at $0).
        o = task_outcomes.c
        finished = sa.select(o.task_id, o.workflow, o.principal, o.tenant).where(o.outcome == "completed")
        if start is not None:
            finished = finished.where(o.finished_at >= start)
        if end is not None:
            finished = finished.where(o.finished_at < end)
        if workflow:
            finished = finished.where(o.workflow == workflow)
        completed: set[str] = set()
        for task_id, task_workflow, principal, tenant in conn.execute(finished):
            completed.add(task_id)
            total.tasks.add(task_id)
            groups["workflow"][task_workflow].tasks.add(task_id)
            groups["user"][principal or "-"].tasks.add(task_id)
            groups["tenant"][tenant or "-"].tasks.add(task_id)

    def rows(kind: str, label: str) -> list[dict]:
        out = []
        for key, group in groups[kind].items():
            entry = {label: key} if kind != "model" else dict(model_meta[key])
            if kind == "model" and entry["offline_model"]:
                entry["label"] = "offline stand-in"
            entry.update(group.to_dict(completed))
            out.append(entry)
        return sorted(out, key=lambda e: (-Decimal(e["cost_usd"]), str(e.get(label, e.get("model")))))

    totals = total.to_dict(completed)
    totals["cache_hit_rate"] = round(total.cache_hits / total.calls, 4) if total.calls else 0.0
    totals["open_reservations"] = open_count
    totals["open_reserved_usd"] = _money(open_usd)
    report = {
        "currency": "USD",
        "since": start,
        "until": end,
        "workflow": workflow,
        "generated_at": now or utcnow(),
        "totals": totals,
        "by_workflow": rows("workflow", "workflow"),
        "by_user": rows("user", "user"),
        "by_tenant": rows("tenant", "tenant"),
        "by_model": rows("model", "model"),
        "downgrades": dict(sorted(downgrades.items())),
        "offline_model_used": total.offline_calls > 0,
    }
    if total.offline_calls:
        report["offline_note"] = OFFLINE_NOTE
    return report


# -- caps ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CapStatus:
    """One cap that applies to a workflow, against what is committed in the current period."""

    budget: str  # workflow_daily | workflow_monthly | user_daily | tenant_monthly | (admin) user_monthly …
    scope: str
    name: str
    period: str  # 2026-03-01 | 2026-03
    cap_usd: Decimal
    spent_usd: Decimal  # settled + reserved
    settled_usd: Decimal
    reserved_usd: Decimal
    source: str

    @property
    def fraction(self) -> float:
        return float(self.spent_usd / self.cap_usd) if self.cap_usd > 0 else 1.0

    @property
    def exhausted(self) -> bool:
        """At the cap: the next call that costs anything is refused."""
        return self.spent_usd >= self.cap_usd

    @property
    def exceeded(self) -> bool:
        """Past the cap: should never happen (a settlement above its estimate, or a cap lowered below spend)."""
        return self.spent_usd > self.cap_usd

    def describe(self) -> str:
        return (f"{describe_budget(self.budget)} of {self.scope} {self.name} ({self.period}): "
                f"{self.spent_usd} of {self.cap_usd} USD ({self.fraction:.0%})")

    def to_dict(self) -> dict:
        return {
            "budget": self.budget, "scope": self.scope, "name": self.name, "period": self.period,
            "cap_usd": str(self.cap_usd), "spent_usd": _money(self.spent_usd), "settled_usd": _money(self.settled_usd),
            "reserved_usd": _money(self.reserved_usd), "fraction": round(self.fraction, 4),
            "exhausted": self.exhausted, "exceeded": self.exceeded, "source": self.source,
        }


def caps_status(ledger: Any, envelope: Any, *, now: _dt.datetime | None = None) -> list[CapStatus]:
    """Every workflow/user/tenant cap of ``envelope`` (and admin caps) against the current day and month.

    User and tenant caps are checked for every user and tenant with spend in
    the period (they cap spend across workflows).
    """
    from governed_agents.ledger.schema import spend_caps
    from governed_agents.routing.budget import Scope

    now = now or utcnow()
    workflow = envelope.envelope.workflow
    day, month = period_key("day", now), period_key("month", now)
    c = spend_counters.c
    with ledger.engine.connect() as conn:
        rows = conn.execute(
            sa.select(spend_counters).where(
                sa.or_(
                    sa.and_(c.scope == "workflow", c.name == workflow),
                    c.scope.in_(["user", "tenant"]),
                ),
                c.period_key.in_([day, month]),
            )
        ).mappings().all()
        admin = [dict(r) for r in conn.execute(sa.select(spend_caps)).mappings()]
    counters = {r["scope_key"]: r for r in rows}
    scopes = [Scope("workflow", workflow, p, period_key(p, now)) for p in ("day", "month")]
    scopes += [Scope(r["scope"], r["name"], r["period"], r["period_key"]) for r in rows if r["scope"] != "workflow"]
    out: list[CapStatus] = []
    seen: set[tuple[str, str]] = set()
    # budgets_for picks the lowest cap per budget kind among the scopes it is given, so ask per name.
    by_name: dict[tuple[str, str], list[Scope]] = defaultdict(list)
    for scope in scopes:
        by_name[(scope.scope, scope.name)].append(scope)
    for (_kind, _name), group in sorted(by_name.items()):
        for budget in budgets_for(envelope, group, admin):
            if budget.unit != "usd" or (budget.budget, budget.scope.key) in seen:
                continue
            seen.add((budget.budget, budget.scope.key))
            row = counters.get(budget.scope.key)
            reserved = from_e8(row["reserved_usd_e8"]) if row else Decimal(0)
            settled = from_e8(row["settled_usd_e8"]) if row else Decimal(0)
            out.append(CapStatus(budget.budget, budget.scope.scope, budget.scope.name, budget.scope.period_key,
                                 from_e8(to_e8(budget.cap)), reserved + settled, settled, reserved, budget.source))
    return sorted(out, key=lambda s: (-s.fraction, s.budget, s.name))


def caps_exceeded(ledger: Any, envelope: Any, *, now: _dt.datetime | None = None) -> list[CapStatus]:
    """The caps of ``envelope`` whose committed spend is past the cap (the asset check fails on any)."""
    return [status for status in caps_status(ledger, envelope, now=now) if status.exceeded]


# -- one task -----------------------------------------------------------------------------------


def task_spend(ledger: Any, task_id: str, *, conn: sa.Connection | None = None) -> dict:
    """One task's model spend, as a receipt shows it: cost, tokens, calls, cache hits, models, downgrades."""
    c = spend_reservations.c
    stmt = sa.select(c.status, c.actual_usd, c.estimated_usd, c.actual_tokens, c.model, c.alias, c.tier,
                     c.cache_hit, c.offline_model, c.downgrade).where(c.task_id == task_id).order_by(c.created_at)

    def read(connection: sa.Connection) -> list[dict]:
        return [dict(r) for r in connection.execute(stmt).mappings()]

    if conn is not None:
        rows = read(conn)
    else:
        with ledger.engine.connect() as own:
            rows = read(own)
    spent = [r for r in rows if r["status"] in ("settled", "expired")]
    cost = sum((Decimal(r["actual_usd"] if r["actual_usd"] is not None else r["estimated_usd"]) for r in spent),
               Decimal(0))
    steps = sorted({s for r in spent for s in (r["downgrade"] or "").split(",") if s})
    return {
        "task_id": task_id,
        "cost_usd": _money(cost),
        "tokens": sum(int(r["actual_tokens"] or 0) for r in spent),
        "model_calls": sum(1 for r in spent if not r["cache_hit"]),
        "cache_hits": sum(1 for r in spent if r["cache_hit"]),
        "failed_calls": sum(1 for r in rows if r["status"] == "released"),
        "open_reservations": sum(1 for r in rows if r["status"] == "reserved"),
        "models": sorted({r["model"] for r in spent if r["model"]}),
        "offline_model": any(r["offline_model"] for r in spent),
        "downgrades": steps,
    }


def record_task_outcome(ledger: Any, task: Any, outcome: str, *, detail: str | None = None,
                        conn: sa.Connection | None = None, now: _dt.datetime | None = None) -> None:
    """Record how ``task`` (a ``TaskContext``) ended; the spend report's cost per completed task uses it."""
    if outcome not in OUTCOMES:
        from governed_agents.errors import UsageError

        raise UsageError(f"task outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    now = now or utcnow()
    values = {"task_id": task.task_id, "workflow": task.workflow, "principal": task.requested_by,
              "tenant": task.tenant, "trace_id": task.trace_id, "run_id": task.run_id, "outcome": outcome,
              "detail": detail, "finished_at": now}

    def write(connection: sa.Connection) -> None:
        updated = connection.execute(
            sa.update(task_outcomes).where(task_outcomes.c.task_id == task.task_id)
            .values(outcome=outcome, detail=detail, finished_at=now)
        ).rowcount
        if not updated:
            connection.execute(task_outcomes.insert().values(**values))

    if conn is not None:
        write(conn)
    else:
        with ledger.transaction() as own:
            write(own)


__all__ = [
    "OFFLINE_NOTE",
    "OUTCOMES",
    "CapStatus",
    "caps_exceeded",
    "caps_status",
    "record_task_outcome",
    "spend_report",
    "task_spend",
]

"""The brief's operational metrics, computed from the ledger per workflow.

- **cost per completed task**: model spend over tasks recorded as completed
  (``routing.report.spend_report``: failed and unfinished tasks' spend counts
  against the completed ones);
- **time to correct**: seconds from a write to its correction, from the
  ``write.reversed`` events the undo path records (``seconds_to_correct``);
- **approval latency**: seconds from an approval request to its decision
  (``decided_at - created_at``), over decided requests; pending ones are counted;
- **blast radius**: the records and money one approval or one autonomous step
  touched at most — one approval covers a batch (requests sharing ``batch_id``,
  approved together) or a single request, money read from each preview's
  ``after.amount`` / ``after.currency``; one autonomous step is one run's writes
  executed without approval, read from their receipts — beside the envelope's
  declared ``permissions.bounds`` and ``permissions.autonomous_writes`` limits
  (what a step *may* touch).

Percentiles are nearest-rank (p50 of 10, 20, 30, 40 is 20; p90 is 40): every
figure is a value that was observed, which makes seeded tests exact.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import defaultdict
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable

from sqlalchemy import select

from governed_agents.ledger.schema import approval_requests, audit_events, receipts
from governed_agents.timeutil import as_utc, utcnow


def percentile(values: Iterable[float], pct: float) -> float | None:
    """Nearest-rank percentile; ``None`` for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)


def _money(after: Any) -> tuple[str, Decimal] | None:
    if not isinstance(after, dict) or "amount" not in after:
        return None
    try:
        return str(after.get("currency") or "-"), Decimal(str(after["amount"]))
    except (InvalidOperation, ValueError):
        return None


def _radius(groups: dict[Any, list[Any]]) -> dict:
    """Largest group by records, and the largest amount per currency any one group touched."""
    max_records, max_money = 0, {}
    for afters in groups.values():
        max_records = max(max_records, len(afters))
        totals: dict[str, Decimal] = defaultdict(Decimal)
        for after in afters:
            money = _money(after)
            if money is not None:
                totals[money[0]] += money[1]
        for currency, total in totals.items():
            if total > max_money.get(currency, Decimal(0)):
                max_money[currency] = total
    return {"groups": len(groups), "max_records": max_records,
            "max_money": {k: str(v) for k, v in sorted(max_money.items())}}


def _window(stmt, column, since, until):
    if since is not None:
        stmt = stmt.where(column >= since)
    if until is not None:
        stmt = stmt.where(column < until)
    return stmt


def operational_metrics(ledger, workflow: str | None = None, *, since: dt.datetime | None = None,
                        until: dt.datetime | None = None, bounds: dict[str, dict] | None = None,
                        now: dt.datetime | None = None) -> dict:
    """Every metric for ``workflow`` (or every workflow the ledger knows) in ``[since, until)``.

    ``bounds`` maps workflow → the envelope's declared ``permissions.bounds``;
    when omitted they are read from each workflow's envelope if it loads.
    """
    from governed_agents.routing.report import spend_report

    per: dict[str, dict] = defaultdict(lambda: {
        "corrections": [], "latencies": [], "pending": 0, "approval_groups": defaultdict(list),
        "step_groups": defaultdict(list)})

    report = spend_report(ledger, since=since, until=until, workflow=workflow)
    costs = {row["workflow"]: row for row in report["by_workflow"]}

    with ledger.engine.connect() as c:
        r = approval_requests.c
        stmt = _window(select(r.id, r.workflow, r.batch_id, r.status, r.preview, r.created_at, r.decided_at),
                       r.created_at, since, until)
        if workflow:
            stmt = stmt.where(r.workflow == workflow)
        for row in c.execute(stmt):
            m = per[row.workflow]
            if row.decided_at is not None and row.status in ("approved", "rejected", "executed"):
                m["latencies"].append((as_utc(row.decided_at) - as_utc(row.created_at)).total_seconds())
            elif row.status == "pending":
                m["pending"] += 1
            try:
                after = json.loads(row.preview).get("after")
            except (ValueError, AttributeError):
                after = None
            m["approval_groups"][row.batch_id or row.id].append(after)

        t = receipts.c
        stmt = _window(select(t.id, t.workflow, t.run_id, t.trace_id, t.body, t.created_at)
                       .where(t.kind == "write_executed", t.approval_request_id.is_(None)), t.created_at, since, until)
        if workflow:
            stmt = stmt.where(t.workflow == workflow)
        for row in c.execute(stmt):
            body = json.loads(row.body)
            per[row.workflow]["step_groups"][row.run_id or row.trace_id or row.id].append(body.get("state_after"))

        e = audit_events.c
        stmt = _window(select(e.workflow, e.payload).where(e.kind == "write.reversed"), e.ts, since, until)
        for event_workflow, payload in c.execute(stmt):
            body = json.loads(payload)
            name = body.get("workflow") or event_workflow
            if not name or (workflow and name != workflow):
                continue
            if body.get("seconds_to_correct") is not None:
                per[name]["corrections"].append(float(body["seconds_to_correct"]))

    names = sorted(set(per) | set(costs)) if not workflow else [workflow]
    out = []
    for name in names:
        m = per[name]
        cost = costs.get(name, {})
        declared = (bounds or {}).get(name) if bounds is not None else _declared_bounds(name)
        out.append({
            "workflow": name,
            "cost_per_completed_task": {
                "cost_usd": cost.get("cost_usd", "0"),
                "completed_tasks": cost.get("completed_tasks", 0),
                "cost_per_completed_task_usd": cost.get("cost_per_completed_task_usd"),
            },
            "time_to_correct": {
                "corrections": len(m["corrections"]),
                "p50_seconds": _seconds(percentile(m["corrections"], 50)),
                "p90_seconds": _seconds(percentile(m["corrections"], 90)),
                "max_seconds": _seconds(max(m["corrections"], default=None)),
            },
            "approval_latency": {
                "decided": len(m["latencies"]),
                "pending": m["pending"],
                "p50_seconds": _seconds(percentile(m["latencies"], 50)),
                "p90_seconds": _seconds(percentile(m["latencies"], 90)),
            },
            "blast_radius": {
                "per_approval": _radius(m["approval_groups"]),
                "per_autonomous_step": _radius(m["step_groups"]),
                "declared_bounds": declared,
            },
        })
    return {"generated_at": now or utcnow(), "since": since, "until": until, "workflows": out}


def _declared_bounds(workflow: str) -> dict | None:
    from governed_agents.envelope import find_envelope
    from governed_agents.errors import GovernanceError

    try:
        permissions = find_envelope(workflow).envelope.permissions
    except GovernanceError:
        return None
    declared: dict[str, Any] = {}
    if permissions.bounds:
        declared.update({k: str(v) for k, v in permissions.bounds.items()})
    autonomous = getattr(permissions, "autonomous_writes", None)
    if autonomous:
        declared["autonomous_writes"] = [w.model_dump(mode="json") for w in autonomous]
    return declared or None


__all__ = ["operational_metrics", "percentile"]

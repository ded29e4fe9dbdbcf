"""Policy what-if: what a proposed envelope would have done differently on past runs.

``what_if(ledger, envelope, ref=...)`` or ``what_if(ledger, envelope, since=..., until=...)``
replays the recorded runs (``replay.replay_recording``) under the proposed
envelope instead of the one they ran under, and reports, against what was
recorded:

- ``denied``: proposed writes the gate would have denied (with its reasons:
  a tool removed from ``allowed_tools``, a write-forbidding pattern, …);
- ``needs_approval``: writes that would have needed an approval they did not
  need — at proposal (``write_actions_require_approval`` turned on) or when
  carried out (``stage: posting``: e.g. ``min_approvals`` raised, so the approval
  given is short of the quorum) — and ``approval_dropped`` the reverse;
- ``reconcile_changed``: invoices whose reconciliation outcome a changed
  threshold (``parameters.price_tolerance_pct``, ``amount_tolerance``, the
  injection threshold) would change;
- ``cost``: what the run's model calls cost, what they would have cost with
  the envelope's tier models (same tokens, the catalog's prices), and the calls
  its per-task caps (``hard_cost_cap_usd``, ``max_tokens_per_task``) would have
  refused — a call is counted refused when its task's spend including it
  exceeds the cap (the gateway refuses on the estimate before the call; the
  recorded actual cost is the closest a replay can get).

Nothing is written and no model is called.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from decimal import Decimal

from governed_agents.errors import GovernanceError, UsageError
from governed_agents.forensics.recording import KIND
from governed_agents.forensics.replay import RunReplay, replay_recording, resolve


@dataclass
class WhatIfReport:
    envelope_version: str
    envelope_digest: str
    workflow: str
    runs: list[str] = field(default_factory=list)
    denied: list[dict] = field(default_factory=list)
    needs_approval: list[dict] = field(default_factory=list)
    approval_dropped: list[dict] = field(default_factory=list)
    reconcile_changed: list[dict] = field(default_factory=list)
    model_calls_refused: list[dict] = field(default_factory=list)
    cost: dict = field(default_factory=dict)
    writes: int = 0
    writes_needing_approval: int = 0
    model_calls: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.denied or self.needs_approval or self.approval_dropped or self.reconcile_changed
                    or self.model_calls_refused)

    def to_dict(self) -> dict:
        return {
            "envelope": {"version": self.envelope_version, "digest": self.envelope_digest},
            "workflow": self.workflow, "runs": self.runs, "changed": self.changed,
            "writes": self.writes, "writes_needing_approval": self.writes_needing_approval,
            "model_calls": self.model_calls,
            "denied": self.denied, "needs_approval": self.needs_approval,
            "approval_dropped": self.approval_dropped, "reconcile_changed": self.reconcile_changed,
            "model_calls_refused": self.model_calls_refused, "cost": self.cost,
        }


def recordings_between(ledger, workflow: str, since: _dt.date | None, until: _dt.date | None) -> list:
    """The ``replay.recording`` events of ``workflow`` recorded on UTC days ``since``..``until`` (inclusive)."""
    import sqlalchemy as sa

    from governed_agents.ledger.audit import AuditEvent
    from governed_agents.ledger.schema import audit_events

    stmt = sa.select(audit_events).where(audit_events.c.kind == KIND, audit_events.c.workflow == workflow)
    utc = _dt.timezone.utc
    if since is not None:
        stmt = stmt.where(audit_events.c.ts >= _dt.datetime.combine(since, _dt.time(), utc))
    if until is not None:
        stmt = stmt.where(audit_events.c.ts < _dt.datetime.combine(until + _dt.timedelta(days=1), _dt.time(), utc))
    with ledger.engine.connect() as c:
        return [AuditEvent.from_row(r) for r in c.execute(stmt.order_by(audit_events.c.seq)).mappings()]


def what_if(ledger, envelope, *, ref: str | None = None, since: _dt.date | None = None,
            until: _dt.date | None = None, catalog=None) -> WhatIfReport:
    """Replay ``ref`` (a run or trace id) or every recorded run in ``since``..``until`` under ``envelope``."""
    if ref is None and since is None:
        raise UsageError("a what-if needs a run or trace id, or --since DATE")
    if since is not None and until is not None and until < since:
        raise UsageError(f"--until {until} is before --since {since}")
    if ref is not None:
        _scope, events, trace = resolve(ledger, ref)
    else:
        events, trace = recordings_between(ledger, envelope.workflow, since, until), None
        if not events:
            raise GovernanceError(f"no recorded {envelope.workflow} runs between {since} and {until or 'now'}",
                                  hint="only runs made since replay recording exists can be replayed")
    mismatched = sorted({e.workflow for e in events} - {envelope.workflow})
    if mismatched:
        raise UsageError(f"the envelope governs {envelope.workflow}, the recorded runs are of {', '.join(mismatched)}")
    report = WhatIfReport(envelope.version, envelope.digest, envelope.workflow)
    recorded_usd = would_usd = refused_usd = Decimal(0)
    for event in events:
        run = replay_recording(ledger, event, envelope=envelope, only_trace=trace)
        report.runs.append(run.run_id)
        _writes(report, run)
        for step in run.steps:
            if step.kind == "reconcile" and not step.same:
                report.reconcile_changed.append({
                    "run_id": run.run_id, "invoice_id": step.subject, "trace_id": step.trace_id,
                    "recorded": (step.recorded or {}).get("reason"), "would_be": (step.replayed or {}).get("reason"),
                    "detail": step.detail})
        r, w, x = _costs(report, run, envelope, catalog)
        recorded_usd, would_usd, refused_usd = recorded_usd + r, would_usd + w, refused_usd + x
    report.cost = {"recorded_usd": _usd(recorded_usd), "with_envelope_models_usd": _usd(would_usd),
                   "refused_calls_usd": _usd(refused_usd),
                   "would_have_cost_usd": _usd(would_usd - refused_usd)}
    return report


def _writes(report: WhatIfReport, run: RunReplay) -> None:
    for w in run.writes:
        recorded, again = w["recorded"] or {}, w["replayed"]
        if again is None:
            continue  # no longer proposed: reported under reconcile_changed
        posting = "posting_run_id" in w
        if not posting:
            report.writes += 1
            if again["outcome"] == "needs_approval":
                report.writes_needing_approval += 1
        item = {"run_id": w.get("posting_run_id", run.run_id), "stage": "posting" if posting else "proposal",
                "invoice_id": w["invoice_id"], "trace_id": w["trace_id"], "tool": "erp.create_journal_entry",
                "recorded": recorded.get("outcome"), "would_be": again["outcome"], "reasons": again["reasons"]}
        if again["outcome"] == "deny" and recorded.get("outcome") != "deny":
            report.denied.append(item)
        elif again["outcome"] == "needs_approval" and recorded.get("outcome") == "allow":
            report.needs_approval.append(item)
        elif again["outcome"] == "allow" and recorded.get("outcome") == "needs_approval":
            report.approval_dropped.append(item)


def _costs(report: WhatIfReport, run: RunReplay, envelope, catalog) -> tuple[Decimal, Decimal, Decimal]:
    """(recorded, with the envelope's tier models, refused by its per-task caps) for one run's model calls."""
    from governed_agents.routing.catalog import load_catalog

    catalog = catalog or load_catalog()
    budgets = envelope.envelope.budgets
    cap = Decimal(str(budgets.hard_cost_cap_usd))
    recorded = would = refused = Decimal(0)
    per_task: dict[str, tuple[Decimal, int]] = {}
    for call in run.model_calls:
        report.model_calls += 1
        cost = Decimal(call["cost_usd"])
        tokens = int(call["input_tokens"] or 0) + int(call["output_tokens"] or 0)
        recorded += cost
        alias = getattr(envelope.envelope.models, call["tier"], None) if call.get("tier") else None
        try:
            priced = catalog.resolve(alias).cost(int(call["input_tokens"] or 0), int(call["output_tokens"] or 0)) \
                if alias else cost
        except GovernanceError:
            priced = cost  # an alias the catalog does not know: keep what was paid
        would += priced
        spent, used = per_task.get(call["task_id"], (Decimal(0), 0))
        spent, used = spent + priced, used + tokens
        per_task[call["task_id"]] = (spent, used)
        why = []
        if spent > cap:
            why.append(f"task spend {_usd(spent)} > hard_cost_cap_usd {_usd(cap)}")
        if used > budgets.max_tokens_per_task:
            why.append(f"task tokens {used} > max_tokens_per_task {budgets.max_tokens_per_task}")
        if why:
            refused += priced
            report.model_calls_refused.append({"run_id": run.run_id, "trace_id": call["trace_id"],
                                               "audit_seq": call["seq"], "tier": call["tier"],
                                               "model": call["model"], "cost_usd": _usd(priced), "why": why})
    return recorded, would, refused


def _usd(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.00000001")).normalize(), "f")


__all__ = ["WhatIfReport", "recordings_between", "what_if"]

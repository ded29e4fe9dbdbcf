"""Canary: a candidate envelope beside the deployed one, suggest-only, on recent inputs.

Per workflow, the recent inputs and how far each envelope goes with them:

- ``invoice_reconcile``: the most recent ``sample`` invoices in the ERP go
  through the workflow's own steps up to the gate's decision (``match``, the
  ``injection_leaks`` re-score, ``propose``), never further: no executor call,
  no approval request, no write. Model calls (PO extraction) go through the
  gateway on a throw-away ledger so the deployment's spend is untouched; their
  cost per envelope is reported.
- ``expense_receipt_chase``: the ``sample`` most recent card transactions
  without a receipt, with their employees, are copied into a sandbox ERP and
  the workflow's ``chase`` runs there on a sandbox ledger: per transaction
  ``allow`` (a reminder within the bounds, sent without approval),
  ``needs_approval``, ``deny:<gate codes>``, ``not_chased`` (the candidate's
  ``chase_after_days`` leaves it out) or ``read_denied`` (the read tool is
  refused). Per-day bounds start from the deployment's count for today: its
  ``bounded_writes`` rows of this UTC day (and today's reminders in the
  outbox, so one already sent is not sent again) are copied into the
  sandbox; a candidate that counts per another field, or per run, starts
  from zero.
- ``vendor_bank_change``: the vendor master (vendors, profiles, requests, applied
  changes) is copied into a sandbox ERP and the workflow's ``propose`` runs there;
  per request among the ``sample`` most recent pending ones: ``needs_approval``,
  ``blocked:<red flags that stop it>`` or ``denied``.

Nothing reaches the deployment's ERP or ledger except one ``eval.canary`` audit
event with the summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


#: What one item of each workflow's canary is, by the id that names it.
ITEM_KEYS: dict[str, str] = {"invoice_reconcile": "invoice_id", "expense_receipt_chase": "txn_id",
                             "vendor_bank_change": "request_id"}


@dataclass
class CanaryReport:
    workflow: str
    current_digest: str
    candidate_digest: str
    items: list[str]  # invoice, card transaction or request ids, oldest first
    current: dict[str, str] = field(default_factory=dict)  # item id -> decision
    candidate: dict[str, str] = field(default_factory=dict)
    current_cost_usd: str = "0"
    candidate_cost_usd: str = "0"
    audit_seq: int | None = None

    @property
    def item_key(self) -> str:
        return ITEM_KEYS[self.workflow]

    @property
    def invoices(self) -> list[str]:
        """The items of an invoice_reconcile canary (its earlier name)."""
        return self.items

    @property
    def flips(self) -> list[dict]:
        return [{self.item_key: i, "current": self.current[i], "candidate": self.candidate[i]}
                for i in self.items if self.current[i] != self.candidate[i]]

    @property
    def approvals_newly_needed(self) -> list[str]:
        return [i for i in self.items
                if self.candidate[i] == "needs_approval" and self.current[i] != "needs_approval"]

    @property
    def approvals_no_longer_needed(self) -> list[str]:
        return [i for i in self.items
                if self.current[i] == "needs_approval" and self.candidate[i] != "needs_approval"]

    @property
    def writes_without_approval(self) -> list[str]:
        """Items whose write needs an approval now and would go through without one (``allow``)."""
        return [i for i in self.items if self.current[i] == "needs_approval" and self.candidate[i] == "allow"]

    def counts(self, which: str) -> dict[str, int]:
        from collections import Counter

        return dict(sorted(Counter(getattr(self, which).values()).items()))

    def to_dict(self) -> dict:
        return {"workflow": self.workflow, "current_digest": self.current_digest,
                "candidate_digest": self.candidate_digest, "sample": len(self.items),
                "item_key": self.item_key, "items": list(self.items),
                "flips": self.flips, "approvals_newly_needed": self.approvals_newly_needed,
                "approvals_no_longer_needed": self.approvals_no_longer_needed,
                "writes_without_approval": self.writes_without_approval,
                "current_counts": self.counts("current"), "candidate_counts": self.counts("candidate"),
                "current_cost_usd": self.current_cost_usd, "candidate_cost_usd": self.candidate_cost_usd,
                "audit_seq": self.audit_seq}


def recent_lines(erp_engine, sample: int) -> tuple[list, list[str]]:
    """The lines of the ``sample`` most recently loaded invoices, and their ids in load order."""
    from governed_agents.reconcile import load_invoice_lines

    lines = load_invoice_lines(erp_engine)
    order: dict[str, None] = {}
    for line in lines:
        order[(line.invoice_id or "").strip()] = None
    chosen = [i for i in order if i][-sample:] if sample > 0 else []
    keep = set(chosen)
    return [line for line in lines if (line.invoice_id or "").strip() in keep], chosen


def _decisions(envelope, lines, erp_engine, catalog) -> tuple[dict[str, str], str]:
    from governed_agents.erp.tools import erp_toolset
    from governed_agents.evals.drivers import Context, _extractor
    from governed_agents.evals.sandbox import Sandbox
    from governed_agents.executor import GovernedExecutor
    from governed_agents.routing import spend_report
    from governed_agents.workflows import invoice_reconcile as wf

    with Sandbox(prefix="ga-canary-") as sandbox:
        registry, previews = erp_toolset(erp_engine)  # reads only: previews of the proposals
        executor = GovernedExecutor(sandbox.ledger, registry, previews=previews)
        ctx = Context(sandbox, envelope, catalog, executor)
        result = wf.match(lines, erp_engine, envelope, po_extractor=_extractor(ctx, []))
        leaks = {leak["invoice_id"] for leak in wf.injection_leaks(result, envelope)}
        proposals = {p.invoice_id: p for p in wf.propose(result, executor, envelope, requested_by="canary")}
        decisions = {}
        for outcome in result.outcomes:
            if outcome.reason != "matched":
                decisions[outcome.invoice_id] = f"exception:{outcome.reason}"
            elif outcome.invoice_id in leaks:
                decisions[outcome.invoice_id] = "exception:injection_leak"
            else:
                decisions[outcome.invoice_id] = proposals[outcome.invoice_id].outcome
        cost = str(spend_report(sandbox.ledger)["totals"]["cost_usd"])
    return decisions, cost


def recent_missing_receipts(erp_engine, sample: int) -> list[str]:
    """The ``sample`` most recent card transactions without a receipt, oldest first."""
    from sqlalchemy import select

    from governed_agents.erp.schema import card_transactions as t
    from governed_agents.erp.schema import expense_receipts

    with erp_engine.connect() as c:
        rows = c.execute(select(t.c.txn_id).where(t.c.txn_id.not_in(select(expense_receipts.c.txn_id)))
                         .order_by(t.c.txn_date.desc(), t.c.txn_id.desc()).limit(sample)).all()
    return [r[0] for r in reversed(rows)]


def recent_bank_requests(erp_engine, sample: int) -> list[str]:
    """The ``sample`` most recent pending bank-change requests, oldest first."""
    from governed_agents.erp.vendor_master import pending_requests

    return [r["request_id"] for r in pending_requests(erp_engine)][-sample:]


def _copy(src, dst, table, where=None) -> None:
    from sqlalchemy import select

    query = select(table) if where is None else select(table).where(where)
    with src.connect() as c:
        rows = [dict(r._mapping) for r in c.execute(query)]
    if rows:
        with dst.begin() as c:
            c.execute(table.insert(), rows)


def _carry_today(ledger, erp_engine, sandbox, workflow: str, people: list[str]) -> None:
    """Today's recorded bounded writes (and the reminders they sent) into the sandbox, so per-day
    bounds count from the deployment's use today, not from zero."""
    import datetime as dt

    from governed_agents.erp.schema import outbox
    from governed_agents.ledger.schema import bounded_writes

    today = dt.datetime.now(dt.timezone.utc).date()
    _copy(ledger.engine, sandbox.ledger.engine, bounded_writes,
          (bounded_writes.c.workflow == workflow) & bounded_writes.c.scope_key.contains(f"|day:{today.isoformat()}|"))
    start = dt.datetime.combine(today, dt.time.min, tzinfo=dt.timezone.utc)
    _copy(erp_engine, sandbox.erp, outbox, outbox.c.employee_id.in_(people) & (outbox.c.sent_at >= start))


def _expense_decisions(envelope, txn_ids: list[str], erp_engine, ledger) -> tuple[dict[str, str], str]:
    from governed_agents.erp.expenses import expenses_toolset
    from governed_agents.erp.schema import card_transactions, employees
    from governed_agents.evals.sandbox import Sandbox
    from governed_agents.executor import GovernedExecutor
    from governed_agents.workflows import expense_receipt_chase as wf

    with Sandbox(prefix="ga-canary-") as sandbox:
        _copy(erp_engine, sandbox.erp, card_transactions, card_transactions.c.txn_id.in_(txn_ids))
        with sandbox.erp.connect() as c:
            people = sorted({r[0] for r in c.execute(card_transactions.select().with_only_columns(
                card_transactions.c.employee_id))})
        _copy(erp_engine, sandbox.erp, employees, employees.c.employee_id.in_(people))
        _carry_today(ledger, erp_engine, sandbox, "expense_receipt_chase", people)
        registry, previews = expenses_toolset(sandbox.erp)
        executor = GovernedExecutor(sandbox.ledger, registry, previews=previews)
        try:
            summary = wf.chase(executor, envelope, requested_by="canary", run_id="canary")
        except RuntimeError:  # the read tool itself was refused: nothing is chased
            return {i: "read_denied" for i in txn_ids}, "0"
    named = {"sent": "allow", "needs_approval": "needs_approval"}
    decisions = {}
    for i in txn_ids:
        outcome = summary.outcomes.get(i)
        if outcome is None:
            decisions[i] = "not_chased"
        elif outcome in named:
            decisions[i] = named[outcome]
        else:
            codes = summary.reasons.get(i) or []
            decisions[i] = f"deny:{','.join(codes)}" if outcome == "denied" and codes else outcome
    return decisions, "0"


def _bank_change_decisions(envelope, request_ids: list[str], erp_engine) -> tuple[dict[str, str], str]:
    from governed_agents.erp.schema import bank_account_changes, bank_change_requests, vendor_profiles, vendors
    from governed_agents.erp.vendor_master import vendor_master_toolset
    from governed_agents.evals.sandbox import Sandbox
    from governed_agents.executor import GovernedExecutor
    from governed_agents.workflows import vendor_bank_change as wf

    with Sandbox(prefix="ga-canary-") as sandbox:
        # The whole vendor master: red flags compare against every vendor and every earlier request.
        for table in (vendors, vendor_profiles, bank_change_requests, bank_account_changes):
            _copy(erp_engine, sandbox.erp, table)
        extra = envelope.envelope.parameters.extra
        registry, previews = vendor_master_toolset(sandbox.erp,
                                                   recent_days=float(extra.get("recent_change_days", 90)))
        executor = GovernedExecutor(sandbox.ledger, registry, previews=previews)
        proposals = {p.request_id: p for p in wf.propose(sandbox.erp, executor, envelope, requested_by="canary",
                                                         run_id="canary", batch_id="canary")}
    blocking = wf.blocking_flags(envelope)
    decisions = {}
    for i in request_ids:
        p = proposals[i]
        if p.outcome == "blocked":
            decisions[i] = "blocked:" + ",".join(sorted(set(p.red_flags) & blocking))
        else:
            decisions[i] = p.outcome
    return decisions, "0"


def run_canary(workflow: str, candidate: Any, *, sample: int = 50, ledger: Any = None, erp_engine: Any = None,
               catalog: Any = None, actor: str = "eval") -> CanaryReport:
    """Compare ``candidate`` (a path or ``LoadedEnvelope``) with the deployed envelope on recent inputs."""
    from governed_agents.envelope import find_envelope
    from governed_agents.errors import UsageError
    from governed_agents.evals.runner import resolve_catalog, resolve_envelope
    from governed_agents.ledger import Ledger

    if workflow not in ITEM_KEYS:
        raise UsageError(f"{workflow!r} has no canary input; canary runs on: {', '.join(sorted(ITEM_KEYS))}")
    if sample < 1:
        raise UsageError(f"--sample must be at least 1, got {sample}")
    if erp_engine is None:
        from governed_agents.erp.connector import erp_engine as _erp

        erp_engine = _erp()
    ledger = ledger or Ledger.open()
    current = find_envelope(workflow)
    new = resolve_envelope(workflow, candidate)
    if workflow == "invoice_reconcile":
        cat = resolve_catalog(catalog)
        lines, items = recent_lines(erp_engine, sample)

        def decide(envelope):
            return _decisions(envelope, lines, erp_engine, cat)
    elif workflow == "expense_receipt_chase":
        items = recent_missing_receipts(erp_engine, sample)

        def decide(envelope):
            return _expense_decisions(envelope, items, erp_engine, ledger)
    else:
        items = recent_bank_requests(erp_engine, sample)

        def decide(envelope):
            return _bank_change_decisions(envelope, items, erp_engine)
    report = CanaryReport(workflow, current.digest, new.digest, items)
    if items:
        report.current, report.current_cost_usd = decide(current)
        report.candidate, report.candidate_cost_usd = decide(new)
    summary = report.to_dict()
    event = ledger.append("eval.canary", {k: v for k, v in summary.items() if k != "audit_seq"}, actor=actor,
                          workflow=workflow, envelope_version=new.version, envelope_digest=new.digest)
    report.audit_seq = event.seq
    return report

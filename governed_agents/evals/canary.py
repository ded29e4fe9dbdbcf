"""Canary: a candidate envelope beside the deployed one, suggest-only, on recent inputs.

For the most recent ``sample`` invoices in the ERP, both envelopes go through
the workflow's own steps up to the gate's decision (``match``, the
``injection_leaks`` re-score, ``propose``), never further: no executor call,
no approval request, no write. Model calls (PO extraction) go through the
gateway on a throw-away ledger so the deployment's spend is untouched; their
cost per envelope is reported. The deployment's ledger gets one
``eval.canary`` audit event with the summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CanaryReport:
    workflow: str
    current_digest: str
    candidate_digest: str
    invoices: list[str]
    current: dict[str, str] = field(default_factory=dict)  # invoice_id -> decision
    candidate: dict[str, str] = field(default_factory=dict)
    current_cost_usd: str = "0"
    candidate_cost_usd: str = "0"
    audit_seq: int | None = None

    @property
    def flips(self) -> list[dict]:
        return [{"invoice_id": i, "current": self.current[i], "candidate": self.candidate[i]}
                for i in self.invoices if self.current[i] != self.candidate[i]]

    @property
    def approvals_newly_needed(self) -> list[str]:
        return [i for i in self.invoices
                if self.candidate[i] == "needs_approval" and self.current[i] != "needs_approval"]

    @property
    def approvals_no_longer_needed(self) -> list[str]:
        return [i for i in self.invoices
                if self.current[i] == "needs_approval" and self.candidate[i] != "needs_approval"]

    def counts(self, which: str) -> dict[str, int]:
        from collections import Counter

        return dict(sorted(Counter(getattr(self, which).values()).items()))

    def to_dict(self) -> dict:
        return {"workflow": self.workflow, "current_digest": self.current_digest,
                "candidate_digest": self.candidate_digest, "sample": len(self.invoices),
                "flips": self.flips, "approvals_newly_needed": self.approvals_newly_needed,
                "approvals_no_longer_needed": self.approvals_no_longer_needed,
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


def run_canary(workflow: str, candidate: Any, *, sample: int = 50, ledger: Any = None, erp_engine: Any = None,
           catalog: Any = None, actor: str = "eval") -> CanaryReport:
    """Compare ``candidate`` (a path or ``LoadedEnvelope``) with the deployed envelope on recent invoices."""
    from governed_agents.envelope import find_envelope
    from governed_agents.errors import UsageError
    from governed_agents.evals.runner import resolve_catalog, resolve_envelope
    from governed_agents.ledger import Ledger

    if workflow != "invoice_reconcile":
        raise UsageError(f"canary runs on invoice_reconcile's recent invoices; {workflow!r} has no canary input yet")
    if sample < 1:
        raise UsageError(f"--sample must be at least 1, got {sample}")
    if erp_engine is None:
        from governed_agents.erp.connector import erp_engine as _erp

        erp_engine = _erp()
    ledger = ledger or Ledger.open()
    current = find_envelope(workflow)
    new = resolve_envelope(workflow, candidate)
    cat = resolve_catalog(catalog)
    lines, invoices = recent_lines(erp_engine, sample)
    report = CanaryReport(workflow, current.digest, new.digest, invoices)
    if lines:
        report.current, report.current_cost_usd = _decisions(current, lines, erp_engine, cat)
        report.candidate, report.candidate_cost_usd = _decisions(new, lines, erp_engine, cat)
    summary = report.to_dict()
    event = ledger.append("eval.canary", {k: v for k, v in summary.items() if k != "audit_seq"}, actor=actor,
                          workflow=workflow, envelope_version=new.version, envelope_digest=new.digest)
    report.audit_seq = event.seq
    return report

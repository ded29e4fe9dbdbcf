"""invoice_reconcile: the governed reconciliation's steps, as plain functions.

The Dagster assets in ``assets/invoice_reconcile.py`` only orchestrate these:

1. ``read_batch``: the invoice lines of one import batch from the ERP;
2. ``quality``: great-expectations over the batch (blocking check);
3. ``match``: the reconciliation rule (deterministic; the model tier only for
   PO references rules cannot read), one outcome per invoice;
4. ``propose``: for each matched invoice, the journal entry's preview and the
   gate's decision — pure, nothing written yet (policy-conformance check);
5. ``request_approvals``: one approval request per entry, one batch per run;
6. ``post``: after a decision, the write through the executor (approved →
   executed once with a receipt; rejected or expired → a receipt saying so).

Each invoice is its own governed task with its own trace id, so budgets
(tool calls, tokens, cost) apply per invoice, as the envelope says.

``known_names`` (where a step takes it): the person names of the ERP's master
data (``erp.people.known_names``), read once per run; every store a step
writes to redacts them wherever a text quotes them, bare ones included.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

WORKFLOW = "invoice_reconcile"
WRITE_TOOL = "erp.create_journal_entry"

log = logging.getLogger(__name__)


def task_logging(task):
    """Bind the task's governance context to every log line inside (JSON logs carry it)."""
    from governed_agents.observability.logging import bind

    return bind(trace_id=task.trace_id, workflow=task.workflow, run_id=task.run_id,
                envelope_digest=task.envelope.digest)


@dataclass
class Proposal:
    invoice_id: str
    arguments: dict
    preview: dict
    outcome: str  # the gate's: needs_approval | allow | deny
    reasons: list[str]
    trace_id: str
    # The drafted justification shown to the approver, the record ids the run read for this
    # invoice (what it may cite), and what the citation check found wrong with it.
    explanation: str = ""
    read_ids: list[str] = field(default_factory=list)
    citation_problems: list[dict] = field(default_factory=list)
    drafted_by: str = "template"  # "model": the gateway's router tier drafted it (model_justifier)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass
class RunSummary:
    """What one proposal run did, for its run receipt and the CLI."""

    batch_id: str
    outcomes: dict[str, str] = field(default_factory=dict)  # invoice_id -> reason code
    approval_requests: list[str] = field(default_factory=list)
    proposals: int = 0


def read_batch(erp_engine, batch_id: str | None = None) -> list:
    from governed_agents.reconcile import load_invoice_lines

    return load_invoice_lines(erp_engine, batch_id)


def lines_frame(lines: list):
    """The raw invoice lines as a DataFrame (for data-quality validation and display)."""
    import pandas as pd

    from governed_agents.reconcile import INVOICE_FIELDS

    return pd.DataFrame([[getattr(line, f) for f in INVOICE_FIELDS] for line in lines],
                        columns=list(INVOICE_FIELDS))


def quality(lines: list, envelope) -> Any:
    from governed_agents.quality import validate_invoice_lines

    mostly = float(envelope.envelope.parameters.extra.get("data_quality_mostly", 0.8))
    return validate_invoice_lines(lines_frame(lines), mostly=mostly)


def match(lines: list, erp_engine, envelope, *, po_extractor: Callable[[str], str | None] | None = None,
          record_to=None, run_id: str | None = None, known_names=()):
    """Reconcile the batch against the ERP as it is now; returns the reconcile result.

    With ``record_to`` (a ledger) the run's replay recording is appended: the
    (redacted) lines, what the ERP answered, the model's answers and each
    invoice's outcome (``governed_agents.forensics.recording``) — unless the
    envelope sets ``parameters.extra.record_for_replay: false``.
    """
    from governed_agents.reconcile import ReconcileParams, load_snapshot, reconcile

    snapshot = load_snapshot(erp_engine)
    answers: dict[str, str | None] = {}
    extractor = po_extractor
    if record_to is not None and po_extractor is not None:
        def extractor(text: str) -> str | None:
            answers[text] = found = po_extractor(text)
            return found
    result = reconcile(lines, snapshot, params=ReconcileParams.from_envelope(envelope), po_extractor=extractor)
    if record_to is not None and envelope.envelope.parameters.extra.get("record_for_replay", True) is not False:
        from governed_agents.forensics.recording import record_run

        record_run(record_to, envelope, run_id=run_id or "", lines=lines, snapshot=snapshot, result=result,
                   answers=answers, answer_traces=getattr(po_extractor, "traces", {}), known_names=known_names)
    return result


def propose(result, executor, envelope, *, requested_by: str, agent: str = "agent.invoice",
            justifier: Callable[[Any, list[str]], tuple[str, str]] | None = None) -> list[Proposal]:
    """Preview and gate decision for every matched invoice; writes nothing.

    ``justifier(outcome, read_ids) -> (text, drafted_by)`` drafts each justification (the
    pipeline's is ``model_justifier``: a model through the gateway); without one it is the
    template of ``explain``, as it is for an entry the gate denies (nobody will be asked to approve
    it). Either way the text is checked for citations."""
    from governed_agents.gate import GateState, ToolCallRequest, decide
    from governed_agents.safety.citations import check_citations, policy_id, required_topics
    from governed_agents.timeutil import utcnow

    proposals = []
    now = utcnow()
    state = GateState(now=now)
    for outcome in result.outcomes:
        if outcome.reason != "matched" or not outcome.proposal:
            continue
        trace_id = uuid.uuid4().hex
        request = ToolCallRequest(tool=WRITE_TOOL, arguments=outcome.proposal, task_id=trace_id,
                                  trace_id=trace_id, workflow=WORKFLOW, principal=agent)
        decision = decide(envelope, executor.registry, request, state)
        read_ids = sorted({i for i in (outcome.invoice_id, outcome.vendor_id, outcome.po_number) if i}
                          | {policy_id(envelope)})
        # A denied entry is never put to an approver: no model is paid to argue for it.
        if justifier is not None and decision.outcome != "deny":
            explanation, drafted_by = justifier(outcome, read_ids)
        else:
            explanation, drafted_by = explain(outcome, envelope), "template"
        report = check_citations(explanation, topics=required_topics(envelope), read_ids=read_ids)
        proposals.append(Proposal(
            invoice_id=outcome.invoice_id,
            arguments=decision.validated_input.model_dump(mode="json") if decision.validated_input else outcome.proposal,
            preview={},
            outcome=decision.outcome,
            reasons=[r.message for r in decision.reasons],
            trace_id=trace_id,
            explanation=explanation,
            read_ids=read_ids,
            citation_problems=[p.to_dict() for p in report.problems],
            drafted_by=drafted_by,
        ))
    # One read of the ERP for all previews (the gate validated these inputs).
    valid = [p for p in proposals if p.outcome != "deny"]
    for p, preview in zip(valid, executor.preview_many(WRITE_TOOL, [p.arguments for p in valid])):
        p.preview = preview
    return proposals


def explain(outcome, envelope) -> str:
    """The justification the approver reads: a pricing and contract claim, citing what it rests on
    (the invoice, the PO, the vendor, the envelope's tolerance) by the ids reconciliation read."""
    from governed_agents.safety.citations import policy_id

    pct = envelope.envelope.parameters.price_tolerance_pct
    return (f"Invoice [{outcome.invoice_id}] bills goods received against purchase order [{outcome.po_number}] "
            f"of vendor [{outcome.vendor_id}]. Every unit price is within the ±{pct}% tolerance of "
            f"[{policy_id(envelope)}] against the PO price [{outcome.po_number}].")


def conformance(proposals: list[Proposal]) -> list[dict]:
    """The proposals the envelope would not allow (an empty list means conformant): denied by the
    gate, or justified by a claim that is uncited or cites a record the run never read
    (``safety.require_citations_for``)."""
    return ([{"invoice_id": p.invoice_id, "outcome": p.outcome, "reasons": p.reasons}
             for p in proposals if p.outcome == "deny"]
            + [{"invoice_id": p.invoice_id, "outcome": "citation", "reasons": [c["message"] for c in p.citation_problems]}
               for p in proposals if p.citation_problems])


def request_approvals(proposals: list[Proposal], executor, envelope, *, requested_by: str, batch_id: str,
                      run_id: str | None = None, tenant: str | None = "acme",
                      agent: str = "agent.invoice", known_names=()) -> list:
    """Record one approval request per proposal, all in one batch."""
    from governed_agents.executor import TaskContext
    from governed_agents.observability import otel

    requests = []
    for p in proposals:
        task = TaskContext(envelope=envelope, requested_by=requested_by, agent=agent, tenant=tenant,
                           task_id=p.trace_id, trace_id=p.trace_id, run_id=run_id, known_names=known_names)
        with otel.task_span(task), task_logging(task):
            # The approver reads the justification (checked for citations before this step runs).
            result = executor.call(task, WRITE_TOOL, p.arguments, batch_id=batch_id,
                                   reason=p.explanation or f"invoice {p.invoice_id} matched its PO and goods receipt")
            log.info("invoice %s proposed: %s", p.invoice_id, result.outcome)
        if result.outcome == "needs_approval":
            requests.append(result.approval_request)
        elif result.outcome == "duplicate":
            continue  # already posted under this idempotency key: nothing to ask
        else:
            raise RuntimeError(f"proposal for {p.invoice_id} was {result.outcome}, not needs_approval")
    return requests


def post(request_id: str, executor, envelope, *, run_id: str | None = None, known_names=()):
    """Carry out a decided approval request: execute once, or receipt the refusal."""
    from governed_agents.approvals import get_request
    from governed_agents.executor import TaskContext

    request = get_request(executor.ledger, request_id)
    task = TaskContext(envelope=envelope, requested_by=request.requested_by, agent="agent.invoice",
                       tenant=request.tenant, task_id=request.trace_id or uuid.uuid4().hex,
                       trace_id=request.trace_id or uuid.uuid4().hex, run_id=run_id, known_names=known_names)
    from governed_agents.observability import otel

    with otel.task_span(task), task_logging(task):
        result = executor.call(task, request.action, request.arguments, approval_request_id=request.id)
        log.info("approval request %s carried out: %s", request.id, result.outcome)
    return result


def run_receipt(ledger, envelope, *, run_id: str, trace_id: str, requested_by: str, summary: dict,
                checks: list[dict], notes: str | None = None, kind: str = "run", known_names=()):
    """A signed receipt for a whole run, anchored to a ``run.receipted`` audit event."""
    from governed_agents.identity.keys import signing_key
    from governed_agents.receipts.model import Receipt
    from governed_agents.receipts.signing import sign_receipt
    from governed_agents.receipts.store import store_receipt
    from governed_agents.safety.pii import maybe_redact
    from governed_agents.timeutil import utcnow

    now = utcnow()
    # Free text in the summary (e.g. injection evidence quoting a memo) goes into the append-only
    # chain and the receipt: redacted per logging.redact_pii, one placeholder numbering for both.
    safe = maybe_redact({"summary": summary, "checks": checks, "notes": notes}, envelope, known_names=known_names)
    summary, checks, notes = safe["summary"], safe["checks"], safe["notes"]
    with ledger.transaction() as c:
        anchor = ledger.append("run.receipted", {"summary": summary, "checks": checks, "notes": notes},
                               actor="dagster", workflow=envelope.envelope.workflow, trace_id=trace_id,
                               run_id=run_id, envelope_version=envelope.version,
                               envelope_digest=envelope.digest, conn=c)
        receipt = Receipt(kind=kind, workflow=envelope.envelope.workflow, envelope_version=envelope.version,
                          envelope_digest=envelope.digest, trace_id=trace_id, run_id=run_id,
                          requester=requested_by, checks=checks, started_at=now, finished_at=now,
                          audit_anchor={"seq": anchor.seq, "hash": anchor.hash}, notes=notes,
                          extra={"summary": summary})
        signed = sign_receipt(receipt, signing_key())
        store_receipt(ledger, signed, conn=c)
    return signed


def summarise(result, requests: list, *, batch_id: str, known_names=()) -> dict:
    """The run's outcome in numbers and ids: what the CLI prints and the run receipt holds."""
    from collections import Counter

    from governed_agents.safety.pii import redact

    outcomes = {o.invoice_id: o.reason for o in result.outcomes}
    # A screened-out invoice is an exception a person sees, with why: the fields that scored at or
    # above the threshold and their signals (kind, span in the field, weight, excerpt).
    screened = [o for o in result.outcomes if o.reason == "suspected_injection"]
    return {
        "batch_id": batch_id,
        "invoices": len(outcomes),
        "by_reason": dict(sorted(Counter(outcomes.values()).items())),
        "outcomes": outcomes,
        "approval_requests": [r.id for r in requests],
        # excerpts quote the invoice's text: redacted like everything else a receipt keeps
        "injection_evidence": redact({o.invoice_id: list(o.injection) for o in screened[:_MAX_EVIDENCE]},
                                     known_names=known_names),
        "injection_evidence_omitted": max(0, len(screened) - _MAX_EVIDENCE),
    }


_MAX_EVIDENCE = 200  # invoices whose injection evidence a run receipt carries in full


def injection_leaks(result, envelope, *, scorer=None) -> list[dict]:
    """Defence in depth: re-score the text that would reach a write (the proposal's
    memo) independently of the rule that screened the invoice. Anything at or above
    the envelope's threshold is a leak and blocks the run."""
    from governed_agents.safety.injection import score_text

    scorer = scorer or score_text
    threshold = envelope.envelope.safety.block_on_prompt_injection_score_gte
    leaks = []
    scores: dict[str, float] = {}  # a score is a function of the text: score each distinct text once
    evidence: dict[str, object] = {}
    for outcome in result.outcomes:
        if outcome.reason != "matched" or not outcome.proposal:
            continue
        text = str(outcome.proposal.get("memo") or "")
        if not text:
            continue
        if text not in scores:
            evidence[text] = scorer(text, context="data")
            scores[text] = evidence[text].score
        if scores[text] >= threshold:
            leaks.append({"invoice_id": outcome.invoice_id, "score": round(scores[text], 3), "text": text[:200],
                          "signals": [s.to_dict() for s in getattr(evidence.get(text), "signals", ())]})
    return leaks


def checks_of_run(instance, run_id: str) -> list[dict]:
    """The asset-check results recorded so far in a Dagster run (for its receipt)."""
    from dagster import DagsterEventType

    checks = []
    for record in instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION).records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        checks.append({"name": f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}",
                       "passed": bool(evaluation.passed),
                       "details": evaluation.description})
    return checks


class GovernedModelTasks:
    """Model work done as governed tasks, one task per call, for one purpose.

    Each call gets its own ``TaskContext`` (trace id, the envelope, who asked), an otel span
    ``task <purpose>`` and log binding; every model call inside goes through the one gateway
    (budget reservation, downgrade ladder, redacted transcript, audit event). A refusal
    (``GovernanceError``: budget exhausted, every model failing, an unusable answer) is never
    raised to the caller: a ``model.unavailable`` event names the purpose and the error, the task
    is recorded ``refused`` and the caller's fallback is returned. Otherwise the task is
    recorded ``completed`` (the spend report's cost per completed task counts it)."""

    def __init__(self, ledger, envelope, *, purpose: str, run_id: str | None, requested_by: str, agent: str,
                 tenant: str | None = "acme", known_names=()) -> None:
        self.ledger, self.envelope, self.purpose, self.tenant = ledger, envelope, purpose, tenant
        self.run_id, self.requested_by, self.agent, self.known_names = run_id, requested_by, agent, known_names
        self._gateway = None

    def run(self, work: Callable[[Any, Any], Any], *, fallback: Callable[[], Any],
            about: dict | None = None, on_task: Callable[[Any], None] | None = None) -> Any:
        """``work(gateway, task)`` inside a governed task; ``fallback()`` if the task is refused.
        ``about`` is added to the ``model.unavailable`` event; ``on_task(task)`` sees the task
        before any model call (forensics keeps its trace id)."""
        from governed_agents.errors import GovernanceError
        from governed_agents.executor import TaskContext
        from governed_agents.observability import otel
        from governed_agents.routing import ModelGateway, record_task_outcome

        if self._gateway is None:
            self._gateway = ModelGateway(self.ledger)
        task = TaskContext(envelope=self.envelope, requested_by=self.requested_by, agent=self.agent, tenant=self.tenant,
                           run_id=self.run_id, known_names=self.known_names)
        if on_task is not None:
            on_task(task)
        try:
            with otel.task_span(task, f"task {self.purpose}"), task_logging(task):
                value = work(self._gateway, task)
        except GovernanceError as exc:
            self.ledger.append("model.unavailable", {"purpose": self.purpose, "error": exc.message, **(about or {})},
                               actor=self.agent, workflow=self.envelope.envelope.workflow, trace_id=task.trace_id,
                               run_id=self.run_id, envelope_version=self.envelope.version,
                               envelope_digest=self.envelope.digest)
            record_task_outcome(self.ledger, task, "refused", detail=exc.message[:500])
            return fallback()
        record_task_outcome(self.ledger, task, "completed")
        return value


def model_po_extractor(ledger, envelope, *, run_id: str | None = None, requested_by: str = "alice",
                       agent: str = "agent.invoice", tenant: str | None = "acme",
                       known_names=()) -> Callable[[str], str | None]:
    """The hook reconciliation calls for a PO reference that rules cannot read.

    Each call is its own governed task (``GovernedModelTasks``): rules first, then the router
    tier, the reasoning tier only when the router is unsure. A refusal (an exhausted budget, say)
    means no answer: the invoice becomes a ``no_po`` exception a person sees, never a guess.
    """
    tasks = GovernedModelTasks(ledger, envelope, purpose="extract_po_reference", run_id=run_id,
                               requested_by=requested_by, agent=agent, tenant=tenant, known_names=known_names)
    traces: dict[str, str] = {}  # reference text -> the trace of the task that read it (forensics)

    def extract(text: str) -> str | None:
        from governed_agents.routing import find_po_reference

        def remember(task) -> None:
            traces[text] = task.trace_id

        return tasks.run(lambda gateway, task: find_po_reference(gateway, task, text).po_reference,
                         fallback=lambda: None, on_task=remember)

    extract.traces = traces  # type: ignore[attr-defined]
    return extract


def model_justifier(ledger, envelope, *, run_id: str | None = None, requested_by: str = "agent",
                    agent: str = "agent.invoice", tenant: str | None = "acme",
                    known_names=()) -> Callable[[Any, list[str]], tuple[str, str]]:
    """The hook ``propose`` calls to have a model draft each justification.

    Each draft is its own governed task (``GovernedModelTasks``; ``routing.justification``: the
    router tier). Only ids and the tolerance are sent. When no model answers the template of
    ``explain`` is used instead and a ``model.unavailable`` event says so: the entry still needs
    its approval, and its justification is still checked."""
    from governed_agents.safety.citations import policy_id

    tasks = GovernedModelTasks(ledger, envelope, purpose="draft_justification", run_id=run_id,
                               requested_by=requested_by, agent=agent, tenant=tenant, known_names=known_names)

    def justify(outcome, read_ids: list[str]) -> tuple[str, str]:
        from governed_agents.routing.justification import draft_justification

        facts = {"invoice_id": outcome.invoice_id, "po_number": outcome.po_number, "vendor_id": outcome.vendor_id,
                 "policy": policy_id(envelope),
                 "price_tolerance_pct": float(envelope.envelope.parameters.price_tolerance_pct),
                 "records": list(read_ids)}
        return tasks.run(lambda gateway, task: (draft_justification(gateway, task, facts).text, "model"),
                         fallback=lambda: (explain(outcome, envelope), "template"),
                         about={"invoice_id": outcome.invoice_id, "fallback": "template"})

    return justify


def caps_exceeded(ledger, envelope) -> list[dict]:
    """Spend caps of the workflow that are past their limit (the spend check fails on any)."""
    from governed_agents.routing import caps_exceeded as _caps_exceeded

    return [{"budget": c.budget, "scope": c.scope, "period": c.period, "cap_usd": str(c.cap_usd),
             "spent_usd": str(c.spent_usd)} for c in _caps_exceeded(ledger, envelope)]

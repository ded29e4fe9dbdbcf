"""Replay: re-execute a recorded run's deterministic part and compare every decision.

``replay(ledger, ref)`` takes a Dagster run id (of a proposal run) or a trace id,
finds the run's ``replay.recording`` (see ``recording``), and re-runs, from the
recording alone:

1. the envelope check (the recorded envelope still has the recorded digest);
2. reconciliation of the recorded (redacted) input lines against the recorded
   ERP answers, with the recorded model answers standing in for the model
   tier (a reference the recording has no answer for is a divergence: replay
   never calls a model);
3. the gate's decision for each proposed write, against the recorded
   ``tool.decision`` audit event of its trace (same outcome, same reason codes);
4. the approval requirement, against the trace's ``approval.requested`` event;
5. the gate's decision when the approved write was carried out (the posting run),
   from the approval request and the approval decisions recorded before it.

Nothing is written anywhere: no model call, no ERP access (the tool registry
is bound to an empty in-memory database), no ledger write. With ``envelope=``
(a different ``LoadedEnvelope``) the same machinery answers "what would this
envelope have done?" — see ``whatif``.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from governed_agents.canonical import digest
from governed_agents.errors import GovernanceError, UsageError
from governed_agents.forensics.recording import (
    KIND,
    SNAPSHOT_TOOL,
    find_recordings,
    loaded_envelope,
    snapshot_from_slice,
)

WRITE_TOOL = "erp.create_journal_entry"


@dataclass
class Step:
    """One decision, as recorded and as replayed."""

    step: int
    kind: str  # envelope | model | reconcile | gate | approval | posting
    subject: str  # what the decision is about (an invoice id, a reference, the envelope)
    recorded: Any
    replayed: Any
    run_id: str | None = None
    trace_id: str | None = None
    detail: str = ""

    @property
    def same(self) -> bool:
        return self.recorded == self.replayed

    def to_dict(self) -> dict:
        return {"step": self.step, "kind": self.kind, "subject": self.subject, "same": self.same,
                "recorded": self.recorded, "replayed": self.replayed, "run_id": self.run_id,
                "trace_id": self.trace_id, "detail": self.detail}


@dataclass
class RunReplay:
    """The replay of one recorded run, with the facts a what-if needs."""

    run_id: str
    recorded_at: _dt.datetime
    workflow: str
    envelope_digest: str
    steps: list[Step] = field(default_factory=list)
    # Per proposed write: invoice, trace, recorded and replayed gate outcome and reasons.
    writes: list[dict] = field(default_factory=list)
    model_calls: list[dict] = field(default_factory=list)


@dataclass
class ReplayReport:
    ref: str
    scope: str  # run | trace
    runs: list[RunReplay]
    envelope_digest: str | None = None  # the what-if envelope, when one was given

    @property
    def steps(self) -> list[Step]:
        return [s for r in self.runs for s in r.steps]

    @property
    def diverged(self) -> list[Step]:
        return [s for s in self.steps if not s.same]

    @property
    def identical(self) -> bool:
        return bool(self.steps) and not self.diverged

    def to_dict(self) -> dict:
        steps = self.steps
        return {
            "ref": self.ref, "scope": self.scope, "identical": self.identical,
            "runs": [r.run_id for r in self.runs],
            "steps": [s.to_dict() for s in steps],
            "summary": {"steps": len(steps), "same": sum(s.same for s in steps), "diverged": len(self.diverged)},
            "first_divergence": self.diverged[0].to_dict() if self.diverged else None,
        }


# -- resolving a reference -----------------------------------------------------------------


def resolve(ledger, ref: str) -> tuple[str, list, str | None]:
    """``(scope, recordings, trace_id)`` for a run id or a trace id; raises when there is nothing to replay."""
    import sqlalchemy as sa

    from governed_agents.ledger.schema import audit_events

    ref = (ref or "").strip()
    if not ref:
        raise UsageError("give a run id or a trace id to replay")
    recordings = find_recordings(ledger, [ref])
    if recordings:
        return "run", recordings, None
    with ledger.engine.connect() as c:
        runs = [r for (r,) in c.execute(sa.select(audit_events.c.run_id).distinct()
                                        .where(audit_events.c.trace_id == ref)) if r]
    if not runs:
        raise GovernanceError(
            f"nothing recorded under {ref!r}: it is neither a run with a replay recording nor a trace id "
            "in the ledger",
            hint="`governed-agents receipts list` shows run and trace ids; only runs made since replay "
                 "recording exists can be replayed")
    recordings = find_recordings(ledger, runs)
    if not recordings:
        raise GovernanceError(
            f"trace {ref} has audit events (runs {', '.join(sorted(runs))}) but none of its runs left a "
            f"{KIND} event: it cannot be replayed")
    return "trace", recordings, ref


# -- replaying ----------------------------------------------------------------------------


def replay(ledger, ref: str, *, envelope=None) -> ReplayReport:
    """Replay run or trace ``ref`` from its recording; ``envelope`` replaces the recorded one (what-if)."""
    scope, recordings, trace_id = resolve(ledger, ref)
    runs = [replay_recording(ledger, event, envelope=envelope, only_trace=trace_id) for event in recordings]
    return ReplayReport(ref=ref, scope=scope, runs=runs,
                        envelope_digest=envelope.digest if envelope is not None else None)


def replay_recording(ledger, event, *, envelope=None, only_trace: str | None = None) -> RunReplay:
    """Replay one ``replay.recording`` event."""
    from governed_agents.gate import GateState, ToolCallRequest, decide
    from governed_agents.reconcile import InvoiceLine, ReconcileParams, reconcile

    payload = event.payload
    run = RunReplay(run_id=event.run_id, recorded_at=event.ts, workflow=event.workflow,
                    envelope_digest=event.envelope_digest)
    counter = iter(range(1, 1_000_000))

    def add(kind, subject, recorded, replayed, *, trace=None, detail=""):
        run.steps.append(Step(next(counter), kind, subject, recorded, replayed, run_id=event.run_id,
                              trace_id=trace, detail=detail))

    recorded_env = loaded_envelope(payload["envelope"], source=f"recording of run {event.run_id}")
    add("envelope", "recorded envelope digest", event.envelope_digest, recorded_env.digest,
        detail="the recorded envelope, re-validated, has the digest the run ran under")
    env = envelope or recorded_env

    lines = [InvoiceLine(**d) for d in payload["inputs"]["lines"]]
    results = {r["tool"]: r["result"] for r in payload.get("tool_results", [])}
    if SNAPSHOT_TOOL not in results:
        raise GovernanceError(f"the recording of run {event.run_id} has no {SNAPSHOT_TOOL} result")
    snapshot = snapshot_from_slice(results[SNAPSHOT_TOOL])
    answers = {m["reference"]: m["answer"] for m in payload.get("model_responses", [])}
    missing: list[str] = []

    def recorded_model(reference: str) -> str | None:
        if reference in answers:
            return answers[reference]
        missing.append(reference)  # a model would have been asked: replay never asks one
        return None

    result = reconcile(lines, snapshot, params=ReconcileParams.from_envelope(env), po_extractor=recorded_model)
    for reference in missing:
        add("model", reference, "no model call", "a model call would be needed",
            detail="the replay reached a PO reference the recorded run never asked the model about")

    # Invoice → trace, from the run's approval requests and gate decisions.
    traces, decisions, requested = _run_audit(ledger, event.run_id)
    replayed = {o.invoice_id: o for o in result.outcomes}
    wanted_invoice = None
    if only_trace is not None:
        wanted_invoice = next((inv for inv, t in traces.items() if t == only_trace), None)

    for recorded in payload["decisions"]:
        invoice = recorded["invoice_id"]
        if wanted_invoice is not None and invoice != wanted_invoice:
            continue
        outcome = replayed.pop(invoice, None)
        mine = {"reason": recorded["reason"], "proposal_digest": recorded["proposal_digest"]}
        again = ({"reason": outcome.reason, "proposal_digest": digest(outcome.proposal) if outcome.proposal else None}
                 if outcome is not None else None)
        add("reconcile", invoice, mine, again, trace=traces.get(invoice),
            detail=(outcome.details if outcome is not None else "the replay saw no such invoice"))
    if wanted_invoice is None:
        for invoice, outcome in replayed.items():
            add("reconcile", invoice, None, {"reason": outcome.reason}, detail="an invoice the run did not decide")

    # The gate's decision on each proposed write, and whether it needed approval.
    registry = _registry(env.workflow)
    outcomes = {o.invoice_id: o for o in result.outcomes}
    invoices = [d["invoice_id"] for d in payload["decisions"]
                if d["reason"] == "matched" or outcomes.get(d["invoice_id"]) is not None
                and outcomes[d["invoice_id"]].reason == "matched"]
    for invoice in invoices:
        if wanted_invoice is not None and invoice != wanted_invoice:
            continue
        trace = traces.get(invoice)
        recorded = decisions.get(trace) if trace else None
        outcome = outcomes.get(invoice)
        again = None
        if outcome is not None and outcome.reason == "matched" and outcome.proposal:
            state = GateState(now=(recorded or {}).get("ts") or event.ts, **(recorded or {}).get("state", {}))
            decision = decide(env, registry, ToolCallRequest(
                tool=WRITE_TOOL, arguments=outcome.proposal, task_id=trace or invoice, trace_id=trace or invoice,
                workflow=env.workflow, principal="agent.invoice"), state)
            again = {"outcome": decision.outcome, "reasons": list(decision.codes)}
        mine = {"outcome": recorded["outcome"], "reasons": recorded["reasons"]} if recorded else None
        add("gate", f"{WRITE_TOOL} {invoice}", mine, again, trace=trace,
            detail="; ".join(recorded["messages"]) if recorded else "no recorded gate decision for this invoice")
        needs = again is not None and again["outcome"] == "needs_approval"
        asked = bool(trace and trace in requested)
        add("approval", invoice, {"approval_requested": asked}, {"approval_requested": needs}, trace=trace,
            detail=f"approval request {requested[trace]}" if asked else "")
        run.writes.append({"invoice_id": invoice, "trace_id": trace, "recorded": mine, "replayed": again})
    for w in list(run.writes):
        if w["trace_id"]:
            _replay_postings(ledger, run, env, registry, w, add)
    run.model_calls = _model_calls(ledger, event.run_id, payload)
    return run


def _replay_postings(ledger, run: RunReplay, env, registry, write: dict, add) -> None:
    """The trace's later decisions on its write (the posting run: the write with its approval).

    Inputs: the approval request's arguments; the approval as it stood at the decision
    (the decisions recorded before it, the request's expiry and quorum); the preview digest
    the write was checked against (the executed write's, else the approved one). The kill
    switch state is not recorded: a recorded ``kill_switch`` refusal replays as a divergence.
    """
    import sqlalchemy as sa

    from governed_agents.approvals import get_request
    from governed_agents.gate import ApprovalEvidence, GateState, ToolCallRequest, decide
    from governed_agents.ledger.audit import AuditEvent, as_utc
    from governed_agents.ledger.schema import audit_events

    trace = write["trace_id"]
    with ledger.engine.connect() as c:
        events = [AuditEvent.from_row(r) for r in c.execute(
            sa.select(audit_events).where(audit_events.c.trace_id == trace,
                                          audit_events.c.kind.in_(["tool.decision", "tool.executed"]),
                                          audit_events.c.run_id != run.run_id)
            .order_by(audit_events.c.seq)).mappings()]
    for i, e in enumerate(events):
        request_id = e.payload.get("approval_request_id")
        if e.kind != "tool.decision" or not request_id or e.payload.get("tool") != WRITE_TOOL:
            continue
        request = get_request(ledger, request_id)
        at = as_utc(e.ts)
        before = [d for d in request.decisions if as_utc(d.decided_at) <= at]
        approvers = tuple(d.approver for d in before if d.decision == "approve")
        if any(d.decision == "reject" for d in before):
            status = "rejected"
        elif len(set(approvers)) >= request.min_approvals:
            status = "approved"
        elif at >= as_utc(request.expires_at):
            status = "expired"
        else:
            status = "pending"
        executed = next((x for x in events[i + 1:] if x.kind == "tool.executed"
                         and x.payload.get("approval_request_id") == request_id), None)
        preview_digest = executed.payload.get("preview_digest") if executed else request.preview_digest
        evidence = ApprovalEvidence(request_id=request.id, status=status, approvers=approvers,
                                    preview_digest=request.preview_digest, expires_at=request.expires_at,
                                    min_approvals_met=len(set(approvers)) >= request.min_approvals)
        decision = decide(env, registry, ToolCallRequest(
            tool=WRITE_TOOL, arguments=request.arguments, task_id=trace, trace_id=trace, workflow=env.workflow,
            principal="agent.invoice", approval=evidence, preview_digest=preview_digest), GateState(now=at))
        recorded = e.payload.get("decision", {})
        mine = {"outcome": recorded.get("outcome"), "reasons": [r.get("code") for r in recorded.get("reasons", [])]}
        again = {"outcome": decision.outcome, "reasons": list(decision.codes)}
        add("posting", f"{WRITE_TOOL} {write['invoice_id']} (approval {request_id})", mine, again, trace=trace,
            detail=f"run {e.run_id}: approval {status} by {', '.join(approvers) or 'nobody'} at the decision")
        run.writes.append({"invoice_id": write["invoice_id"], "trace_id": trace, "recorded": mine,
                           "replayed": again, "posting_run_id": e.run_id, "approval_request_id": request_id})


def _run_audit(ledger, run_id: str) -> tuple[dict[str, str], dict[str, dict], dict[str, str]]:
    """``(invoice → trace, trace → recorded write decision, trace → approval request id)`` of a run."""
    import json

    import sqlalchemy as sa

    from governed_agents.ledger.audit import AuditEvent
    from governed_agents.ledger.schema import approval_requests, audit_events

    traces: dict[str, str] = {}
    decisions: dict[str, dict] = {}
    requested: dict[str, str] = {}
    with ledger.engine.connect() as c:
        for row in c.execute(sa.select(approval_requests.c.trace_id, approval_requests.c.arguments)
                             .where(approval_requests.c.run_id == run_id)):
            invoice = json.loads(row.arguments).get("invoice_id")
            if invoice and row.trace_id:
                traces[invoice] = row.trace_id
        events = [AuditEvent.from_row(r) for r in c.execute(
            sa.select(audit_events).where(audit_events.c.run_id == run_id,
                                          audit_events.c.kind.in_(["tool.decision", "approval.requested"]))
            .order_by(audit_events.c.seq)).mappings()]
    for e in events:
        if e.kind == "approval.requested" and e.trace_id:
            requested.setdefault(e.trace_id, e.payload.get("request_id"))
        elif e.kind == "tool.decision" and e.trace_id and e.payload.get("tool") == WRITE_TOOL:
            d = e.payload.get("decision", {})
            if e.trace_id in decisions:
                continue  # the first decision of the trace in this run is the proposal's
            state = e.payload.get("state") or {}
            decisions[e.trace_id] = {
                "outcome": d.get("outcome"), "reasons": [r.get("code") for r in d.get("reasons", [])],
                "messages": [r.get("message") for r in d.get("reasons", [])], "ts": e.ts,
                "input_digest": d.get("input_digest"),
                "state": {k: state[k] for k in ("tool_calls_made", "tokens_used", "kill_switch_global",
                                                 "kill_switch_workflow") if k in state},
            }
    return traces, decisions, requested


def _model_calls(ledger, run_id: str, payload: dict) -> list[dict]:
    """The run's model calls, for cost questions: those behind the recorded answers (their tasks'
    audit events) and every other call the run made (e.g. the justifications its proposals drafted)."""
    traces = [m["trace_id"] for m in payload.get("model_responses", []) if m.get("trace_id")]
    events = {e.seq: e for trace in traces for e in ledger.events(trace_id=trace, kind="model.call")}
    if run_id:
        events.update({e.seq: e for e in ledger.events(kind="model.call") if e.run_id == run_id})
    calls = []
    for seq in sorted(events):
        e = events[seq]
        p = e.payload
        calls.append({"trace_id": e.trace_id, "task_id": p.get("task_id"), "seq": e.seq, "tier": p.get("tier"),
                      "model": p.get("model"), "input_tokens": p.get("input_tokens", 0),
                      "output_tokens": p.get("output_tokens", 0), "cost_usd": str(p.get("cost_usd", "0"))})
    return calls


def _registry(workflow: str):
    """The workflow's tool registry, bound to nothing real (replay reads no system)."""
    if workflow == "invoice_reconcile":
        import sqlalchemy as sa

        from governed_agents.erp.tools import erp_toolset

        return erp_toolset(sa.create_engine("sqlite://"))[0]
    from governed_agents.workflows import TOOLSETS

    factory = TOOLSETS.get(workflow)
    if factory is None:
        raise GovernanceError(f"no toolset is registered for workflow {workflow!r}")
    return factory()[0]


__all__ = ["ReplayReport", "RunReplay", "Step", "replay", "replay_recording", "resolve"]

"""One trace, the whole story: ``build_trace(ledger, trace_id)`` and ``render_trace(story)``.

Every record of a governed task carries its trace id: audit events (gate
decisions, model calls, approvals, writes), approval requests, idempotency keys,
spend reservations, transcripts, receipts, and the Dagster posting run (tag
``governed_agents/trace_id``, set by the approval sensor from the request). The
proposal run is found through the run id its events carry.

The story, in order:

- ``inputs``: the invoice lines the task started from, from its run's replay
  recording — redacted per the envelope when it was recorded;
- ``model_calls``: tier, model, tokens, cost — the task's own and those of the
  PO-extraction tasks that read its invoice's reference;
- ``decisions``: each gate decision with its reasons;
- ``checks``: the asset checks of the runs the task went through (run receipts);
- ``approvals``: requested, approved / rejected, with who and why;
- ``writes``: each executed write with before → after;
- ``receipts``: the task's receipts and its runs' run receipts;
- ``timeline``: every audit event of the trace in chain order.
"""

from __future__ import annotations

import json
from typing import Any

from governed_agents.errors import GovernanceError


def _events_of(ledger, trace_id: str) -> list:
    return ledger.events(trace_id=trace_id)


def _approval_requests(ledger, trace_id: str) -> list[dict]:
    import sqlalchemy as sa

    from governed_agents.ledger.schema import approval_requests

    with ledger.engine.connect() as c:
        rows = c.execute(sa.select(approval_requests).where(approval_requests.c.trace_id == trace_id)
                         .order_by(approval_requests.c.created_at)).mappings().all()
    out = []
    for r in rows:
        out.append({"id": r["id"], "status": r["status"], "action": r["action"], "run_id": r["run_id"],
                    "batch_id": r["batch_id"], "arguments": json.loads(r["arguments"]),
                    "preview": json.loads(r["preview"]), "preview_digest": r["preview_digest"],
                    "requested_by": r["requested_by"], "reason": r["reason"], "created_at": r["created_at"],
                    "expires_at": r["expires_at"]})
    return out


def _receipts(ledger, trace_id: str, run_ids: list[str]) -> list:
    import sqlalchemy as sa

    from governed_agents.ledger.schema import receipts
    from governed_agents.receipts.store import get_receipt

    cond = receipts.c.trace_id == trace_id
    if run_ids:
        cond = cond | (receipts.c.run_id.in_(run_ids) & (receipts.c.kind == "run"))
    with ledger.engine.connect() as c:
        ids = [r for (r,) in c.execute(sa.select(receipts.c.id).where(cond).order_by(receipts.c.created_at))]
    return [get_receipt(ledger, i) for i in ids]


def dagster_runs(trace_id: str, run_ids: list[str], instance=None) -> list[dict]:
    """Dagster runs of the trace: tagged with it (posting runs) or named by its events (the proposal run)."""
    if instance is None:
        return []
    import dagster as dg

    from governed_agents.dagster.metadata import TAG_TRACE

    found: dict[str, Any] = {}
    for run in instance.get_runs(filters=dg.RunsFilter(tags={TAG_TRACE: trace_id})):
        found[run.run_id] = run
    missing = [r for r in run_ids if r not in found]
    if missing:
        for run in instance.get_runs(filters=dg.RunsFilter(run_ids=missing)):
            found[run.run_id] = run
    return [{"run_id": r.run_id, "job": r.job_name, "status": r.status.value,
             "tagged_with_trace": r.tags.get(TAG_TRACE) == trace_id,
             "approval_id": r.tags.get("governed_agents/approval_id")} for r in found.values()]


def build_trace(ledger, trace_id: str, *, instance=None) -> dict:
    """Everything the ledger (and, given ``instance``, Dagster) knows about ``trace_id``, in order."""
    from governed_agents.forensics.recording import find_recordings

    trace_id = (trace_id or "").strip()
    events = _events_of(ledger, trace_id)
    requests = _approval_requests(ledger, trace_id)
    if not events and not requests:
        raise GovernanceError(f"no audit event carries trace id {trace_id!r}",
                              hint="trace ids are in receipts (`governed-agents receipts list --json`), approval "
                                   "requests and the Dagster run tag governed_agents/trace_id")
    run_ids = sorted({e.run_id for e in events if e.run_id} | {r["run_id"] for r in requests if r["run_id"]})
    workflow = next((e.workflow for e in events if e.workflow), None)
    invoice_id = next((r["arguments"].get("invoice_id") for r in requests if r["arguments"].get("invoice_id")), None)

    # Inputs and the model calls behind them, from the run's replay recording.
    inputs: list[dict] = []
    linked_traces: list[str] = []
    for rec in find_recordings(ledger, run_ids):
        payload = rec.payload
        if invoice_id:
            lines = [ln for ln in payload["inputs"]["lines"] if (ln.get("invoice_id") or "").strip() == invoice_id]
            refs = {(ln.get("po_reference") or "").strip() for ln in lines}
            inputs.extend({"run_id": rec.run_id, "redacted": payload.get("redacted", False), **ln} for ln in lines)
            linked_traces += [m["trace_id"] for m in payload.get("model_responses", [])
                              if m.get("trace_id") and m["reference"] in refs]
        for m in payload.get("model_responses", []):
            if m.get("trace_id") == trace_id:
                inputs.append({"run_id": rec.run_id, "redacted": payload.get("redacted", False),
                               "po_reference": m["reference"], "answer": m["answer"]})

    model_calls = []
    for via, trace in [(None, trace_id)] + [(t, t) for t in linked_traces if t != trace_id]:
        source = events if trace == trace_id else _events_of(ledger, trace)
        for e in source:
            if e.kind != "model.call":
                continue
            p = e.payload
            model_calls.append({"seq": e.seq, "ts": e.ts, "via_trace": via, "purpose": p.get("purpose"),
                                "requested_tier": p.get("requested_tier"), "tier": p.get("tier"),
                                "model": p.get("model"), "input_tokens": p.get("input_tokens"),
                                "output_tokens": p.get("output_tokens"), "cost_usd": p.get("cost_usd"),
                                "offline_model": p.get("offline_model"), "cached": p.get("cached"),
                                "transcript_id": p.get("transcript_id")})

    decisions, approvals, writes = [], [], []
    for e in events:
        p = e.payload
        if e.kind == "tool.decision":
            d = p.get("decision", {})
            decisions.append({"seq": e.seq, "ts": e.ts, "run_id": e.run_id, "tool": p.get("tool"),
                              "outcome": d.get("outcome"), "reasons": d.get("reasons", []),
                              "approval_request_id": p.get("approval_request_id"),
                              "envelope_version": e.envelope_version})
        elif e.kind.startswith("approval."):
            approvals.append({"seq": e.seq, "ts": e.ts, "event": e.kind, "actor": e.actor,
                              "request_id": p.get("request_id"), "decision": p.get("decision"),
                              "reason": p.get("reason"), "status": p.get("status")})
    receipts = _receipts(ledger, trace_id, run_ids)
    for signed in receipts:
        r = signed.receipt
        if r.kind.startswith("write_"):
            writes.append({"receipt_id": r.receipt_id, "kind": r.kind, "run_id": r.run_id,
                           "before": r.state_before, "after": r.state_after, "changes": list(r.changes),
                           "idempotency_key": r.idempotency_key, "notes": r.notes})
    if not writes:
        # Not executed (yet): what the approvers were shown is the write's before → after.
        for r in requests:
            writes.append({"approval_request_id": r["id"], "kind": f"proposed ({r['status']})",
                           "run_id": r["run_id"], "before": r["preview"].get("before"),
                           "after": r["preview"].get("after"), "changes": r["preview"].get("changes", [])})
    checks = []
    for signed in receipts:
        for check in signed.receipt.checks:
            checks.append({"run_id": signed.receipt.run_id,
                           **(check.model_dump(mode="json") if hasattr(check, "model_dump") else dict(check))})

    return {
        "trace_id": trace_id,
        "workflow": workflow,
        "invoice_id": invoice_id,
        "envelopes": sorted({f"{e.envelope_version} {e.envelope_digest}" for e in events if e.envelope_digest}),
        "runs": run_ids,
        "dagster_runs": dagster_runs(trace_id, run_ids, instance),
        "inputs": inputs,
        "model_calls": model_calls,
        "decisions": decisions,
        "checks": checks,
        "approvals": approvals,
        "writes": writes,
        "receipts": [{"receipt_id": s.receipt.receipt_id, "kind": s.receipt.kind, "run_id": s.receipt.run_id,
                      "audit_anchor": f"#{s.receipt.audit_anchor.seq}", "cost_usd": s.receipt.cost_usd,
                      "notes": s.receipt.notes} for s in receipts],
        "timeline": [{"seq": e.seq, "ts": e.ts, "kind": e.kind, "actor": e.actor, "run_id": e.run_id}
                     for e in events],
    }


def _value(v: Any) -> str:
    if isinstance(v, (dict, list)):
        return json.dumps(v, sort_keys=True, ensure_ascii=False, default=str)
    return "" if v is None else str(v)


def render_trace(story: dict) -> str:
    """The story for a person: one section per kind of record, each in order."""
    out = [f"trace {story['trace_id']}  workflow {story['workflow'] or '?'}"
           + (f"  invoice {story['invoice_id']}" if story.get("invoice_id") else "")]
    for env in story["envelopes"]:
        out.append(f"  envelope {env}")
    runs = {r["run_id"]: r for r in story["dagster_runs"]}
    for run_id in sorted(set(story["runs"]) | set(runs)):
        r = runs.get(run_id)
        out.append(f"  run {run_id}" + (f"  {r['job']} {r['status']}" + ("  (tagged)" if r["tagged_with_trace"] else "")
                                        if r else ""))

    def section(title: str, rows: list, fmt) -> None:
        out.append("")
        out.append(f"{title} ({len(rows)})")
        if not rows:
            out.append("  none")
        for row in rows:
            out.extend("  " + line for line in fmt(row))

    section("inputs", story["inputs"], lambda r: [
        ("(redacted) " if r.get("redacted") else "") + ", ".join(
            f"{k}={_value(v)}" for k, v in r.items() if k not in ("run_id", "redacted") and v not in (None, ""))])
    section("model calls", story["model_calls"], lambda m: [
        f"#{m['seq']} {m['purpose'] or 'call'}: tier {m['tier']} ({m['requested_tier']}) model {m['model']}, "
        f"{m['input_tokens']}+{m['output_tokens']} tokens, ${m['cost_usd']}"
        + (" offline" if m["offline_model"] else "") + (" cached" if m["cached"] else "")
        + (f"  [via extraction task {m['via_trace'][:12]}…]" if m["via_trace"] else "")])
    section("gate decisions", story["decisions"], lambda d: [
        f"#{d['seq']} {d['tool']}: {d['outcome']}"
        + (f" (approval {d['approval_request_id']})" if d["approval_request_id"] else "")]
        + [f"    {r.get('code')}: {r.get('message')}" for r in d["reasons"]])
    section("checks", story["checks"], lambda c: [
        f"{c.get('name', c.get('check'))}: {'passed' if c.get('passed') else 'FAILED'}"
        + (f" — {c['details']}" if c.get("details") else "")])
    section("approvals", story["approvals"], lambda a: [
        f"#{a['seq']} {a['event']} by {a['actor']}" + (f": {a['decision']}" if a["decision"] else "")
        + (f" ({a['reason']})" if a["reason"] else "") + (f" -> {a['status']}" if a["status"] else "")])
    section("writes", story["writes"], lambda w: [
        f"{w['kind']}" + (f" receipt {w['receipt_id']}" if w.get("receipt_id") else ""),
        f"    before: {_value(w['before']) or '(nothing)'}",
        f"    after:  {_value(w['after']) or '(nothing)'}"] + [f"    {c}" for c in w["changes"]])
    section("receipts", story["receipts"], lambda r: [
        f"{r['kind']} {r['receipt_id']} run {r['run_id'] or '-'} anchor {r['audit_anchor']} cost ${r['cost_usd']}"])
    section("timeline", story["timeline"], lambda e: [
        f"#{e['seq']} {_value(e['ts'])[:23]} {e['kind']} by {e['actor'] or '-'}"])
    return "\n".join(out)


__all__ = ["build_trace", "dagster_runs", "render_trace"]

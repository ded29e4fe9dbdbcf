"""Undo: the compensating write for an executed write, through the ordinary gate.

A write tool says at registration whether it can be undone (``reversible=True``
and ``compensate=fn(receipt) -> Compensation``, see ``gate/registry.py``).
``undo(ledger, receipt_id, ...)`` takes the receipt of an executed write and:

- refuses (``UndoRefused``, one ``undo.refused`` audit event, nothing else
  written) when the receipt is not an executed write, its tool is not
  undoable, or the write is already reversed or has an undo waiting;
- otherwise records ``undo.proposed`` and calls the compensating tool through
  ``GovernedExecutor.call`` in a task of its own: under an envelope that gates
  writes this makes an approval request (preview + approvers, exactly like any
  other write); under one that lets the write run, it runs;
- once that request is approved, ``undo`` again (or the workflow's approval
  sensor, which resumes every decided request of the workflow) executes it.

However the compensating write executes, the executor asks ``reversal_of``
whether its task is an undo and, if so, links the new receipt to the original
(``extra.reverses_receipt_id``) and appends ``write.reversed`` with
``{workflow, original_receipt_id, reversal_receipt_id, seconds_to_correct}``
in the same transaction (the autonomy rules demote a workflow on that event).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from governed_agents.errors import GovernanceError
from governed_agents.ledger.schema import approval_requests, audit_events, idempotency_keys

PROPOSED = "undo.proposed"
REFUSED = "undo.refused"
REVERSED = "write.reversed"


class UndoRefused(GovernanceError):
    """The write cannot be undone (or not now); ``code`` says why."""

    def __init__(self, message: str, *, code: str, hint: str | None = None, details: dict | None = None):
        super().__init__(message, hint=hint, details={"code": code, **(details or {})})
        self.code = code


@dataclass(frozen=True)
class UndoResult:
    """What ``undo`` did: proposed (an approval request waits) or executed (a reversal receipt)."""

    status: str  # proposed | executed
    original_receipt_id: str
    workflow: str
    tool: str
    compensation_tool: str
    summary: str
    approval_request_id: str | None = None
    reversal_receipt_id: str | None = None
    seconds_to_correct: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def undo(ledger, receipt_id: str, *, requested_by: str, executor=None, agent: str = "agent.undo",
         tenant: str | None = "acme") -> UndoResult:
    """Propose (or, once approved, carry out) the compensation of receipt ``receipt_id``."""
    from governed_agents.receipts.store import get_receipt

    try:
        signed = get_receipt(ledger, receipt_id)
    except GovernanceError as exc:
        _refuse(ledger, None, receipt_id, requested_by, "unknown_receipt", exc.message,
                hint="list receipts with: governed-agents receipts list")
    receipt = signed.receipt
    if receipt.kind != "write_executed":
        _refuse(ledger, receipt, receipt_id, requested_by, "not_an_executed_write",
                f"receipt {receipt.receipt_id} is a {receipt.kind} receipt: only an executed write can be undone")
    tool = _tool_of(ledger, receipt)
    if executor is None:
        from governed_agents.workflows import executor_for

        executor = executor_for(receipt.workflow, ledger)
    spec = executor.registry.spec(tool) if tool else None
    if spec is None or not spec.undoable:
        why = ("it is registered reversible=False" if spec is not None and not spec.reversible
               else "it registers no compensation" if spec is not None else "its tool is not registered")
        _refuse(ledger, receipt, receipt.receipt_id, requested_by, "not_reversible",
                f"{tool or 'this write'} cannot be undone: {why} (receipt {receipt.receipt_id})",
                hint="correct it by hand and record why; nothing was written")
    compensation = spec.compensate(receipt)
    comp_spec = executor.registry.spec(compensation.tool)
    if compensation.tool != spec.compensation_tool or comp_spec is None or not comp_spec.is_write:
        _refuse(ledger, receipt, receipt.receipt_id, requested_by, "compensation_not_registered",
                f"{tool} names {compensation.tool} as its compensation, which is not a registered write "
                f"tool of {receipt.workflow}")
    key = comp_spec.idempotency_key(comp_spec.input_model.model_validate(compensation.arguments))

    with ledger.engine.connect() as c:
        done = c.execute(select(idempotency_keys).where(
            idempotency_keys.c.key == key, idempotency_keys.c.status == "done")).first()
        open_request = c.execute(select(approval_requests).where(
            approval_requests.c.idempotency_key == key, approval_requests.c.action == compensation.tool,
            approval_requests.c.status.in_(["pending", "approved"])).order_by(
            approval_requests.c.created_at.desc())).first()
    if done is not None:
        _refuse(ledger, receipt, receipt.receipt_id, requested_by, "already_reversed",
                f"receipt {receipt.receipt_id} is already reversed (reversal receipt {done._mapping['receipt_id']})")

    from governed_agents.envelope import find_envelope
    from governed_agents.executor import TaskContext

    envelope = find_envelope(receipt.workflow)
    base = dict(workflow=receipt.workflow, original_receipt_id=receipt.receipt_id, tool=tool,
                compensation_tool=compensation.tool, summary=compensation.summary)
    if open_request is not None:
        request = dict(open_request._mapping)
        if request["status"] == "pending":
            _refuse(ledger, receipt, receipt.receipt_id, requested_by, "undo_pending",
                    f"an undo of receipt {receipt.receipt_id} is waiting for approval (request {request['id']})",
                    hint=f"approve it with: governed-agents approvals approve {request['id']}")
        # Approved: carry it out, in the undo task the request was made in.
        task = TaskContext(envelope=envelope, requested_by=request["requested_by"], agent=agent,
                           tenant=request["tenant"], task_id=request["trace_id"], trace_id=request["trace_id"])
        result = executor.call(task, request["action"], json.loads(request["arguments"]),
                               approval_request_id=request["id"])
        return _outcome(ledger, result, base, request["id"])

    task = TaskContext(envelope=envelope, requested_by=requested_by, agent=agent, tenant=tenant)
    ledger.append(PROPOSED, {**base, "idempotency_key": key}, actor=requested_by, workflow=receipt.workflow,
                  trace_id=task.trace_id, envelope_version=envelope.version, envelope_digest=envelope.digest)
    result = executor.call(task, compensation.tool, compensation.arguments,
                           reason=f"undo of receipt {receipt.receipt_id}: {compensation.summary}")
    return _outcome(ledger, result, base, None)


def _outcome(ledger, result, base: dict, request_id: str | None) -> UndoResult:
    if result.outcome == "needs_approval":
        return UndoResult("proposed", approval_request_id=result.approval_request.id, **base)
    if result.outcome in ("executed", "duplicate") and result.receipt is not None:
        reversal = result.receipt.receipt
        return UndoResult("executed", approval_request_id=request_id or reversal.approval_request_id,
                          reversal_receipt_id=reversal.receipt_id,
                          seconds_to_correct=reversal.extra.get("seconds_to_correct"), **base)
    notes = result.receipt.receipt.notes if result.receipt is not None else None
    reasons = "; ".join(r.message for r in result.decision.reasons) if result.decision is not None else ""
    raise UndoRefused(f"the compensating write was {result.outcome}: {notes or reasons or 'no reason given'}",
                      code=f"compensation_{result.outcome}",
                      details={"receipt_id": result.receipt.receipt.receipt_id if result.receipt else None})


def _tool_of(ledger, receipt) -> str | None:
    """The write tool behind a receipt: its idempotency key's row, else its last tool call."""
    with ledger.engine.connect() as c:
        row = c.execute(select(idempotency_keys.c.tool).where(
            idempotency_keys.c.receipt_id == receipt.receipt_id)).first()
    if row is not None:
        return row[0]
    return receipt.tool_calls[-1].tool if receipt.tool_calls else None


def _refuse(ledger, receipt, receipt_id: str, requested_by: str, code: str, message: str,
            hint: str | None = None):
    ledger.append(REFUSED, {"receipt_id": receipt_id, "code": code, "message": message},
                  actor=requested_by, workflow=receipt.workflow if receipt is not None else None,
                  trace_id=receipt.trace_id if receipt is not None else None)
    raise UndoRefused(message, code=code, hint=hint)


# -- called by the executor when a write executes ---------------------------------------------


def reversal_of(conn, trace_id: str) -> str | None:
    """The receipt a write in task ``trace_id`` reverses, if that task is an undo."""
    row = conn.execute(select(audit_events.c.payload).where(
        audit_events.c.trace_id == trace_id, audit_events.c.kind == PROPOSED).limit(1)).first()
    return json.loads(row[0])["original_receipt_id"] if row is not None else None


def seconds_between(conn, ledger, original_receipt_id: str, finished) -> float:
    from governed_agents.receipts.store import get_receipt

    original = get_receipt(ledger, original_receipt_id, conn=conn).receipt
    return round((finished - original.finished_at).total_seconds(), 3)


def record_reversal(ledger, conn, *, original_receipt_id: str, reversal_receipt_id: str,
                    seconds_to_correct: float, workflow: str, **context) -> None:
    """Append ``write.reversed`` (in the transaction of the reversal's receipt); ``context``
    is the executor's audit context (actor, trace, run, envelope)."""
    ledger.append(REVERSED, {"workflow": workflow, "original_receipt_id": original_receipt_id,
                             "reversal_receipt_id": reversal_receipt_id,
                             "seconds_to_correct": seconds_to_correct},
                  conn=conn, workflow=workflow, **context)


__all__ = ["UndoRefused", "UndoResult", "reversal_of", "record_reversal", "undo"]

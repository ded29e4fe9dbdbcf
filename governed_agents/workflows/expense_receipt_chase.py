"""expense_receipt_chase: remind employees of missing receipts, autonomously within bounds.

Built only from its envelope (``policies/expense_receipt_chase.yaml``: pattern
``autonomous_bounded`` with ``permissions.autonomous_writes`` for
``outbox.send_reminder``), the expense tools (``erp/expenses.py``) and its
assets. The bounds are the gate's (``governed_agents/bounds.py``), not this
module's: it only calls tools through the executor and reports what happened.

1. ``chase``: one governed read (``expenses.find_missing_receipts``), then one
   governed task per transaction calling ``outbox.send_reminder``. Inside the
   bounds the reminder is sent at once (receipt, no approval); past a bound or
   above the amount it becomes an approval request — never a silent drop. A
   transaction with an open request is not asked about twice.
2. ``send_approved``: once a request is decided, the write through the executor.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field

from sqlalchemy import select

WORKFLOW = "expense_receipt_chase"
FIND_TOOL = "expenses.find_missing_receipts"
SEND_TOOL = "outbox.send_reminder"
AGENT = "agent.expenses"


@dataclass
class ChaseSummary:
    run_id: str
    missing: int = 0
    outcomes: dict[str, str] = field(default_factory=dict)  # txn_id -> sent | needs_approval | ...
    reasons: dict[str, list[str]] = field(default_factory=dict)  # txn_id -> gate reason codes
    approval_requests: list[str] = field(default_factory=list)
    receipts: list[str] = field(default_factory=list)

    @property
    def by_outcome(self) -> dict[str, int]:
        return dict(sorted(Counter(self.outcomes.values()).items()))

    def to_dict(self) -> dict:
        return {**asdict(self), "by_outcome": self.by_outcome}


def toolset():
    from governed_agents.erp.connector import erp_engine
    from governed_agents.erp.expenses import expenses_toolset

    return expenses_toolset(erp_engine())


def chase(executor, envelope, *, requested_by: str, run_id: str | None = None, tenant: str | None = "acme",
          today=None, known_names=()) -> ChaseSummary:
    """Find transactions without a receipt and send (or ask to send) one reminder each.

    ``known_names``: the ERP's person names (``erp.people.known_names``), redacted in every
    receipt and approval reason the run writes."""
    from governed_agents.erp.expenses import SendReminderInput, reminder_key
    from governed_agents.executor import TaskContext
    from governed_agents.ledger.schema import approval_requests
    from governed_agents.timeutil import utcnow

    run_id = run_id or uuid.uuid4().hex
    today = (today or utcnow().date()).isoformat()
    summary = ChaseSummary(run_id=run_id)
    after_days = int(envelope.envelope.parameters.extra.get("chase_after_days", 0))
    read = TaskContext(envelope=envelope, requested_by=requested_by, agent=AGENT, tenant=tenant, run_id=run_id,
                       known_names=known_names)
    found = executor.call(read, FIND_TOOL, {"older_than_days": after_days})
    if not found.ok:
        raise RuntimeError(f"{FIND_TOOL} was {found.outcome}: " + "; ".join(r.message for r in found.decision.reasons))
    summary.missing = len(found.output.transactions)
    for txn in found.output.transactions:
        arguments = {"employee_id": txn.employee_id, "txn_id": txn.txn_id, "amount": str(txn.amount),
                     "currency": txn.currency, "reminder_date": today}
        key = reminder_key(SendReminderInput.model_validate(arguments))
        with executor.ledger.engine.connect() as c:
            open_request = c.execute(select(approval_requests.c.id).where(
                approval_requests.c.idempotency_key == key,
                approval_requests.c.status.in_(["pending", "approved"]))).first()
        if open_request is not None:
            summary.outcomes[txn.txn_id] = "awaiting_approval"
            continue
        task = TaskContext(envelope=envelope, requested_by=requested_by, agent=AGENT, tenant=tenant, run_id=run_id,
                           known_names=known_names)
        result = executor.call(task, SEND_TOOL, arguments, batch_id=run_id,
                               reason=f"no receipt for {txn.txn_id} ({txn.amount} {txn.currency}, {txn.txn_date})")
        summary.reasons[txn.txn_id] = list(result.decision.codes) if result.decision is not None else []
        if result.outcome == "executed":
            summary.outcomes[txn.txn_id] = "sent"
            summary.receipts.append(result.receipt.receipt.receipt_id)
        elif result.outcome == "needs_approval":
            summary.outcomes[txn.txn_id] = "needs_approval"
            summary.approval_requests.append(result.approval_request.id)
        elif result.outcome == "duplicate":
            summary.outcomes[txn.txn_id] = "already_sent"
        else:
            summary.outcomes[txn.txn_id] = result.outcome
    return summary


def send_approved(request_id: str, executor, envelope, *, run_id: str | None = None, known_names=()):
    """Carry out a decided approval request: send once, or a receipt saying why not."""
    from governed_agents.approvals import get_request
    from governed_agents.executor import TaskContext

    request = get_request(executor.ledger, request_id)
    task = TaskContext(envelope=envelope, requested_by=request.requested_by, agent=AGENT, tenant=request.tenant,
                       task_id=request.trace_id or uuid.uuid4().hex,
                       trace_id=request.trace_id or uuid.uuid4().hex, run_id=run_id or request.run_id,
                       known_names=known_names)
    return executor.call(task, request.action, request.arguments, approval_request_id=request.id)

"""vendor_bank_change: bank-account change requests under dual control, as plain functions.

Built only from its envelope (``policies/vendor_bank_change.yaml``: human in the
loop, ``min_approvals: 2``), the vendor-master tools (``erp/vendor_master.py``)
and its assets; the gate, executor and approvals service are the ones every
workflow uses. The Dagster assets in ``assets/vendor_bank_change.py`` only
orchestrate these:

1. ``assess``: each pending request through the read tool
   ``vendor_master.check_bank_change`` (red flags against the vendor master and
   earlier requests);
2. ``propose``: a request with a blocking red flag stops here (an audit event
   says why); any other becomes the write ``vendor_master.change_bank_account``
   through the executor, i.e. a preview (masked IBAN diff, red flags) and an
   approval request that needs two distinct FinanceAdmins, neither the requester;
3. ``apply``: once decided, the write through the executor (executed once with a
   receipt, or a receipt saying why not).
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field

from sqlalchemy import select

WORKFLOW = "vendor_bank_change"
CHECK_TOOL = "vendor_master.check_bank_change"
WRITE_TOOL = "vendor_master.change_bank_account"
AGENT = "agent.vendor_master"


@dataclass
class BankChangeProposal:
    request_id: str
    vendor_id: str | None
    red_flags: list[str]
    outcome: str  # needs_approval | blocked | already_proposed | already_applied | denied
    approval_request_id: str | None = None
    detail: str = ""
    trace_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def to_dict(self) -> dict:
        return asdict(self)


def toolset():
    """The vendor-master tools on the configured ERP, with the envelope's recent-change window."""
    from governed_agents.envelope import find_envelope
    from governed_agents.erp.connector import erp_engine
    from governed_agents.erp.vendor_master import vendor_master_toolset

    extra = find_envelope(WORKFLOW).envelope.parameters.extra
    return vendor_master_toolset(erp_engine(), recent_days=float(extra.get("recent_change_days", 90)))


def blocking_flags(envelope) -> set[str]:
    return set(envelope.envelope.parameters.extra.get(
        "block_on_red_flags", ["unknown_vendor", "checksum_invalid", "iban_in_use", "no_change"]))


def propose(erp_engine, executor, envelope, *, requested_by: str, run_id: str | None = None,
            tenant: str | None = "acme", batch_id: str | None = None,
            known_names=()) -> list[BankChangeProposal]:
    """Assess every pending request and ask for approval of those without a blocking flag."""
    from governed_agents.erp.vendor_master import change_key, pending_requests
    from governed_agents.executor import TaskContext
    from governed_agents.ledger.schema import approval_requests

    blocking = blocking_flags(envelope)
    proposals = []
    for req in pending_requests(erp_engine):
        p = BankChangeProposal(request_id=req["request_id"], vendor_id=req["vendor_id"], red_flags=[], outcome="")
        task = TaskContext(envelope=envelope, requested_by=requested_by, agent=AGENT, tenant=tenant,
                           task_id=p.trace_id, trace_id=p.trace_id, run_id=run_id, known_names=known_names)
        checked = executor.call(task, CHECK_TOOL, {"request_id": req["request_id"]})
        if not checked.ok:
            p.outcome, p.detail = "denied", "; ".join(r.message for r in checked.decision.reasons)
            proposals.append(p)
            continue
        p.red_flags = [f["code"] for f in checked.output.red_flags]
        stops = sorted(set(p.red_flags) & blocking)
        if stops:
            p.outcome, p.detail = "blocked", "blocking red flag(s): " + ", ".join(stops)
            executor.ledger.append("bank_change.blocked", {"request_id": p.request_id, "vendor_id": p.vendor_id,
                                                           "red_flags": p.red_flags, "blocking": stops},
                                   actor=AGENT, workflow=WORKFLOW, trace_id=p.trace_id, run_id=run_id,
                                   envelope_version=envelope.version, envelope_digest=envelope.digest)
            proposals.append(p)
            continue
        arguments = {"vendor_id": req["vendor_id"], "new_iban": req["new_iban"], "request_id": req["request_id"]}
        key = change_key(executor.registry.spec(WRITE_TOOL).input_model.model_validate(arguments))
        with executor.ledger.engine.connect() as c:
            open_request = c.execute(select(approval_requests.c.id).where(
                approval_requests.c.idempotency_key == key,
                approval_requests.c.status.in_(["pending", "approved"]))).first()
        if open_request is not None:
            p.outcome, p.approval_request_id = "already_proposed", open_request[0]
            proposals.append(p)
            continue
        flags = ", ".join(p.red_flags) or "none"
        result = executor.call(task, WRITE_TOOL, arguments, batch_id=batch_id,
                               reason=f"bank change request {p.request_id} for {p.vendor_id}; red flags: {flags}")
        if result.outcome == "needs_approval":
            p.outcome, p.approval_request_id = "needs_approval", result.approval_request.id
        elif result.outcome == "duplicate":
            p.outcome = "already_applied"
        else:
            p.outcome, p.detail = result.outcome, "; ".join(r.message for r in result.decision.reasons)
        proposals.append(p)
    return proposals


def apply(request_id: str, executor, envelope, *, run_id: str | None = None, known_names=()):
    """Carry out a decided approval request: the write once, or a receipt saying why not."""
    from governed_agents.approvals import get_request
    from governed_agents.executor import TaskContext

    request = get_request(executor.ledger, request_id)
    task = TaskContext(envelope=envelope, requested_by=request.requested_by, agent=AGENT, tenant=request.tenant,
                       task_id=request.trace_id or uuid.uuid4().hex,
                       trace_id=request.trace_id or uuid.uuid4().hex, run_id=run_id, known_names=known_names)
    return executor.call(task, request.action, request.arguments, approval_request_id=request.id)

"""A governed posting run, as its own process, for the crash and fault trials.

``python -m tests.adversarial._pipeline LEDGER_URL ERP_URL N`` brings N journal
entries to "posted", whatever state an earlier (killed) run left behind: for
each entry it proposes the write if no live request exists, approves a pending
request as bob, and posts an approved one (``workflows.invoice_reconcile.post``,
the step the approval sensor's run executes). Running it again after a crash is
the recovery: the same thing a re-executed Dagster run does.

Crash and fault points are armed by the caller through the environment
(``governed_agents.faults``). The ERP must hold vendor V001 (``seed_erp``).
"""

from __future__ import annotations

import sys
from decimal import Decimal

from sqlalchemy import insert, select

WF = "invoice_reconcile"


def entry(i: int) -> dict:
    return {"invoice_id": f"INV-{i:04d}", "vendor_id": "V001", "currency": "EUR",
            "amount": f"{100 + i}.50", "memo": f"crash trial entry {i}"}


def seed_erp(engine) -> None:
    from governed_agents.erp.schema import purchase_order_lines, vendors

    with engine.begin() as c:
        c.execute(insert(vendors), [{"vendor_id": "V001", "name": "Nordlicht", "tax_id": "DE1",
                                     "iban": None, "currency": "EUR", "status": "active"}])
        c.execute(insert(purchase_order_lines), [{"po_number": "PO-1", "line_no": 1, "vendor_id": "V001",
                                                  "currency": "EUR", "sku": "A", "description": "a",
                                                  "quantity": Decimal(2), "unit_price": Decimal("10")}])


def executor(ledger_url: str, erp_url: str, **kw):
    from governed_agents.erp.connector import erp_engine
    from governed_agents.erp.tools import erp_toolset
    from governed_agents.executor import GovernedExecutor
    from governed_agents.ledger import Ledger

    registry, previews = erp_toolset(erp_engine(erp_url))
    return GovernedExecutor(Ledger.open(ledger_url), registry, previews=previews, **kw)


def envelope():
    from governed_agents.envelope import load_envelope_text
    from tests.fixtures import envelope_text

    return load_envelope_text(envelope_text(), "adversarial.yaml")


def run(ledger_url: str, erp_url: str, n: int) -> None:
    from governed_agents.approvals import decide
    from governed_agents.erp.tools import CreateJournalEntryInput, journal_entry_key
    from governed_agents.executor import TaskContext
    from governed_agents.identity.tokens import issue_token
    from governed_agents.ledger.schema import approval_requests
    from governed_agents.workflows.invoice_reconcile import post

    ex = executor(ledger_url, erp_url, retry_backoff_s=0.0)
    env = envelope()
    token = issue_token("bob", actions=["approval.approve"], workflows=[WF])
    for i in range(n):
        args = entry(i)
        key = journal_entry_key(CreateJournalEntryInput.model_validate(args))

        def live():
            with ex.ledger.engine.connect() as c:
                return c.execute(select(approval_requests.c.id, approval_requests.c.status)
                                 .where(approval_requests.c.idempotency_key == key,
                                        approval_requests.c.status.in_(["pending", "approved", "executed"]))
                                 .order_by(approval_requests.c.created_at.desc())).first()

        row = live()
        if row is None:
            task = TaskContext(envelope=env, requested_by="alice", agent="agent.invoice", tenant="acme")
            result = ex.call(task, "erp.create_journal_entry", args, reason="crash trial")
            if result.outcome == "duplicate":
                continue
            assert result.outcome == "needs_approval", result.outcome
            row = live()
        if row.status == "pending":
            decide(ex.ledger, row.id, token=token, decision="approve")
            row = live()
        if row.status == "approved":
            result = post(row.id, ex, env)
            assert result.ok, (result.outcome, [r.message for r in result.decision.reasons])


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2], int(sys.argv[3]))

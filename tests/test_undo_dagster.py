"""An approved undo is carried out by the workflow's own approval sensor run, like any decided write."""

from __future__ import annotations

import dagster as dg

from governed_agents.approvals import decide
from governed_agents.dagster.location import definitions
from governed_agents.dagster.resources import GovernanceResource
from governed_agents.envelope import find_envelope
from governed_agents.executor import TaskContext
from governed_agents.identity.tokens import issue_token
from governed_agents.ledger import Ledger
from governed_agents.receipts.store import get_receipt
from governed_agents.undo import undo
from governed_agents.workflows import executor_for

WORKFLOW = "invoice_reconcile"


def test_the_approval_sensor_runs_an_approved_undo_and_records_the_reversal(pg_url, monkeypatch):
    monkeypatch.setenv("GOVERNED_AGENTS_DB_URL", pg_url)
    ledger = Ledger.open()
    executor = executor_for(WORKFLOW, ledger)
    token = issue_token("bob", actions=["approval.approve"], workflows=[WORKFLOW])
    task = TaskContext(envelope=find_envelope(WORKFLOW), requested_by="alice", tenant="acme")
    arguments = {"invoice_id": "INV-9", "vendor_id": "V-9", "currency": "EUR", "amount": "75.00"}
    asked = executor.call(task, "erp.create_journal_entry", arguments)
    decide(ledger, asked.approval_request.id, token=token, decision="approve", reason="ok")
    original = executor.call(task, "erp.create_journal_entry", arguments,
                             approval_request_id=asked.approval_request.id).receipt.receipt

    proposed = undo(ledger, original.receipt_id, requested_by="alice", executor=executor)
    decide(ledger, proposed.approval_request_id, token=token, decision="approve", reason="wrong vendor")
    sensor = next(s for s in definitions().sensors if s.name == "invoice_reconcile_approval_sensor")
    with dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral()) as context:
        runs = [r for r in sensor(context).run_requests if r.run_key == proposed.approval_request_id]
    assert len(runs) == 1
    result = dg.materialize(list(definitions().assets), selection=["posted_journal_entries"],
                            resources={"governance": GovernanceResource()}, run_config=runs[0].run_config,
                            instance=dg.DagsterInstance.ephemeral())
    assert result.success
    [event] = ledger.events(kind="write.reversed")
    assert event.payload["original_receipt_id"] == original.receipt_id
    reversal = get_receipt(ledger, event.payload["reversal_receipt_id"]).receipt
    assert reversal.extra["reverses_receipt_id"] == original.receipt_id
    assert reversal.run_id == result.run_id

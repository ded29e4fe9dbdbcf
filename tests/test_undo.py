"""Undo: a posted journal entry is reversed through the same approval path, once."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from governed_agents.approvals import decide
from governed_agents.cli.main import main
from governed_agents.envelope import find_envelope
from governed_agents.erp.connector import erp_engine
from governed_agents.erp.schema import journal_entries
from governed_agents.executor import TaskContext
from governed_agents.identity.keys import public_key
from governed_agents.identity.tokens import issue_token
from governed_agents.ledger import Ledger
from governed_agents.ledger.schema import approval_requests, audit_events, receipts
from governed_agents.receipts.signing import verify_signed
from governed_agents.receipts.store import get_receipt
from governed_agents.undo import UndoRefused, undo
from governed_agents.workflows import executor_for

WORKFLOW = "invoice_reconcile"


def _approve(ledger, executor, request_id, approver="bob"):
    token = issue_token(approver, actions=["approval.approve"], workflows=[WORKFLOW])
    return decide(ledger, request_id, token=token, decision="approve", reason="checked",
                  rebuild_preview=executor.rebuild_preview)


@pytest.fixture
def ledger(db_url):
    return Ledger.open(db_url)


@pytest.fixture
def posted(ledger):
    """A journal entry posted through approval: (executor, its receipt)."""
    executor = executor_for(WORKFLOW, ledger)
    envelope = find_envelope(WORKFLOW)
    arguments = {"invoice_id": "INV-1", "vendor_id": "V-1", "currency": "EUR", "amount": "1200.00",
                 "memo": "test"}
    task = TaskContext(envelope=envelope, requested_by="alice", tenant="acme")
    asked = executor.call(task, "erp.create_journal_entry", arguments)
    assert asked.outcome == "needs_approval"
    _approve(ledger, executor, asked.approval_request.id)
    done = executor.call(task, "erp.create_journal_entry", arguments, approval_request_id=asked.approval_request.id)
    assert done.outcome == "executed"
    return executor, done.receipt.receipt


def _counts(ledger) -> dict:
    with erp_engine().connect() as c:
        entries = c.execute(select(func.count()).select_from(journal_entries)).scalar_one()
    with ledger.engine.connect() as c:
        return {
            "journal_entries": entries,
            "approval_requests": c.execute(select(func.count()).select_from(approval_requests)).scalar_one(),
            "receipts": c.execute(select(func.count()).select_from(receipts)).scalar_one(),
            "audit_events": c.execute(select(func.count()).select_from(audit_events)).scalar_one(),
        }


def test_undo_of_a_posted_entry_goes_through_approval_and_links_the_receipts(ledger, posted):
    executor, original = posted
    before = _counts(ledger)

    proposed = undo(ledger, original.receipt_id, requested_by="alice", executor=executor)
    assert proposed.status == "proposed" and proposed.compensation_tool == "erp.reverse_journal_entry"
    assert _counts(ledger)["journal_entries"] == before["journal_entries"]  # nothing posted before approval
    pending = [r for r in _pending(ledger) if r["id"] == proposed.approval_request_id]
    assert pending and pending[0]["action"] == "erp.reverse_journal_entry"
    preview = json.loads(pending[0]["preview"])
    assert preview["before"]["debit_account"] == preview["after"]["credit_account"]

    _approve(ledger, executor, proposed.approval_request_id, approver="carol")
    done = undo(ledger, original.receipt_id, requested_by="alice", executor=executor)
    assert done.status == "executed"

    # The ERP holds the reversing entry: same amount, accounts swapped, net zero.
    with erp_engine().connect() as c:
        rows = [dict(r._mapping) for r in c.execute(select(journal_entries).where(
            journal_entries.c.invoice_id == "INV-1").order_by(journal_entries.c.posted_at))]
    assert len(rows) == 2
    assert rows[1]["amount"] == rows[0]["amount"] == Decimal("1200.00")
    assert (rows[1]["debit_account"], rows[1]["credit_account"]) == (rows[0]["credit_account"], rows[0]["debit_account"])

    # Both receipts verify; the reversal's links to the original.
    reversal = get_receipt(ledger, done.reversal_receipt_id)
    verify_signed(reversal, public_key())
    verify_signed(get_receipt(ledger, original.receipt_id), public_key())
    assert reversal.receipt.extra["reverses_receipt_id"] == original.receipt_id
    assert reversal.receipt.approvals[0].approver == "carol"

    events = ledger.events(kind="write.reversed")
    assert len(events) == 1
    payload = events[0].payload
    assert set(payload) == {"workflow", "original_receipt_id", "reversal_receipt_id", "seconds_to_correct"}
    assert payload["workflow"] == WORKFLOW
    assert payload["original_receipt_id"] == original.receipt_id
    assert payload["reversal_receipt_id"] == done.reversal_receipt_id
    assert payload["seconds_to_correct"] >= 0
    assert ledger.verify().ok


def _pending(ledger):
    with ledger.engine.connect() as c:
        return [dict(r._mapping) for r in c.execute(select(approval_requests).where(
            approval_requests.c.status == "pending"))]


def test_undo_twice_is_refused_while_pending_and_after_reversal(ledger, posted):
    executor, original = posted
    proposed = undo(ledger, original.receipt_id, requested_by="alice", executor=executor)
    before = _counts(ledger)
    with pytest.raises(UndoRefused) as pending:
        undo(ledger, original.receipt_id, requested_by="alice", executor=executor)
    assert pending.value.code == "undo_pending"
    after = _counts(ledger)
    assert after == {**before, "audit_events": before["audit_events"] + 1}  # only undo.refused

    _approve(ledger, executor, proposed.approval_request_id)
    undo(ledger, original.receipt_id, requested_by="alice", executor=executor)
    before = _counts(ledger)
    with pytest.raises(UndoRefused) as again:
        undo(ledger, original.receipt_id, requested_by="alice", executor=executor)
    assert again.value.code == "already_reversed"
    assert _counts(ledger) == {**before, "audit_events": before["audit_events"] + 1}
    assert ledger.events(kind="undo.refused")[-1].payload["code"] == "already_reversed"
    assert len(ledger.events(kind="write.reversed")) == 1


def test_undo_of_a_non_reversible_write_is_refused_with_nothing_written(ledger, posted):
    executor, original = posted
    proposed = undo(ledger, original.receipt_id, requested_by="alice", executor=executor)
    _approve(ledger, executor, proposed.approval_request_id)
    reversal_id = undo(ledger, original.receipt_id, requested_by="alice", executor=executor).reversal_receipt_id

    before = _counts(ledger)
    with pytest.raises(UndoRefused) as refused:
        undo(ledger, reversal_id, requested_by="alice", executor=executor)
    assert refused.value.code == "not_reversible"
    assert "reversible=False" in refused.value.message
    assert _counts(ledger) == {**before, "audit_events": before["audit_events"] + 1}
    assert ledger.events(kind="undo.refused")[-1].payload["receipt_id"] == reversal_id


def test_undo_of_an_unknown_receipt_is_refused(ledger):
    with pytest.raises(UndoRefused) as refused:
        undo(ledger, "no-such-receipt", requested_by="alice")
    assert refused.value.code == "unknown_receipt"


def test_cli_undo_proposes_then_executes_then_refuses(posted, ledger, capsys, monkeypatch):
    monkeypatch.setenv("GOVERNED_AGENTS_DB_URL", ledger.url)
    _, original = posted
    assert main(["undo", original.receipt_id, "--json"]) == 0
    proposed = json.loads(capsys.readouterr().out)
    assert proposed["status"] == "proposed" and proposed["approval_request_id"]

    token = issue_token("bob", actions=["approval.approve"], workflows=[WORKFLOW])
    assert main(["approvals", "approve", proposed["approval_request_id"], "--token", token, "--json"]) == 0
    capsys.readouterr()
    assert main(["undo", original.receipt_id, "--json"]) == 0
    executed = json.loads(capsys.readouterr().out)
    assert executed["status"] == "executed" and executed["reversal_receipt_id"]

    assert main(["undo", original.receipt_id]) == 1
    assert "already_reversed" in capsys.readouterr().err


def test_cli_undo_help_explains_the_approval_path(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["undo", "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "approvals approve" in text and "write.reversed" in text

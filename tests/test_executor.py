"""The governed write path: gate → approval → execute once → receipt, and its refusals.

Each refusal shows what was refused and that nothing reached the ERP.
Runs on both ledger backends (the ERP stays SQLite; it is not under test here).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select

from governed_agents import kill_switch
from governed_agents.approvals import decide
from governed_agents.envelope import load_envelope_text
from governed_agents.erp.connector import erp_engine
from governed_agents.erp.schema import journal_entries, purchase_order_lines, vendors
from governed_agents.erp.tools import erp_toolset
from governed_agents.errors import GovernanceError, KillSwitchEngaged
from governed_agents.executor import GovernedExecutor, TaskContext
from governed_agents.identity.keys import public_key
from governed_agents.identity.tokens import issue_token
from governed_agents.ledger import Ledger
from governed_agents.receipts.signing import export_bytes, verify_receipt_bytes
from governed_agents.timeutil import utcnow

from tests.fixtures import envelope_text

ENTRY = {"invoice_id": "INV-1", "vendor_id": "V001", "currency": "EUR", "amount": "1234.50", "memo": "paper"}


@pytest.fixture
def erp(tmp_path):
    engine = erp_engine(f"sqlite:///{tmp_path / 'erp.sqlite3'}")
    with engine.begin() as c:
        c.execute(insert(vendors), [{"vendor_id": "V001", "name": "Nordlicht", "tax_id": "DE1",
                                     "iban": None, "currency": "EUR", "status": "active"}])
        c.execute(insert(purchase_order_lines), [{"po_number": "PO-1", "line_no": 1, "vendor_id": "V001",
                                                  "currency": "EUR", "sku": "A", "description": "a",
                                                  "quantity": Decimal(2), "unit_price": Decimal("10")}])
    return engine


@pytest.fixture
def ledger(db_url):
    return Ledger.open(db_url)


def _executor(ledger, erp, clock=utcnow):
    registry, previews = erp_toolset(erp)
    return GovernedExecutor(ledger, registry, previews=previews, clock=clock)


def _task(**kw):
    envelope = load_envelope_text(envelope_text(**kw), "t.yaml")
    return TaskContext(envelope=envelope, requested_by="alice", agent="agent.invoice", tenant="acme")


def _entries(erp) -> int:
    with erp.connect() as c:
        return c.execute(select(func.count()).select_from(journal_entries)).scalar_one()


def _approve(ledger, request_id, who="bob"):
    token = issue_token(who, actions=["approval.approve"], workflows=["invoice_reconcile"])
    return decide(ledger, request_id, token=token, decision="approve")


def test_read_is_allowed_and_validated(ledger, erp):
    result = _executor(ledger, erp).call(_task(), "erp.lookup_vendor", {"tax_id": "DE1"})
    assert result.outcome == "executed" and result.output.vendor_id == "V001"
    assert [e.kind for e in ledger.events()] == ["tool.decision", "tool.executed"]


def test_write_needs_approval_then_executes_exactly_once(ledger, erp):
    ex, task = _executor(ledger, erp), _task()
    proposed = ex.call(task, "erp.create_journal_entry", ENTRY)
    assert proposed.outcome == "needs_approval" and _entries(erp) == 0
    request = proposed.approval_request
    assert request.preview["after"]["amount"] == "1234.50"
    assert request.preview["changes"][0] == "debit 2110 GR/IR clearing 1,234.50 EUR"
    # executing before approval: still waiting, nothing written
    waiting = ex.call(task, "erp.create_journal_entry", ENTRY, approval_request_id=request.id)
    assert waiting.outcome == "awaiting_approval" and _entries(erp) == 0

    _approve(ledger, request.id)
    posted = ex.call(task, "erp.create_journal_entry", ENTRY, approval_request_id=request.id)
    assert posted.outcome == "executed" and _entries(erp) == 1
    again = ex.call(task, "erp.create_journal_entry", ENTRY, approval_request_id=request.id)
    assert again.outcome == "duplicate" and _entries(erp) == 1
    assert again.output.entry_id == posted.output.entry_id
    assert again.receipt.receipt.receipt_id == posted.receipt.receipt.receipt_id

    receipt = verify_receipt_bytes(export_bytes(posted.receipt), public_key())
    assert receipt.kind == "write_executed"
    assert receipt.requester == "alice" and receipt.approvals[0].approver == "bob"
    assert receipt.envelope_digest == task.envelope.digest
    anchor = [e for e in ledger.events() if e.seq == receipt.audit_anchor.seq][0]
    assert anchor.kind == "tool.executed" and anchor.hash == receipt.audit_anchor.hash
    assert ledger.verify().ok


def test_unregistered_and_unlisted_tools_are_denied(ledger, erp):
    ex, task = _executor(ledger, erp), _task()
    result = ex.call(task, "payments.send_wire", {"iban": "X", "amount": "1"})
    assert result.outcome == "denied" and result.decision.reasons[0].code == "unregistered_tool"
    narrow = load_envelope_text(envelope_text(allowed_tools=["erp.lookup_vendor"]), "n.yaml")
    task2 = TaskContext(envelope=narrow, requested_by="alice")
    denied = ex.call(task2, "erp.create_journal_entry", ENTRY)
    assert denied.outcome == "denied" and denied.decision.reasons[0].code == "tool_not_allowed"
    assert denied.receipt.receipt.kind == "write_refused"
    assert _entries(erp) == 0


def test_invalid_input_denied_with_field_errors(ledger, erp):
    result = _executor(ledger, erp).call(_task(), "erp.create_journal_entry", {**ENTRY, "amount": "-5"})
    assert result.outcome == "denied"
    assert result.decision.reasons[0].code == "invalid_input"
    assert "amount" in result.decision.reasons[0].message
    assert _entries(erp) == 0


@pytest.mark.parametrize("bad", [float("inf"), float("nan"), object()], ids=["inf", "nan", "object"])
def test_arguments_that_are_not_json_are_refused_and_audited(ledger, erp, bad):
    # Found by the gate fuzzer: an infinite invoice id crashed the executor while
    # it digested the arguments for the audit event.
    seq_before = ledger.head()[0]
    result = _executor(ledger, erp).call(_task(), "erp.create_journal_entry", {**ENTRY, "invoice_id": bad})
    assert result.outcome == "denied" and result.decision.codes == ("invalid_input",)
    assert "not JSON values" in result.decision.reasons[0].message
    assert result.receipt.receipt.kind == "write_refused"
    kinds = [e.kind for e in ledger.events(after_seq=seq_before)]
    assert kinds == ["tool.decision", "tool.refused", "receipt.issued"], kinds  # as every refused write
    assert _entries(erp) == 0
    assert ledger.verify().ok


def test_tool_call_budget(ledger, erp):
    ex, task = _executor(ledger, erp), _task(max_tool_calls=2)
    for _ in range(2):
        assert ex.call(task, "erp.lookup_vendor", {"tax_id": "DE1"}).outcome == "executed"
    third = ex.call(task, "erp.lookup_vendor", {"tax_id": "DE1"})
    assert third.outcome == "denied" and third.decision.reasons[0].code == "tool_call_budget_exhausted"


def test_kill_switch_stops_writes_but_not_reads(ledger, erp):
    ex, task = _executor(ledger, erp), _task()
    request = ex.call(task, "erp.create_journal_entry", ENTRY).approval_request
    _approve(ledger, request.id)
    admin = issue_token("erin", actions=["killswitch.set"], workflows=["invoice_reconcile"])
    kill_switch.set_state(ledger, engaged=True, token=admin, workflow="invoice_reconcile", reason="drill")
    blocked = ex.call(task, "erp.create_journal_entry", ENTRY, approval_request_id=request.id)
    assert blocked.outcome == "denied" and blocked.decision.reasons[0].code == "kill_switch"
    assert blocked.receipt.receipt.kind == "write_refused" and _entries(erp) == 0
    assert ex.call(task, "erp.lookup_vendor", {"tax_id": "DE1"}).outcome == "executed"
    kill_switch.set_state(ledger, engaged=False, token=admin, workflow="invoice_reconcile")
    assert ex.call(task, "erp.create_journal_entry", ENTRY, approval_request_id=request.id).outcome == "executed"


def test_kill_switch_engaged_between_decision_and_write(ledger, erp):
    """The executor re-reads the switch immediately before the write, after the gate allowed it."""
    registry, previews = erp_toolset(erp)
    admin = issue_token("erin", actions=["killswitch.set"], workflows=["*"])

    def preview_and_pull_the_switch(args):
        # Armed, the second preview build is the executor's re-check inside the
        # write path (the first is the gate's): the switch flips after the gate said allow.
        preview = previews["erp.create_journal_entry"](args)  # batch-shaped: list in, list out
        if flipped["armed"]:
            flipped["calls"] += 1
            if flipped["calls"] == 2:
                kill_switch.set_state(ledger, engaged=True, token=admin, reason="incident")
        return preview

    flipped = {"armed": False, "calls": 0}
    ex = GovernedExecutor(ledger, registry, previews={"erp.create_journal_entry": preview_and_pull_the_switch})
    task = _task()
    request = ex.call(task, "erp.create_journal_entry", ENTRY).approval_request
    _approve(ledger, request.id)
    flipped["armed"] = True
    with pytest.raises(KillSwitchEngaged):
        ex.call(task, "erp.create_journal_entry", ENTRY, approval_request_id=request.id)
    assert _entries(erp) == 0
    kinds = [e.kind for e in ledger.events()]
    assert kinds[-4:] == ["tool.decision", "kill_switch.engaged", "tool.refused", "receipt.issued"]
    assert kinds.count("tool.executed") == 0


def test_rejected_request_posts_nothing_and_leaves_a_receipt(ledger, erp):
    ex, task = _executor(ledger, erp), _task()
    request = ex.call(task, "erp.create_journal_entry", ENTRY).approval_request
    token = issue_token("bob", actions=["approval.reject"], workflows=["invoice_reconcile"])
    decide(ledger, request.id, token=token, decision="reject", reason="duplicate of INV-0")
    result = ex.call(task, "erp.create_journal_entry", ENTRY, approval_request_id=request.id)
    assert result.outcome == "rejected" and _entries(erp) == 0
    assert result.receipt.receipt.kind == "write_rejected"
    assert result.receipt.receipt.approvals[0].reason == "duplicate of INV-0"


def test_expired_approval_posts_nothing(ledger, erp):
    later = {"now": utcnow()}
    ex, task = _executor(ledger, erp, clock=lambda: later["now"]), _task()
    request = ex.call(task, "erp.create_journal_entry", ENTRY).approval_request
    _approve(ledger, request.id)
    later["now"] = utcnow() + dt.timedelta(hours=25)
    result = ex.call(task, "erp.create_journal_entry", ENTRY, approval_request_id=request.id)
    assert result.outcome in ("expired", "denied") and _entries(erp) == 0
    assert result.receipt.receipt.kind in ("write_expired", "write_refused")


def test_preview_changed_after_approval_blocks_the_write(ledger, erp):
    ex, task = _executor(ledger, erp), _task()
    request = ex.call(task, "erp.create_journal_entry", ENTRY).approval_request
    _approve(ledger, request.id)
    # Someone posts the same entry straight into the ERP after the approval:
    # the write's preview (before → after) is no longer what was approved.
    registry, _ = erp_toolset(erp)
    registry._implementation("erp.create_journal_entry")(
        registry.spec("erp.create_journal_entry").input_model.model_validate(ENTRY))
    result = ex.call(task, "erp.create_journal_entry", ENTRY, approval_request_id=request.id)
    assert result.outcome == "denied"
    assert any(r.code == "approval_preview_mismatch" for r in result.decision.reasons)
    assert _entries(erp) == 1  # only the out-of-band one


def test_approval_covers_only_its_own_arguments(ledger, erp):
    ex, task = _executor(ledger, erp), _task()
    request = ex.call(task, "erp.create_journal_entry", ENTRY).approval_request
    _approve(ledger, request.id)
    with pytest.raises(GovernanceError, match="other arguments"):
        ex.call(task, "erp.create_journal_entry", {**ENTRY, "amount": "99999.00"},
                approval_request_id=request.id)
    assert _entries(erp) == 0


def test_ledger_unwritable_means_no_write(erp, tmp_path):
    """Fail closed: when the audit event cannot be written, the tool does not run."""
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ro.sqlite3'}")
    ex, task = _executor(ledger, erp), _task()
    ledger.engine.dispose()
    (tmp_path / "ro.sqlite3").chmod(0o444)
    import os

    if os.geteuid() == 0:
        # root ignores file modes; make the database unreachable instead
        (tmp_path / "ro.sqlite3").rename(tmp_path / "gone")
        (tmp_path / "ro.sqlite3").mkdir()
    with pytest.raises(Exception):
        ex.call(task, "erp.lookup_vendor", {"tax_id": "DE1"})
    with pytest.raises(Exception):
        ex.call(task, "erp.create_journal_entry", ENTRY)
    assert _entries(erp) == 0


def test_preview_changed_between_gate_and_write_blocks_the_write(ledger, erp):
    """The executor rebuilds the preview inside the write path and compares it to the approved digest."""
    registry, previews = erp_toolset(erp)
    state = {"armed": False, "calls": 0}

    def preview_then_change_the_erp(args):
        preview = previews["erp.create_journal_entry"](args)  # batch-shaped: list in, list out
        if state["armed"]:
            state["calls"] += 1
            if state["calls"] == 1:  # after the gate's check, before the write path's re-check
                registry._implementation("erp.create_journal_entry")(args[0])
        return preview

    ex = GovernedExecutor(ledger, registry, previews={"erp.create_journal_entry": preview_then_change_the_erp})
    task = _task()
    request = ex.call(task, "erp.create_journal_entry", ENTRY).approval_request
    _approve(ledger, request.id)
    state["armed"] = True
    with pytest.raises(GovernanceError, match="no longer what was approved"):
        ex.call(task, "erp.create_journal_entry", ENTRY, approval_request_id=request.id)
    assert _entries(erp) == 1  # only the out-of-band entry; the governed write did not run
    assert [e.kind for e in ledger.events()].count("tool.executed") == 0


def test_receipt_says_when_the_offline_stand_in_spoke(ledger, erp):
    """A task that asked the (offline) model before its write: the receipt says so and carries the spend."""
    from governed_agents.routing import ModelGateway

    ex, task = _executor(ledger, erp), _task()
    answer = ModelGateway(ledger).complete(task, "router", [
        {"role": "system", "content": "Extract the purchase order reference. Answer in JSON."},
        {"role": "user", "content": "as per our order 4500123 of March"}])
    assert answer.offline_model
    request = ex.call(task, "erp.create_journal_entry", ENTRY).approval_request
    _approve(ledger, request.id)
    receipt = ex.call(task, "erp.create_journal_entry", ENTRY, approval_request_id=request.id).receipt.receipt
    assert receipt.offline_model is True
    assert receipt.extra["model_spend"]["model_calls"] == 1

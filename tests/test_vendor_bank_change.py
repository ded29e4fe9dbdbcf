"""vendor_bank_change: red flags, masked previews, dual control, undo restores the account."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from governed_agents.approvals import decide
from governed_agents.envelope import find_envelope
from governed_agents.erp.connector import erp_engine
from governed_agents.erp.schema import bank_account_changes, vendors
from governed_agents.erp.vendor_master import (
    RED_FLAGS,
    iban_checksum_ok,
    mask_iban,
    seed_vendor_master,
)
from governed_agents.errors import ApprovalRefused
from governed_agents.identity.tokens import issue_token
from governed_agents.ledger import Ledger
from governed_agents.ledger.schema import approval_requests, audit_events, receipts
from governed_agents.undo import undo
from governed_agents.workflows import executor_for
from governed_agents.workflows.vendor_bank_change import WORKFLOW, apply, propose


def test_iban_checksum_and_mask():
    assert iban_checksum_ok("DE89 3704 0044 0532 0130 00")
    assert not iban_checksum_ok("DE89370400440532013001")
    assert not iban_checksum_ok("not an iban")
    assert mask_iban("DE89370400440532013000") == "DE89 **** 3000"


@pytest.fixture
def ledger(db_url):
    return Ledger.open(db_url)


@pytest.fixture
def seeded():
    return seed_vendor_master(erp_engine())


def _token(who, action="approval.approve"):
    return issue_token(who, actions=[action], workflows=[WORKFLOW])


def _vendor_iban(vendor_id):
    with erp_engine().connect() as c:
        return c.execute(select(vendors.c.iban).where(vendors.c.vendor_id == vendor_id)).scalar_one()


def _state(ledger) -> dict:
    with erp_engine().connect() as c:
        erp = {"ibans": sorted(tuple(r) for r in c.execute(select(vendors.c.vendor_id, vendors.c.iban))),
               "changes": c.execute(select(func.count()).select_from(bank_account_changes)).scalar_one()}
    with ledger.engine.connect() as c:
        return {**erp,
                "receipts": c.execute(select(func.count()).select_from(receipts)).scalar_one(),
                "audit_events": c.execute(select(func.count()).select_from(audit_events)).scalar_one(),
                "statuses": sorted(tuple(r) for r in c.execute(select(approval_requests.c.id,
                                                                       approval_requests.c.status)))}


def _proposed(ledger, *, requested_by="alice"):
    executor = executor_for(WORKFLOW, ledger)
    envelope = find_envelope(WORKFLOW)
    proposals = {p.request_id: p for p in propose(erp_engine(), executor, envelope, requested_by=requested_by)}
    return executor, envelope, proposals


def test_each_red_flag_is_found_and_blocking_ones_never_reach_approvers(ledger, seeded):
    executor, envelope, proposals = _proposed(ledger)
    for request_id, expected in seeded.items():
        assert set(proposals[request_id].red_flags) == expected, request_id
    assert set().union(*seeded.values()) >= set(RED_FLAGS) - {"unknown_vendor", "no_change"}
    assert proposals["BCR-CHECKSUM"].outcome == "blocked"
    assert proposals["BCR-INUSE"].outcome == "blocked"
    for request_id in ("BCR-CLEAN", "BCR-COUNTRY", "BCR-RECENT", "BCR-DOMAIN", "BCR-REPEAT"):
        assert proposals[request_id].outcome == "needs_approval", request_id
    blocked = {e.payload["request_id"] for e in ledger.events(kind="bank_change.blocked")}
    assert blocked == {"BCR-CHECKSUM", "BCR-INUSE"}
    with ledger.engine.connect() as c:
        rows = [dict(r._mapping) for r in c.execute(select(approval_requests))]
    assert len(rows) == 5 and all(r["min_approvals"] == 2 for r in rows)
    # The approvers' preview: a masked diff with the red flags; no full IBAN anywhere in it.
    country = next(r for r in rows if json.loads(r["arguments"])["request_id"] == "BCR-COUNTRY")
    preview = json.loads(country["preview"])
    new_iban = json.loads(country["arguments"])["new_iban"]
    assert preview["after"]["iban"] == mask_iban(new_iban) and new_iban not in country["preview"]
    assert [f["code"] for f in preview["red_flags"]] == ["country_mismatch"]
    # Proposing again asks nothing new.
    again = {p.request_id: p for p in propose(erp_engine(), executor, envelope, requested_by="alice")}
    assert again["BCR-CLEAN"].outcome == "already_proposed"
    with ledger.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(approval_requests)).scalar_one() == 5


def test_dual_control_refusals_write_nothing_and_two_approvers_apply(ledger, seeded):
    executor, envelope, proposals = _proposed(ledger)
    request_id = proposals["BCR-CLEAN"].approval_request_id
    old_iban = _vendor_iban("VBC-001")

    # One approver: the request stays pending and the write does not happen.
    decide(ledger, request_id, token=_token("bob"), decision="approve", reason="looks right",
           rebuild_preview=executor.rebuild_preview)
    before = _state(ledger)
    result = apply(request_id, executor, envelope)
    assert result.outcome == "awaiting_approval"
    assert "approval_quorum_not_met" in result.decision.codes
    after = _state(ledger)
    assert {k: v for k, v in after.items() if k != "audit_events"} == \
        {k: v for k, v in before.items() if k != "audit_events"}
    assert _vendor_iban("VBC-001") == old_iban

    # The same approver twice: refused, one audit event, nothing else.
    before = _state(ledger)
    with pytest.raises(ApprovalRefused) as twice:
        decide(ledger, request_id, token=_token("bob"), decision="approve", reason="again",
               rebuild_preview=executor.rebuild_preview)
    assert twice.value.code == "duplicate_approver"
    assert _state(ledger) == {**before, "audit_events": before["audit_events"] + 1}

    # Someone without the role: refused the same way.
    before = _state(ledger)
    with pytest.raises(Exception) as no_role:
        decide(ledger, request_id, token=issue_token("dana", actions=["approval.read"], workflows=[WORKFLOW]),
               decision="approve", reason="x", rebuild_preview=executor.rebuild_preview)
    assert "approval.approve" in str(no_role.value) or getattr(no_role.value, "code", "") == "approver_lacks_role"
    assert _state(ledger) == {**before, "audit_events": before["audit_events"] + 1}

    # A second, distinct FinanceAdmin: approved, and the write applies once.
    decide(ledger, request_id, token=_token("carol"), decision="approve", reason="called the vendor back",
           rebuild_preview=executor.rebuild_preview)
    result = apply(request_id, executor, envelope)
    assert result.outcome == "executed"
    new_iban = _vendor_iban("VBC-001")
    assert new_iban != old_iban
    receipt = result.receipt.receipt
    assert {a.approver for a in receipt.approvals} == {"bob", "carol"}
    body = receipt.model_dump_json()
    assert new_iban not in body and old_iban not in body  # masked in the receipt
    assert receipt.state_after["new_iban_masked"] == mask_iban(new_iban)
    with ledger.engine.connect() as c:
        payloads = " ".join(r[0] for r in c.execute(select(audit_events.c.payload)))
    assert new_iban not in payloads and old_iban not in payloads  # and in the audit log
    assert apply(request_id, executor, envelope).outcome == "duplicate"
    with erp_engine().connect() as c:
        assert c.execute(select(func.count()).select_from(bank_account_changes)).scalar_one() == 1
    assert ledger.verify().ok


def test_the_requester_cannot_approve_their_own_request(pg_url, seeded):
    ledger = Ledger.open(pg_url)
    executor, envelope, proposals = _proposed(ledger, requested_by="bob")
    request_id = proposals["BCR-CLEAN"].approval_request_id
    decide(ledger, request_id, token=_token("carol"), decision="approve", reason="ok",
           rebuild_preview=executor.rebuild_preview)
    before = _state(ledger)
    with pytest.raises(ApprovalRefused) as own:
        decide(ledger, request_id, token=_token("bob"), decision="approve", reason="mine",
               rebuild_preview=executor.rebuild_preview)
    assert own.value.code == "self_approval"
    assert _state(ledger) == {**before, "audit_events": before["audit_events"] + 1}
    result = apply(request_id, executor, envelope)
    assert result.outcome == "awaiting_approval"
    assert _vendor_iban("VBC-001") == dict(_state(ledger)["ibans"])["VBC-001"]
    with erp_engine().connect() as c:
        assert c.execute(select(func.count()).select_from(bank_account_changes)).scalar_one() == 0


def test_undo_restores_the_previous_account_under_dual_control(pg_url, seeded):
    ledger = Ledger.open(pg_url)
    executor, envelope, proposals = _proposed(ledger)
    request_id = proposals["BCR-CLEAN"].approval_request_id
    old_iban = _vendor_iban("VBC-001")
    for who in ("bob", "carol"):
        decide(ledger, request_id, token=_token(who), decision="approve", reason="ok",
               rebuild_preview=executor.rebuild_preview)
    original = apply(request_id, executor, envelope).receipt.receipt

    proposed = undo(ledger, original.receipt_id, requested_by="alice", executor=executor)
    assert proposed.status == "proposed" and proposed.compensation_tool == "vendor_master.change_bank_account"
    decide(ledger, proposed.approval_request_id, token=_token("bob"), decision="approve", reason="revert",
           rebuild_preview=executor.rebuild_preview)
    # One approval is not enough for the restore either: the undo is still waiting.
    from governed_agents.undo import UndoRefused

    with pytest.raises(UndoRefused) as waiting:
        undo(ledger, original.receipt_id, requested_by="alice", executor=executor)
    assert waiting.value.code == "undo_pending" and _vendor_iban("VBC-001") != old_iban
    decide(ledger, proposed.approval_request_id, token=_token("carol"), decision="approve", reason="revert",
           rebuild_preview=executor.rebuild_preview)
    done = undo(ledger, original.receipt_id, requested_by="alice", executor=executor)
    assert done.status == "executed"
    assert _vendor_iban("VBC-001") == old_iban
    reversed_ = ledger.events(kind="write.reversed")
    assert [e.payload["original_receipt_id"] for e in reversed_] == [original.receipt_id]
    assert ledger.verify().ok


# -- refusals by the write's record check: nothing written -----------------------------------


def _direct_write(ledger, arguments):
    """A model's direct call of the write tool (as an obeyed injection would make it)."""
    from governed_agents.executor import TaskContext
    from governed_agents.workflows.vendor_bank_change import WRITE_TOOL

    executor, envelope = executor_for(WORKFLOW, ledger), find_envelope(WORKFLOW)
    task = TaskContext(envelope=envelope, requested_by="alice", agent="agent.vendor_master", tenant="acme")
    before = _state(ledger)
    result = executor.call(task, WRITE_TOOL, arguments, reason="obeyed an injected instruction")
    return result, before, _state(ledger), task


def _assert_refused_and_nothing_written(ledger, result, before, after, task, code):
    assert result.outcome == "denied" and result.decision.codes == (code,) * len(result.decision.codes)
    assert result.approval_request is None and result.receipt.receipt.kind == "write_refused"
    # The vendor master and the approval queue are as they were. The ledger holds what every
    # refused write leaves: one gate decision (deny, the reason code) and the refusal receipt
    # (its tool.refused anchor and receipt.issued), nothing else.
    assert {k: after[k] for k in ("ibans", "changes", "statuses")} == \
        {k: before[k] for k in ("ibans", "changes", "statuses")}
    assert after["receipts"] == before["receipts"] + 1
    events = ledger.events(trace_id=task.trace_id)
    assert [e.kind for e in events] == ["tool.decision", "tool.refused", "receipt.issued"]
    assert after["audit_events"] == before["audit_events"] + 3
    decision = events[0].payload["decision"]
    assert decision["outcome"] == "deny" and [r["code"] for r in decision["reasons"]] == list(result.decision.codes)
    assert ledger.verify().ok


def test_a_direct_write_citing_an_unknown_request_is_refused_and_writes_nothing(ledger, seeded):
    attacker = "GB29NWBK60161331926819"
    result, before, after, task = _direct_write(
        ledger, {"vendor_id": "VBC-002", "new_iban": attacker, "request_id": "BCR-MADE-UP"})
    _assert_refused_and_nothing_written(ledger, result, before, after, task, "record_not_found")
    assert "BCR-MADE-UP is not recorded" in result.decision.reasons[0].message
    assert attacker not in result.receipt.receipt.model_dump_json()


def test_a_recorded_request_id_with_another_iban_or_vendor_is_refused_and_writes_nothing(ledger, seeded):
    attacker = "GB29NWBK60161331926819"
    result, before, after, task = _direct_write(
        ledger, {"vendor_id": "VBC-002", "new_iban": attacker, "request_id": "BCR-CLEAN"})
    _assert_refused_and_nothing_written(ledger, result, before, after, task, "record_mismatch")
    messages = [r.message for r in result.decision.reasons]
    assert any("is for vendor VBC-001, not VBC-002" in m for m in messages)
    assert any(mask_iban(attacker) in m for m in messages) and all(attacker not in m for m in messages)


def test_an_unreadable_vendor_master_refuses_the_write_fail_closed(ledger):
    """record_check raising (here: an ERP without the vendor-master tables) is no licence to write."""
    from sqlalchemy import create_engine

    from governed_agents.erp.vendor_master import vendor_master_toolset
    from governed_agents.executor import GovernedExecutor, TaskContext
    from governed_agents.workflows.vendor_bank_change import WRITE_TOOL

    empty = create_engine("sqlite://")
    registry, previews = vendor_master_toolset(empty)
    executor = GovernedExecutor(ledger, registry, previews=previews)
    task = TaskContext(envelope=find_envelope(WORKFLOW), requested_by="alice", agent="agent.vendor_master")
    result = executor.call(task, WRITE_TOOL, {"vendor_id": "VBC-001", "new_iban": "DE89370400440532013000",
                                              "request_id": "BCR-CLEAN"})
    assert result.outcome == "denied" and result.decision.codes == ("record_unverified",)
    with ledger.engine.connect() as c:
        assert c.execute(select(func.count()).select_from(approval_requests)).scalar_one() == 0


def test_approvals_show_json_masks_the_iban_and_the_write_still_uses_the_real_one(ledger, seeded, capsys,
                                                                                 monkeypatch):
    from governed_agents.canonical import digest
    from governed_agents.cli.main import main

    monkeypatch.setenv("GOVERNED_AGENTS_DB_URL", str(ledger.engine.url.render_as_string(hide_password=False)))
    executor, envelope, proposals = _proposed(ledger)
    request_id = proposals["BCR-CLEAN"].approval_request_id
    with ledger.engine.connect() as c:
        stored = json.loads(c.execute(select(approval_requests.c.arguments).where(
            approval_requests.c.id == request_id)).scalar_one())
    full = stored["new_iban"]
    auditor = issue_token("dana", actions=["approval.read"], workflows=["*"])
    for argv in (["approvals", "show", request_id, "--json"], ["approvals", "list", "--json"]):
        assert main([*argv, "--token", auditor]) == 0
        out = capsys.readouterr().out
        assert full not in out, argv
    from governed_agents.forensics.trace import build_trace, render_trace

    story = build_trace(ledger, proposals["BCR-CLEAN"].trace_id)  # governed-agents trace shows it masked too
    assert story["writes"][0]["approval_request_id"] == request_id
    assert full not in render_trace(story) and full not in json.dumps(story, default=str)
    assert main(["approvals", "show", request_id, "--json", "--token", auditor]) == 0
    shown = json.loads(capsys.readouterr().out)["request"]
    assert shown["arguments"]["new_iban"] == mask_iban(full)
    assert shown["arguments_digest"] == digest(stored)
    for who in ("bob", "carol"):
        decide(ledger, request_id, token=_token(who), decision="approve", reason="ok",
               rebuild_preview=executor.rebuild_preview)
    assert apply(request_id, executor, envelope).outcome == "executed"
    assert _vendor_iban("VBC-001") == full  # the write ran with the stored, unmasked IBAN

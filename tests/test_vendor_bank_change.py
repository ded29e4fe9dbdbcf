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

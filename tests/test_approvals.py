"""Approval requests and decisions, on SQLite and PostgreSQL.

Every refusal is shown to (1) raise with its code, (2) write exactly one
``approval.refused`` audit event, and (3) change no other table.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text, update

from governed_agents.approvals import decide, decide_batch, expire_overdue, get_request, request_approval
from governed_agents.canonical import canonical_json
from governed_agents.envelope import load_envelope_text
from governed_agents.errors import ApprovalRefused, TokenError
from governed_agents.identity.tokens import issue_token
from governed_agents.ledger import Ledger
from governed_agents.ledger.schema import approval_requests
from governed_agents.timeutil import utcnow

from tests.fixtures import envelope_text, ledger_snapshot

WF = "invoice_reconcile"


@pytest.fixture
def ledger(db_url):
    return Ledger.open(db_url)


@pytest.fixture
def envelope():
    return load_envelope_text(envelope_text(), "test.yaml")


def _request(ledger, envelope, *, requested_by="alice", preview=None, now=None, batch_id=None):
    preview = preview or {"before": None, "after": {"amount": "100.00"}, "changes": ["debit 100.00 EUR"]}
    return request_approval(
        ledger, envelope=envelope, action="erp.create_journal_entry",
        arguments={"invoice_id": "INV-1", "amount": "100.00"}, preview=preview,
        requested_by=requested_by, tenant="acme", reason="matched", idempotency_key="k-1",
        trace_id="trace-1", now=now, batch_id=batch_id,
    )


def _approve_token(principal="bob", workflows=(WF,), **kw):
    return issue_token(principal, actions=["approval.approve", "approval.reject"], workflows=list(workflows), **kw)


def _assert_refused_cleanly(ledger, before, code):
    after = ledger_snapshot(ledger)
    assert after["tables"] == before["tables"], "a refusal changed governance state"
    new = ledger.events(after_seq=before["head"])
    assert [e.kind for e in new] == ["approval.refused"], [e.kind for e in new]
    assert new[0].payload["code"] == code
    assert ledger.verify().ok


def test_request_then_approve(ledger, envelope):
    req = _request(ledger, envelope)
    assert req.status == "pending" and req.min_approvals == 1
    assert req.required_roles == ("FinanceAdmin",)
    done = decide(ledger, req.id, token=_approve_token(), decision="approve", reason="ok")
    assert done.status == "approved" and done.approvers == ("bob",)
    kinds = [e.kind for e in ledger.events()]
    assert kinds == ["approval.requested", "approval.approved"]
    assert ledger.verify().ok


def test_reject_needs_no_second_opinion(ledger, envelope):
    req = _request(ledger, envelope)
    done = decide(ledger, req.id, token=_approve_token(), decision="reject", reason="wrong vendor")
    assert done.status == "rejected"
    assert done.decisions[0].reason == "wrong vendor"


@pytest.mark.parametrize(
    "make_token, code",
    [
        (lambda: _approve_token(now=utcnow() - dt.timedelta(hours=2), ttl=dt.timedelta(minutes=15)),
         "token_expired"),
        (lambda: _approve_token() [:-6] + "AAAAAA", "token_forged"),
        (lambda: issue_token("bob", actions=["approval.read"], workflows=[WF]), "token_wrong_action"),
        (lambda: _approve_token(workflows=["vendor_bank_change"]), "token_wrong_workflow"),
        (lambda: _approve_token(environment="prod"), "token_wrong_environment"),
        (lambda: None, "token_missing"),
        (lambda: "not-a-jwt", "token_malformed"),
    ],
    ids=["expired", "forged", "wrong-action", "wrong-workflow", "wrong-environment", "missing", "malformed"],
)
def test_bad_tokens_are_refused_and_change_nothing(ledger, envelope, make_token, code):
    req = _request(ledger, envelope)
    token = make_token()
    before = ledger_snapshot(ledger)
    with pytest.raises(TokenError) as info:
        decide(ledger, req.id, token=token, decision="approve")
    assert info.value.code == code
    _assert_refused_cleanly(ledger, before, code)
    assert get_request(ledger, req.id).status == "pending"


def test_forged_with_another_key_is_refused(ledger, envelope, tmp_path, monkeypatch):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    req = _request(ledger, envelope)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    monkeypatch.setenv("GOVERNED_AGENTS_SIGNING_KEY", pem)
    forged = _approve_token()  # well-formed, but signed by a key the ledger's home does not trust
    monkeypatch.delenv("GOVERNED_AGENTS_SIGNING_KEY")
    before = ledger_snapshot(ledger)
    with pytest.raises(TokenError) as info:
        decide(ledger, req.id, token=forged, decision="approve")
    assert info.value.code == "token_forged"
    _assert_refused_cleanly(ledger, before, "token_forged")
    refused = ledger.events(kind="approval.refused")[-1]
    assert refused.actor is None and refused.payload["claimed_subject"] == "unverified:bob"


def test_self_approval_refused(ledger, envelope):
    req = _request(ledger, envelope, requested_by="bob")
    before = ledger_snapshot(ledger)
    with pytest.raises(ApprovalRefused) as info:
        decide(ledger, req.id, token=_approve_token("bob"), decision="approve")
    assert info.value.code == "self_approval"
    _assert_refused_cleanly(ledger, before, "self_approval")


def test_approver_without_required_role_refused(ledger):
    strict = load_envelope_text(envelope_text(approval_roles=["Treasurer"]), "strict.yaml")
    req = _request(ledger, strict)
    before = ledger_snapshot(ledger)
    with pytest.raises(ApprovalRefused) as info:
        decide(ledger, req.id, token=_approve_token("bob"), decision="approve")
    assert info.value.code == "approver_lacks_role"
    _assert_refused_cleanly(ledger, before, "approver_lacks_role")


def test_role_removed_after_token_issued_is_refused(ledger, envelope, tmp_path, monkeypatch):
    from tests.fixtures import principals_without_role

    req = _request(ledger, envelope)
    token = _approve_token("bob")
    monkeypatch.setenv("GOVERNED_AGENTS_POLICY_DIR", str(principals_without_role(tmp_path, "bob", "FinanceAdmin")))
    before = ledger_snapshot(ledger)
    with pytest.raises(TokenError) as info:
        decide(ledger, req.id, token=token, decision="approve")
    assert info.value.code == "principal_lacks_role"
    _assert_refused_cleanly(ledger, before, "principal_lacks_role")


def test_already_decided_refused(ledger, envelope):
    req = _request(ledger, envelope)
    decide(ledger, req.id, token=_approve_token("bob"), decision="approve")
    before = ledger_snapshot(ledger)
    with pytest.raises(ApprovalRefused) as info:
        decide(ledger, req.id, token=_approve_token("carol"), decision="reject", reason="late")
    assert info.value.code == "already_decided"
    _assert_refused_cleanly(ledger, before, "already_decided")
    assert get_request(ledger, req.id).status == "approved"


def test_replayed_approval_refused(ledger, envelope):
    req = _request(ledger, envelope)
    token = _approve_token("bob")
    decide(ledger, req.id, token=token, decision="approve")
    before = ledger_snapshot(ledger)
    with pytest.raises(ApprovalRefused) as info:
        decide(ledger, req.id, token=token, decision="approve")
    assert info.value.code == "already_decided"
    _assert_refused_cleanly(ledger, before, "already_decided")


def test_expired_request_is_denied_never_approved(ledger, envelope):
    created = utcnow() - dt.timedelta(hours=25)  # envelope default expiry: 24 h
    req = _request(ledger, envelope, now=created)
    before = ledger_snapshot(ledger)
    with pytest.raises(ApprovalRefused) as info:
        decide(ledger, req.id, token=_approve_token(), decision="approve")
    assert info.value.code == "request_expired"
    _assert_refused_cleanly(ledger, before, "request_expired")
    assert get_request(ledger, req.id).effective_status() == "expired"
    from governed_agents.approvals import list_requests

    assert [r.id for r in list_requests(ledger, status="expired")] == [req.id]
    assert list_requests(ledger, status="pending") == []
    assert expire_overdue(ledger) == [req.id]
    assert [r.id for r in list_requests(ledger, status="expired")] == [req.id]
    assert get_request(ledger, req.id).status == "expired"
    assert ledger.events()[-1].kind == "approval.expired"


def test_preview_edited_in_the_ledger_is_refused(ledger, envelope):
    req = _request(ledger, envelope)
    tampered = {"before": None, "after": {"amount": "100000.00"}, "changes": ["debit 100,000.00 EUR"]}
    with ledger.transaction() as c:
        c.execute(update(approval_requests).where(approval_requests.c.id == req.id)
                  .values(preview=canonical_json(tampered)))
    before = ledger_snapshot(ledger)
    with pytest.raises(ApprovalRefused) as info:
        decide(ledger, req.id, token=_approve_token(), decision="approve")
    assert info.value.code == "preview_changed"
    _assert_refused_cleanly(ledger, before, "preview_changed")


def test_preview_changed_in_the_system_of_record_is_refused(ledger, envelope):
    req = _request(ledger, envelope)
    before = ledger_snapshot(ledger)
    with pytest.raises(ApprovalRefused) as info:
        decide(ledger, req.id, token=_approve_token(), decision="approve",
               rebuild_preview=lambda r: {**r.preview, "before": {"amount": "50.00"}})
    assert info.value.code == "preview_changed"
    _assert_refused_cleanly(ledger, before, "preview_changed")


def test_unknown_request_refused(ledger, envelope):
    before = ledger_snapshot(ledger)
    with pytest.raises(ApprovalRefused) as info:
        decide(ledger, "no-such-id", token=_approve_token(), decision="approve")
    assert info.value.code == "unknown_request"
    _assert_refused_cleanly(ledger, before, "unknown_request")


def test_wrong_tenant_refused(ledger, envelope, tmp_path, monkeypatch):
    from tests.fixtures import principals_with

    monkeypatch.setenv("GOVERNED_AGENTS_POLICY_DIR", str(principals_with(
        tmp_path, {"id": "zed", "name": "Zed Other", "roles": ["FinanceAdmin"], "tenant": "globex"})))
    req = _request(ledger, envelope)
    before = ledger_snapshot(ledger)
    with pytest.raises(ApprovalRefused) as info:
        decide(ledger, req.id, token=_approve_token("zed"), decision="approve")
    assert info.value.code == "wrong_tenant"
    _assert_refused_cleanly(ledger, before, "wrong_tenant")


def test_dual_control_needs_two_distinct_approvers(ledger):
    dual = load_envelope_text(envelope_text(min_approvals=2), "dual.yaml")
    req = _request(ledger, dual)
    first = decide(ledger, req.id, token=_approve_token("bob"), decision="approve")
    assert first.status == "pending" and first.approvers == ("bob",)
    before = ledger_snapshot(ledger)
    with pytest.raises(ApprovalRefused) as info:
        decide(ledger, req.id, token=_approve_token("bob"), decision="approve")
    assert info.value.code == "duplicate_approver"
    _assert_refused_cleanly(ledger, before, "duplicate_approver")
    second = decide(ledger, req.id, token=_approve_token("carol"), decision="approve")
    assert second.status == "approved" and set(second.approvers) == {"bob", "carol"}


def test_batch_is_all_or_nothing(ledger, envelope):
    ok = [_request(ledger, envelope, batch_id="b1") for _ in range(3)]
    own = _request(ledger, envelope, requested_by="bob", batch_id="b1")
    before = ledger_snapshot(ledger)
    with pytest.raises(ApprovalRefused) as info:
        decide_batch(ledger, [r.id for r in ok] + [own.id], token=_approve_token("bob"), decision="approve")
    assert info.value.code == "self_approval"
    _assert_refused_cleanly(ledger, before, "self_approval")
    done = decide_batch(ledger, [r.id for r in ok], token=_approve_token("bob"), decision="approve")
    assert [r.status for r in done] == ["approved"] * 3


def test_concurrent_approvers_do_not_both_decide(ledger, envelope):
    """Two approvers racing on one request: exactly one decision lands."""
    from concurrent.futures import ThreadPoolExecutor

    req = _request(ledger, envelope)
    tokens = [_approve_token("bob"), _approve_token("carol")]

    def attempt(token):
        try:
            return decide(ledger, req.id, token=token, decision="approve").status
        except ApprovalRefused as exc:
            return exc.code

    with ThreadPoolExecutor(2) as pool:
        results = sorted(pool.map(attempt, tokens))
    assert results == ["already_decided", "approved"]
    with ledger.engine.connect() as c:
        n = c.execute(text("SELECT count(*) FROM approval_decisions")).scalar_one()
    assert n == 1

"""Approval attacks, one table: each is refused, changes nothing, and leaves one refusal event.

Three layers are attacked:

- the approvals service (``decide``): bad tokens, wrong tenant/role, replay,
  self-approval, dual control by one person, changed previews, expiry. Each
  refusal raises with its code, writes exactly one ``approval.refused`` event
  and changes no other table (``tests.test_approvals`` helpers, reused);
- the posting step (``GovernedExecutor.call`` with the approval): a preview
  changed after approval, and approvals forged in the ledger database around the
  CLI. Each is ``denied``: the ERP is unchanged, one ``tool.refused`` event and
  its ``write_refused`` receipt (``receipt.issued``), beside the gate's
  ``tool.decision`` event that every call writes;
- the admin panel: POSTs without or with a wrong CSRF token, and cross-origin
  POSTs. Each answers 403, changes no table and writes one ``admin.refused``.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select, update

from governed_agents.approvals import decide, get_request
from governed_agents.envelope import load_envelope_text
from governed_agents.errors import ApprovalRefused, TokenError
from governed_agents.ledger import Ledger
from governed_agents.ledger.schema import approval_decisions, approval_requests
from governed_agents.timeutil import utcnow
from tests.fixtures import envelope_text, ledger_snapshot
from tests.test_approvals import WF, _approve_token, _assert_refused_cleanly, _request

# -- the approvals service -----------------------------------------------------


def _other_key_token():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    import os

    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    os.environ["GOVERNED_AGENTS_SIGNING_KEY"] = pem
    try:
        return _approve_token()
    finally:
        del os.environ["GOVERNED_AGENTS_SIGNING_KEY"]


def _flip_signature(token: str) -> str:
    head, body, sig = token.split(".")
    return ".".join([head, body, ("B" if sig[0] != "B" else "C") + sig[1:]])


def _approved_first(ledger, req, token):
    decide(ledger, req.id, token=token, decision="approve")


# (id, envelope knobs, requested_by, prepare(ledger, req, tmp_path, monkeypatch) -> token,
#  decide kwargs, expected exception, code)
SERVICE_ATTACKS = [
    ("forged-signature", {}, "alice", lambda l, r, p, m: _flip_signature(_approve_token()), {}, TokenError,
     "token_forged"),
    ("forged-other-key", {}, "alice", lambda l, r, p, m: _other_key_token(), {}, TokenError, "token_forged"),
    ("expired-token", {}, "alice",
     lambda l, r, p, m: _approve_token(now=utcnow() - dt.timedelta(hours=2), ttl=dt.timedelta(minutes=15)), {},
     TokenError, "token_expired"),
    ("other-workflow", {}, "alice", lambda l, r, p, m: _approve_token(workflows=["vendor_bank_change"]), {},
     TokenError, "token_wrong_workflow"),
    ("other-environment", {}, "alice", lambda l, r, p, m: _approve_token(environment="prod"), {}, TokenError,
     "token_wrong_environment"),
    ("other-tenant", {}, "alice", lambda l, r, p, m: _tenant_zed(p, m), {}, ApprovalRefused, "wrong_tenant"),
    ("replayed-approval", {}, "alice", lambda l, r, p, m: _replay(l, r), {}, ApprovalRefused, "already_decided"),
    ("self-approval", {}, "bob", lambda l, r, p, m: _approve_token("bob"), {}, ApprovalRefused, "self_approval"),
    ("role-not-in-approval_roles", {"approval_roles": ["Treasurer"]}, "alice",
     lambda l, r, p, m: _approve_token("bob"), {}, ApprovalRefused, "approver_lacks_role"),
    ("dual-control-same-person-twice", {"min_approvals": 2}, "alice", lambda l, r, p, m: _replay(l, r), {},
     ApprovalRefused, "duplicate_approver"),
    ("preview-changed-in-system-of-record", {}, "alice", lambda l, r, p, m: _approve_token(),
     {"rebuild_preview": lambda req: {**req.preview, "before": {"amount": "50.00"}}}, ApprovalRefused,
     "preview_changed"),
    ("preview-edited-in-ledger", {}, "alice", lambda l, r, p, m: _edit_preview(l, r), {}, ApprovalRefused,
     "preview_changed"),
    ("request-expired", {"expiry_hours": 1, "created_hours_ago": 2}, "alice", lambda l, r, p, m: _approve_token(),
     {}, ApprovalRefused, "request_expired"),
]


def _tenant_zed(tmp_path, monkeypatch):
    from tests.fixtures import principals_with

    monkeypatch.setenv("GOVERNED_AGENTS_POLICY_DIR", str(principals_with(
        tmp_path, {"id": "zed", "name": "Zed Other", "roles": ["FinanceAdmin"], "tenant": "globex"})))
    return _approve_token("zed")


def _replay(ledger, req):
    token = _approve_token("bob")
    decide(ledger, req.id, token=token, decision="approve")
    return token


def _edit_preview(ledger, req):
    from governed_agents.canonical import canonical_json

    with ledger.transaction() as c:
        c.execute(update(approval_requests).where(approval_requests.c.id == req.id).values(
            preview=canonical_json({"before": None, "after": {"amount": "100000.00"}, "changes": ["debit"]})))
    return _approve_token()


@pytest.fixture
def ledger(db_url):
    return Ledger.open(db_url)


@pytest.mark.parametrize("name, knobs, requested_by, prepare, kwargs, error, code", SERVICE_ATTACKS,
                         ids=[a[0] for a in SERVICE_ATTACKS])
def test_approval_service_attack_is_refused(ledger, tmp_path, monkeypatch, name, knobs, requested_by, prepare,
                                            kwargs, error, code):
    knobs = dict(knobs)
    hours_ago = knobs.pop("created_hours_ago", 0)
    envelope = load_envelope_text(envelope_text(**knobs), f"{name}.yaml")
    req = _request(ledger, envelope, requested_by=requested_by, now=utcnow() - dt.timedelta(hours=hours_ago))
    token = prepare(ledger, req, tmp_path, monkeypatch)
    status_before = get_request(ledger, req.id).status
    before = ledger_snapshot(ledger)
    with pytest.raises(error) as info:
        decide(ledger, req.id, token=token, decision="approve", **kwargs)
    assert info.value.code == code
    _assert_refused_cleanly(ledger, before, code)
    assert get_request(ledger, req.id).status == status_before


# -- the posting step ------------------------------------------------------------

ENTRY = {"invoice_id": "INV-7", "vendor_id": "V001", "currency": "EUR", "amount": "700.00", "memo": "attack"}


@pytest.fixture
def erp(tmp_path):
    from governed_agents.erp.connector import erp_engine
    from tests.adversarial._pipeline import seed_erp

    engine = erp_engine(f"sqlite:///{tmp_path / 'erp.sqlite3'}")
    seed_erp(engine)
    return engine


def _entries(erp) -> int:
    from governed_agents.erp.schema import journal_entries

    with erp.connect() as c:
        return c.execute(select(func.count()).select_from(journal_entries)).scalar_one()


def _executor(ledger, erp):
    from governed_agents.erp.tools import erp_toolset
    from governed_agents.executor import GovernedExecutor

    registry, previews = erp_toolset(erp)
    return GovernedExecutor(ledger, registry, previews=previews)


def _task(envelope):
    from governed_agents.executor import TaskContext

    return TaskContext(envelope=envelope, requested_by="alice", agent="agent.invoice", tenant="acme")


def _bare_row(ledger, erp, req, envelope):
    """The attacker's whole approval: a status flip and a decision row, no token, no event."""
    with ledger.transaction() as c:
        c.execute(update(approval_requests).where(approval_requests.c.id == req.id)
                  .values(status="approved", decided_at=utcnow()))
        c.execute(approval_decisions.insert().values(
            id=str(uuid.uuid4()), request_id=req.id, approver="bob", decision="approve", reason="trust me",
            preview_digest=req.preview_digest, token_id=None, decided_at=utcnow()))


def _row_and_event(ledger, erp, req, envelope):
    """Row plus a well-chained decision event appended through the ledger API, but no valid attestation."""
    _bare_row(ledger, erp, req, envelope)
    ledger.append("approval.approved", {"request_id": req.id, "decision": "approve", "approvals": 1,
                                        "min_approvals": 1, "preview_digest": req.preview_digest,
                                        "token_id": "forged", "status": "approved", "attestation": "00" * 64},
                  actor="bob", workflow=WF, trace_id=req.trace_id)


def _attestation_copied(ledger, erp, req, envelope):
    """A genuine attestation from another request, replayed onto this one."""
    other = _executor(ledger, erp).call(_task(envelope), "erp.create_journal_entry",
                                        {**ENTRY, "invoice_id": "INV-8"}).approval_request
    decide(ledger, other.id, token=_approve_token("bob"), decision="approve")
    genuine = [e for e in ledger.events(kind="approval.approved") if e.payload["request_id"] == other.id][0]
    _bare_row(ledger, erp, req, envelope)
    ledger.append("approval.approved", {**genuine.payload, "request_id": req.id,
                                        "preview_digest": req.preview_digest},
                  actor="bob", workflow=WF, trace_id=req.trace_id)


def _preview_changed(ledger, erp, req, envelope):
    decide(ledger, req.id, token=_approve_token("bob"), decision="approve")
    from governed_agents.erp.schema import vendors  # the ERP changes under the approval: the entry is posted
    from governed_agents.erp.schema import journal_entries
    from governed_agents.erp.tools import ACCOUNTS_PAYABLE, GRIR_CLEARING

    with erp.begin() as c:
        c.execute(journal_entries.insert().values(
            entry_id="manual-1", idempotency_key="erp.create_journal_entry:V001:INV-7", invoice_id="INV-7",
            vendor_id="V001", currency="EUR", amount="650.00", debit_account=GRIR_CLEARING,
            credit_account=ACCOUNTS_PAYABLE, memo="posted by hand", posted_at=utcnow()))
    del vendors


POSTING_ATTACKS = [
    ("approval-row-written-around-the-cli", _bare_row, "unverified"),
    ("approval-row-and-unsigned-event", _row_and_event, "unverified"),
    ("attestation-replayed-from-another-request", _attestation_copied, "unverified"),
    ("preview-changed-after-approval", _preview_changed, "was granted for preview"),
]


@pytest.mark.parametrize("name, attack, reason", POSTING_ATTACKS, ids=[a[0] for a in POSTING_ATTACKS])
def test_posting_attack_is_refused(ledger, erp, name, attack, reason):
    from governed_agents.workflows.invoice_reconcile import post

    envelope = load_envelope_text(envelope_text(), "posting.yaml")
    ex = _executor(ledger, erp)
    req = ex.call(_task(envelope), "erp.create_journal_entry", ENTRY).approval_request
    attack(ledger, erp, req, envelope)
    erp_before = _entries(erp)
    head = ledger.head()[0]
    result = post(req.id, ex, envelope)
    assert result.outcome == "denied", result.outcome
    assert any(reason in r.message for r in result.decision.reasons), [r.message for r in result.decision.reasons]
    assert _entries(erp) == erp_before, "the ERP changed"
    assert result.receipt.receipt.kind == "write_refused"
    new = [e.kind for e in ledger.events(after_seq=head)]
    assert new == ["tool.decision", "tool.refused", "receipt.issued"], new  # one refusal, receipted
    assert get_request(ledger, req.id).status != "executed"
    assert ledger.verify().ok  # the forgeries used the ledger's API: the chain is intact, the signature is not


def test_genuine_approval_still_posts(ledger, erp):
    """The control: the same flow through the approvals service executes once."""
    from governed_agents.workflows.invoice_reconcile import post

    envelope = load_envelope_text(envelope_text(), "posting.yaml")
    ex = _executor(ledger, erp)
    req = ex.call(_task(envelope), "erp.create_journal_entry", ENTRY).approval_request
    decide(ledger, req.id, token=_approve_token("bob"), decision="approve")
    assert post(req.id, ex, envelope).outcome == "executed" and _entries(erp) == 1


def test_row_inserted_into_the_chain_by_sql_breaks_it(ledger, erp):
    """An attacker who writes the decision event by SQL (not through the ledger) breaks the chain."""
    from governed_agents.ledger.schema import audit_events

    envelope = load_envelope_text(envelope_text(), "posting.yaml")
    req = _executor(ledger, erp).call(_task(envelope), "erp.create_journal_entry", ENTRY).approval_request
    last = ledger.events()[-1]
    with ledger.transaction() as c:
        c.execute(audit_events.insert().values(
            seq=last.seq + 1, event_id=str(uuid.uuid4()), ts=utcnow(), kind="approval.approved", actor="bob",
            workflow=WF, trace_id=req.trace_id, run_id=None, envelope_version=None, envelope_digest=None,
            payload='{"request_id": "%s"}' % req.id, prev_hash=last.hash, hash="f" * 64))
    result = ledger.verify()
    assert not result.ok and result.first_bad_seq == last.seq + 1


# -- the admin panel ---------------------------------------------------------------


@pytest.fixture
def panel():
    from starlette.testclient import TestClient

    from governed_agents.admin.app import create_app

    return TestClient(create_app(), base_url="http://127.0.0.1")


ADMIN_ATTACKS = [
    ("no-csrf-token", lambda csrf: ({"decision": "approve"}, {}), "csrf_failed"),
    ("wrong-csrf-token", lambda csrf: ({"decision": "approve", "csrf_token": "x" * 43}, {}), "csrf_failed"),
    ("cross-origin-with-token", lambda csrf: ({"decision": "approve", "csrf_token": csrf},
                                              {"Origin": "https://evil.example"}), "cross_origin"),
    ("cross-origin-null", lambda csrf: ({"decision": "approve", "csrf_token": csrf}, {"Origin": "null"}),
     "cross_origin"),
    ("cross-site-referer", lambda csrf: ({"decision": "approve", "csrf_token": csrf},
                                         {"Referer": "https://evil.example/page"}), "cross_origin"),
]


@pytest.mark.parametrize("name, make, code", ADMIN_ATTACKS, ids=[a[0] for a in ADMIN_ATTACKS])
def test_admin_panel_forged_post_is_refused(panel, name, make, code):
    from tests.test_admin import _propose, _signin

    request = _propose()
    csrf = _signin(panel, "bob")
    ledger = Ledger.open()
    before = ledger_snapshot(ledger)
    data, headers = make(csrf)
    r = panel.post(f"/approvals/{request.id}/decide", data=data, headers=headers)
    assert r.status_code == 403
    after = ledger_snapshot(ledger)
    assert after["tables"] == before["tables"]
    new = ledger.events(after_seq=before["head"])
    assert [(e.kind, e.payload["code"]) for e in new] == [("admin.refused", code)]
    assert get_request(ledger, request.id).status == "pending"
    # the same session, same origin, right token: accepted (the refusals were about the attack, not the user)
    ok = panel.post(f"/approvals/{request.id}/decide", data={"decision": "approve", "csrf_token": csrf},
                    headers={"Origin": "http://127.0.0.1"})
    assert ok.status_code == 200 and get_request(ledger, request.id).status == "approved"


def test_cross_origin_signin_is_refused(panel):
    import re

    page = panel.get("/signin")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    ledger = Ledger.open()
    head = ledger.head()[0]
    r = panel.post("/signin", data={"csrf_token": csrf, "principal": "bob", "password": "bob-demo"},
                   headers={"Origin": "https://evil.example"}, follow_redirects=False)
    assert r.status_code == 403
    assert [e.payload["code"] for e in ledger.events(after_seq=head)] == ["cross_origin"]

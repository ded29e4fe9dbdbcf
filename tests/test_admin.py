"""The admin panel's server-side rules, through Starlette's TestClient (fast; no browser).

The browser tests (test_admin_browser.py) drive the same app through Chromium.
"""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from governed_agents.admin.app import COOKIE, create_app
from governed_agents.admin.auth import check_password, hash_password
from governed_agents.admin.markdown import markdown_to_html
from governed_agents.ledger import Ledger
from tests.fixtures import ledger_snapshot


def _propose(requested_by="alice", invoice="INV-9", amount="10.00"):
    from governed_agents.envelope import find_envelope
    from governed_agents.executor import TaskContext
    from governed_agents.workflows import executor_for

    ex = executor_for("invoice_reconcile", Ledger.open())
    task = TaskContext(envelope=find_envelope("invoice_reconcile"), requested_by=requested_by)
    entry = {"invoice_id": invoice, "vendor_id": "V001", "currency": "EUR", "amount": amount}
    return ex.call(task, "erp.create_journal_entry", entry).approval_request


class Clock:
    def __init__(self):
        import time

        self.offset = 0.0
        self._time = time.time

    def __call__(self):
        return self._time() + self.offset


@pytest.fixture
def panel():
    app = create_app()
    app.state.settings.clock = clock = Clock()
    client = TestClient(app, base_url="http://127.0.0.1")
    client.clock = clock
    return client


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _signin(client, principal, password=None):
    page = client.get("/signin")
    r = client.post("/signin", data={"csrf_token": _csrf(page.text), "principal": principal,
                                     "password": password or f"{principal}-demo"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return _csrf(client.get("/approvals").text)


def _events(kind=None):
    return [e for e in Ledger.open().events() if kind is None or e.kind == kind]


def _tables():
    return ledger_snapshot(Ledger.open())["tables"]


def test_password_hashes_are_scrypt_and_checked_in_constant_form():
    stored = hash_password("s3cret")
    assert stored.startswith("scrypt$") and check_password("s3cret", stored)
    assert not check_password("s3cret ", stored) and not check_password("x", "garbage")


def test_markdown_escapes_everything():
    html = markdown_to_html("# T <b>\n\n| a | b |\n|---|---|\n| <script>x</script> | `c` |\n\n- **x** <i>")
    assert "<script>" not in html and "&lt;script&gt;" in html and "<code>c</code>" in html
    assert "<strong>x</strong> &lt;i&gt;" in html and "<th>a</th>" in html


def test_pages_need_a_session_and_signin_is_audited(panel):
    r = panel.get("/approvals", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/signin?")
    page = panel.get("/signin")
    bad = panel.post("/signin", data={"csrf_token": _csrf(page.text), "principal": "bob", "password": "nope"})
    assert bad.status_code == 401 and "wrong password" in bad.text
    assert _events("admin.signin_refused")
    _signin(panel, "bob")
    cookie = panel.cookies.get(COOKIE)
    assert cookie
    signin = _events("admin.signin")[-1]
    assert signin.actor == "bob" and signin.payload["method"] == "password"
    # the cookie is HttpOnly and SameSite=Strict
    page = panel.get("/signin")
    resp = panel.post("/signin", data={"csrf_token": _csrf(page.text), "principal": "bob", "password": "bob-demo"},
                      follow_redirects=False)
    set_cookie = resp.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=strict" in set_cookie


def test_signin_form_needs_its_csrf_token(panel):
    panel.get("/signin")
    r = panel.post("/signin", data={"principal": "bob", "password": "bob-demo"})
    assert r.status_code == 403 and COOKIE not in panel.cookies


def test_session_expires(panel):
    _signin(panel, "bob")
    assert panel.get("/approvals", follow_redirects=False).status_code == 200
    panel.clock.offset = 31 * 60
    r = panel.get("/approvals", follow_redirects=False)
    assert r.status_code == 303 and "expired=1" in r.headers["location"]


def test_approve_with_csrf_and_refusals(panel):
    request = _propose()
    csrf = _signin(panel, "bob")
    inbox = panel.get("/approvals").text
    assert "debit 2110 GR/IR clearing 10.00 EUR" in inbox and "alice" in inbox

    before = _tables()
    no_token = panel.post(f"/approvals/{request.id}/decide", data={"decision": "approve"})
    wrong = panel.post(f"/approvals/{request.id}/decide", data={"decision": "approve", "csrf_token": "x" * 43})
    assert no_token.status_code == 403 and wrong.status_code == 403
    assert _tables() == before
    assert [e.payload["code"] for e in _events("admin.refused")] == ["csrf_failed", "csrf_failed"]

    ok = panel.post(f"/approvals/{request.id}/decide", data={"decision": "approve", "reason": "ok",
                                                              "csrf_token": csrf})
    assert ok.status_code == 200 and "approve" in ok.text
    approved = _events("approval.approved")
    assert approved and approved[-1].actor == "bob" and approved[-1].payload["reason"] == "ok"
    again = panel.post(f"/approvals/{request.id}/decide", data={"decision": "approve", "csrf_token": csrf})
    assert "already approved" in again.text


def test_auditor_sees_but_cannot_approve(panel):
    request = _propose()
    csrf = _signin(panel, "dana")
    page = panel.get(f"/approvals/{request.id}").text
    assert "debit 2110" in page and 'value="approve"' not in page and "Read only" in page
    before = _tables()
    r = panel.post(f"/approvals/{request.id}/decide", data={"decision": "approve", "csrf_token": csrf})
    assert r.status_code == 403 and "may not perform approval.approve" in r.text
    assert _tables() == before
    assert _events("admin.refused")[-1].actor == "dana"


def test_self_approval_shows_the_services_refusal(panel):
    request = _propose(requested_by="bob")
    csrf = _signin(panel, "bob")
    r = panel.post(f"/approvals/{request.id}/decide", data={"decision": "approve", "csrf_token": csrf})
    assert "cannot decide it (separation of duties)" in r.text
    assert _events("approval.refused")[-1].payload["code"] == "self_approval"


def test_kill_switch_admin_only(panel):
    from governed_agents import kill_switch

    csrf = _signin(panel, "bob")
    assert "Admin only" in panel.get("/controls").text
    r = panel.post("/controls/kill-switch", data={"workflow": "", "engaged": "on", "csrf_token": csrf})
    assert r.status_code == 403
    assert not kill_switch.state(Ledger.open(), "invoice_reconcile").engaged

    admin = TestClient(panel.app, base_url="http://127.0.0.1")
    csrf = _signin(admin, "erin")
    page = admin.get("/controls").text
    assert "not built yet (issue 5)" in page and "not built yet (issue 7)" in page
    r = admin.post("/controls/kill-switch", data={"workflow": "invoice_reconcile", "engaged": "on",
                                                  "reason": "drill", "csrf_token": csrf})
    assert r.status_code == 200 and "ON for workflow:invoice_reconcile" in r.text
    assert kill_switch.state(Ledger.open(), "invoice_reconcile").engaged
    assert _events("kill_switch.engaged")[-1].actor == "erin"


def test_token_signin_is_limited_to_the_tokens_scope(panel):
    from governed_agents.identity.tokens import issue_token

    request = _propose()
    token = issue_token("bob", actions=["approval.read"], workflows=["invoice_reconcile"])
    page = panel.get("/signin")
    r = panel.post("/signin", data={"csrf_token": _csrf(page.text), "token": token}, follow_redirects=False)
    assert r.status_code == 303
    inbox = panel.get("/approvals").text
    assert "debit 2110" in inbox and 'value="approve"' not in inbox
    csrf = _csrf(inbox)
    r = panel.post(f"/approvals/{request.id}/decide", data={"decision": "approve", "csrf_token": csrf})
    assert r.status_code == 403


def test_signout_ends_the_session(panel):
    csrf = _signin(panel, "bob")
    cookie = panel.cookies.get(COOKIE)
    assert panel.post("/signout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    panel.cookies.set(COOKIE, cookie)  # a copied cookie does not outlive the sign-out
    assert panel.get("/approvals", follow_redirects=False).status_code == 303
    assert _events("admin.signout")[-1].actor == "bob"


def test_receipts_spend_and_policies_pages(panel):
    request = _propose()
    csrf = _signin(panel, "bob")
    panel.post(f"/approvals/{request.id}/decide", data={"decision": "approve", "csrf_token": csrf})
    from governed_agents.envelope import find_envelope
    from governed_agents.executor import TaskContext
    from governed_agents.workflows import executor_for

    ex = executor_for("invoice_reconcile", Ledger.open())
    task = TaskContext(envelope=find_envelope("invoice_reconcile"), requested_by="alice")
    result = ex.call(task, "erp.create_journal_entry", request.arguments, approval_request_id=request.id)
    receipt_id = result.receipt.receipt.receipt_id
    listing = panel.get("/receipts", params={"vendor": "V001"}).text
    assert receipt_id[:8] in listing
    assert receipt_id[:8] not in panel.get("/receipts", params={"vendor": "V999"}).text
    page = panel.get(f"/receipts/{receipt_id}").text
    assert "verified" in page and "Audit anchor" in page and "<table>" in page
    assert "cost per completed task" in panel.get("/spend").text.lower()
    policies = panel.get("/policies", params={"a": "invoice_reconcile.yaml", "b": "invoice_reconcile.yaml"}).text
    assert "2026-03-01" in policies and "no differences" in policies


def test_spend_page_charts_cost_per_completed_task_over_time(panel):
    from governed_agents.envelope import find_envelope
    from governed_agents.executor import TaskContext
    from governed_agents.routing import record_task_outcome
    from governed_agents.timeutil import utcnow

    _signin(panel, "dana")
    assert "No completed tasks in the last 14 days." in panel.get("/spend").text
    task = TaskContext(envelope=find_envelope("invoice_reconcile"), requested_by="alice")
    record_task_outcome(Ledger.open(), task, "completed")
    page = panel.get("/spend").text
    assert "over time" in page and f">{utcnow().date().isoformat()}</text>" in page

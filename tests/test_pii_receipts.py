"""Receipts hold redacted free text (logging.redact_pii); the system of record keeps the real value.

The free text a receipt carries from people and systems: the approver's reason,
refusal notes, the states and changes of the preview.
"""

from __future__ import annotations

from governed_agents.approvals import decide
from governed_agents.envelope import load_envelope_text
from governed_agents.executor import TaskContext
from governed_agents.identity.tokens import issue_token
from governed_agents.ledger import Ledger
from governed_agents.receipts.signing import export_bytes
from tests.fixtures import REPO, envelope_text
from tests.test_executor import ENTRY, _executor, _task, erp  # noqa: F401 (fixture)

REASON = "Checked by phone with Mr. Jonas Vollmer (+49 30 98765432), confirmation from j.vollmer@vollmer.example"
RAW = ("Jonas Vollmer", "j.vollmer@vollmer.example", "+49 30 98765432", "98765432")


def _run(ledger, erp, task):  # noqa: F811
    ex = _executor(ledger, erp)
    proposed = ex.call(task, "erp.create_journal_entry", ENTRY)
    token = issue_token("bob", actions=["approval.approve"], workflows=["invoice_reconcile"])
    decide(ledger, proposed.approval_request.id, token=token, decision="approve", reason=REASON)
    done = ex.call(task, "erp.create_journal_entry", ENTRY, approval_request_id=proposed.approval_request.id)
    assert done.outcome == "executed"
    return export_bytes(done.receipt).decode("utf-8")


def test_a_receipt_holds_placeholders_for_personal_data(sqlite_url, erp):  # noqa: F811
    exported = _run(Ledger.open(sqlite_url), erp, _task())
    assert [v for v in RAW if v in exported] == []
    assert "Checked by phone with Mr. [NAME_1] ([PHONE_1]), confirmation from [EMAIL_1]" in exported


def test_without_redaction_the_receipt_keeps_the_text(sqlite_url, erp, tmp_path, monkeypatch):  # noqa: F811
    text = envelope_text()
    assert "redact_pii: true" in text
    text = text.replace("redact_pii: true", "redact_pii: false")
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "invoice_reconcile.yaml").write_text(text)
    (policies / "principals.yaml").write_text((REPO / "policies" / "principals.yaml").read_text())
    monkeypatch.setenv("GOVERNED_AGENTS_POLICY_DIR", str(policies))
    envelope = load_envelope_text(text, "t.yaml")
    task = TaskContext(envelope=envelope, requested_by="alice", agent="agent.invoice", tenant="acme")
    exported = _run(Ledger.open(sqlite_url), erp, task)
    assert REASON in exported


def test_the_approvers_reason_is_stored_redacted_in_the_ledger_and_the_chain(sqlite_url, erp):  # noqa: F811
    ledger = Ledger.open(sqlite_url)
    _run(ledger, erp, _task())
    raw_bytes = open(sqlite_url.removeprefix("sqlite:///"), "rb").read()
    for path in (sqlite_url.removeprefix("sqlite:///") + "-wal",):
        try:
            raw_bytes += open(path, "rb").read()
        except FileNotFoundError:
            pass
    assert [v for v in RAW if v.encode() in raw_bytes] == []
    (approved,) = ledger.events(kind="approval.approved")
    assert approved.payload["reason"] == "Checked by phone with Mr. [NAME_1] ([PHONE_1]), confirmation from [EMAIL_1]"
    assert ledger.verify().ok

"""Receipts in the ledger (SQLite and PostgreSQL): store with an audit event, get, list."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from governed_agents.canonical import canonical_json
from governed_agents.errors import LedgerError
from governed_agents.identity.keys import public_key, signing_key
from governed_agents.ledger.db import Ledger
from governed_agents.ledger.schema import receipts
from governed_agents.receipts.examples import example_receipt
from governed_agents.receipts.signing import export_bytes, sign_receipt, verify_receipt_bytes, verify_signed
from governed_agents.receipts.store import ReceiptNotFound, get_receipt, list_receipts, store_receipt


def _anchored(ledger: Ledger, conn=None, **overrides):
    """A receipt anchored to a real audit event, signed with the installation key."""
    event = ledger.append(
        "tool.write_executed", {"tool": "erp.create_journal_entry"}, actor="agent.invoice",
        workflow=overrides.get("workflow", "invoice_reconcile"), trace_id=overrides.get("trace_id", "t-1"), conn=conn,
    )  # fmt: skip
    overrides.setdefault("trace_id", "t-1")
    receipt = example_receipt(audit_anchor={"seq": event.seq, "hash": event.hash}, **overrides)
    return sign_receipt(receipt, signing_key())


@pytest.fixture
def ledger(db_url):
    ledger = Ledger.open(db_url)
    yield ledger
    ledger.dispose()


def test_store_get_roundtrip_and_audit_event(ledger):
    signed = _anchored(ledger, receipt_id="r-0001-aaaa")
    event = store_receipt(ledger, signed)
    assert event.kind == "receipt.issued"
    assert event.payload["receipt_id"] == "r-0001-aaaa"
    assert event.payload["digest"] == signed.receipt.digest()
    assert event.payload["anchor"] == {"seq": signed.receipt.audit_anchor.seq, "hash": signed.receipt.audit_anchor.hash}
    assert event.workflow == "invoice_reconcile" and event.trace_id == "t-1"
    assert event.envelope_digest == signed.receipt.envelope_digest

    again = get_receipt(ledger, "r-0001-aaaa")
    assert again == signed
    assert export_bytes(again) == export_bytes(signed)
    verify_receipt_bytes(export_bytes(again), public_key())

    with ledger.engine.connect() as conn:
        row = conn.execute(select(receipts).where(receipts.c.id == "r-0001-aaaa")).mappings().one()
    assert row["body"] == canonical_json(signed.receipt.to_json_dict())
    assert row["audit_hash"] == signed.receipt.audit_anchor.hash
    assert row["key_id"] == signed.key_id and row["signature"] == signed.signature
    assert ledger.verify().ok


def test_store_in_callers_transaction_commits_or_rolls_back_together(ledger):
    head_before = ledger.head()
    with pytest.raises(RuntimeError):
        with ledger.transaction() as conn:
            signed = _anchored(ledger, conn, receipt_id="r-rollback")
            store_receipt(ledger, signed, conn=conn)
            raise RuntimeError("the write failed after the receipt was stored")
    assert ledger.head() == head_before
    with pytest.raises(ReceiptNotFound):
        get_receipt(ledger, "r-rollback")

    with ledger.transaction() as conn:
        signed = _anchored(ledger, conn, receipt_id="r-commit")
        store_receipt(ledger, signed, conn=conn)
        assert get_receipt(ledger, "r-commit", conn=conn) == signed
    assert get_receipt(ledger, "r-commit") == signed
    assert [e.kind for e in ledger.events()][-2:] == ["tool.write_executed", "receipt.issued"]


def test_duplicate_receipt_id_refused(ledger):
    signed = _anchored(ledger, receipt_id="r-dup")
    store_receipt(ledger, signed)
    with pytest.raises(LedgerError, match="already stored"):
        store_receipt(ledger, signed)


def test_get_by_prefix_and_not_found(ledger):
    store_receipt(ledger, _anchored(ledger, receipt_id="abcdef12-0001"))
    store_receipt(ledger, _anchored(ledger, receipt_id="abcdef12-0002"))
    store_receipt(ledger, _anchored(ledger, receipt_id="fedcba98-0001"))
    assert get_receipt(ledger, "fedcba").receipt.receipt_id == "fedcba98-0001"
    with pytest.raises(ReceiptNotFound, match="ambiguous"):
        get_receipt(ledger, "abcdef12")
    with pytest.raises(ReceiptNotFound, match="no receipt 'fed'"):
        get_receipt(ledger, "fed")  # too short for a prefix
    with pytest.raises(ReceiptNotFound, match="no receipt"):
        get_receipt(ledger, "abc%ef")  # LIKE wildcards are literal


def test_list_filters_and_order(ledger):
    for i, (workflow, trace) in enumerate([("invoice_reconcile", "t-a"), ("vendor_onboarding", "t-b"), ("invoice_reconcile", "t-b")]):
        store_receipt(ledger, _anchored(ledger, receipt_id=f"r-{i}", workflow=workflow, trace_id=trace, run_id=f"run-{i}"))
    assert [s.receipt.receipt_id for s in list_receipts(ledger)] == ["r-2", "r-1", "r-0"]
    assert [s.receipt.receipt_id for s in list_receipts(ledger, workflow="invoice_reconcile")] == ["r-2", "r-0"]
    assert [s.receipt.receipt_id for s in list_receipts(ledger, trace_id="t-b")] == ["r-2", "r-1"]
    assert [s.receipt.receipt_id for s in list_receipts(ledger, run_id="run-1")] == ["r-1"]
    assert [s.receipt.receipt_id for s in list_receipts(ledger, limit=1)] == ["r-2"]
    assert list_receipts(ledger, workflow="nope") == []


def test_edited_row_no_longer_verifies(ledger):
    signed = _anchored(ledger, receipt_id="r-edit")
    store_receipt(ledger, signed)
    body = json.loads(canonical_json(signed.receipt.to_json_dict()))
    body["state_after"]["amount"] = "1.00"
    with ledger.engine.begin() as conn:
        conn.execute(update(receipts).where(receipts.c.id == "r-edit").values(body=canonical_json(body)))
    from governed_agents.errors import ReceiptInvalid

    with pytest.raises(ReceiptInvalid, match="does not verify"):
        verify_signed(get_receipt(ledger, "r-edit"), public_key())

"""A realistic example receipt, for documentation, UI work and tests.

Like a demo ERP, an example is part of the product: it shows what a receipt
holds without running a workflow. Its audit anchor points at no real event.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from governed_agents.receipts.model import Receipt

_T0 = _dt.datetime(2026, 3, 2, 9, 0, 0, tzinfo=_dt.timezone.utc)


def example_receipt(**overrides: Any) -> Receipt:
    """An executed journal-entry write in ``invoice_reconcile``; keyword arguments replace fields."""
    at = lambda seconds: _T0 + _dt.timedelta(seconds=seconds)  # noqa: E731
    fields: dict[str, Any] = {
        "receipt_id": "5f0c6d1e-8a3b-4c2d-9e7f-1a2b3c4d5e6f",
        "kind": "write_executed",
        "workflow": "invoice_reconcile",
        "envelope_version": "2026-03-01",
        "envelope_digest": "sha256:" + "7" * 64,
        "trace_id": "4b1f0c2e9d8a4e6f8c7b6a5d4e3f2a1b",
        "run_id": "0d9c8b7a-6f5e-4d3c-2b1a-098f7e6d5c4b",
        "requester": "alice",
        "approvals": [
            {"approver": "bob", "decision": "approve", "reason": "matches PO and goods receipt", "decided_at": at(600)},
        ],
        "tool_calls": [
            {"tool": "erp.lookup_vendor", "arguments_digest": "sha256:" + "1" * 64, "outcome": "allow", "reasons": [], "at": at(1)},
            {"tool": "payments.send_wire", "arguments_digest": "sha256:" + "2" * 64, "outcome": "deny",
             "reasons": ["tool 'payments.send_wire' is not in the envelope's allowed_tools"], "at": at(2)},
            {"tool": "erp.create_journal_entry", "arguments_digest": "sha256:" + "3" * 64, "outcome": "allow", "reasons": [], "at": at(660)},
        ],
        "checks": [
            {"name": "invoice_data_quality", "passed": True, "details": {"rows": 1}},
            {"name": "injection_screen", "passed": True, "details": {"score": 0.02}},
        ],
        "state_before": None,
        "state_after": {
            "invoice_id": "INV-20260302-A1B2C3",
            "vendor_id": "V001",
            "currency": "EUR",
            "amount": "1234.50",
            "debit_account": "1400",
            "credit_account": "1600",
            "memo": "Office supplies, PO-4500123",
        },
        "changes": [
            "debit 1400 1,234.50 EUR",
            "credit 1600 1,234.50 EUR (vendor V001, invoice INV-20260302-A1B2C3)",
        ],
        "idempotency_key": "erp.create_journal_entry:" + "9" * 64,
        "cost_usd": "0.0042",
        "tokens": 1830,
        "started_at": at(0),
        "finished_at": at(661),
        "audit_anchor": {"seq": 17, "hash": "a" * 64},
        "approval_request_id": "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f",
        "notes": None,
        "offline_model": True,
    }
    fields.update(overrides)
    return Receipt.model_validate(fields)

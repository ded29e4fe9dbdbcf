"""Markdown rendering and the one-line summary."""

from __future__ import annotations

import datetime as dt

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from governed_agents.receipts.examples import example_receipt
from governed_agents.receipts.render import render_markdown, summary_line
from governed_agents.receipts.signing import sign_receipt


def test_markdown_has_every_section_people_need():
    key = Ed25519PrivateKey.generate()
    signed = sign_receipt(example_receipt(), key)
    md = render_markdown(signed, public_key=key.public_key())
    assert md.startswith("# Receipt: write executed — `invoice_reconcile`\n")
    # who asked, who approved when
    assert "| requested by | alice |" in md
    assert "| bob | approve | 2026-03-02 09:10:00 UTC | matches PO and goods receipt |" in md
    # what changed, before → after
    assert "- debit 1400 1,234.50 EUR" in md
    assert "| field | before | after |" in md
    assert "| `amount` | — | 1234.50 |" in md
    assert "Before: nothing (a new record)." in md
    # tool calls with decisions and reasons
    assert "| `payments.send_wire` | deny | tool 'payments.send\\_wire' is not in the envelope's allowed\\_tools |" in md
    assert "| `erp.create_journal_entry` | allow | — |" in md
    # checks, cost, envelope, trace, anchor, signature
    assert "| injection\\_screen | passed | `{\"score\":0.02}` |" in md
    assert "| cost | $0.0042 (1,830 model tokens) |" in md
    assert "| model | offline stand-in |" in md
    assert f"version `2026-03-01`, digest `sha256:{'7' * 64}`" in md
    assert "| trace id | `4b1f0c2e9d8a4e6f8c7b6a5d4e3f2a1b` |" in md
    assert f"- audit anchor: event #17, hash `{'a' * 64}`" in md
    assert f"- signature: Ed25519 by key `{signed.key_id}`: verified" in md


def test_markdown_reports_failed_and_unchecked_signatures():
    key = Ed25519PrivateKey.generate()
    signed = sign_receipt(example_receipt(), key)
    other = Ed25519PrivateKey.generate().public_key()
    assert "**NOT VERIFIED**" in render_markdown(signed, public_key=other)
    assert "not checked here" in render_markdown(signed)
    assert "**NOT VERIFIED**: expired key" in render_markdown(signed, verified=False, verify_error="expired key")
    assert "- signature: unsigned" in render_markdown(example_receipt())


def test_markdown_before_after_marks_changed_fields():
    receipt = example_receipt(
        state_before={"status": "active", "iban": "DE00 1", "limit": 100},
        state_after={"status": "blocked", "iban": "DE00 1", "limit": 100, "reason": None},
    )
    md = render_markdown(receipt)
    assert "| `status` | active | blocked **(changed)** |" in md
    assert "| `iban` | DE00 1 | DE00 1 |" in md
    assert "| `limit` | `100` | `100` |" in md
    assert "| `reason` | — | — |" in md
    assert "Before: nothing" not in md


def test_untrusted_text_cannot_inject_markdown_or_html():
    receipt = example_receipt(
        changes=["![img](http://evil/x.png) <script>alert(1)</script> | cell\n# heading"],
        notes="[click](javascript:alert(1))",
        requester="mallory|x",
    )
    md = render_markdown(receipt)
    assert "<script>" not in md and "![img]" not in md and "[click](" not in md
    assert "\\<script\\>" in md
    assert "\\!\\[img\\](http://evil/x.png)" in md
    assert "\\| cell \\# heading" in md  # one line, pipe escaped
    assert "| requested by | mallory\\|x |" in md
    assert "\n# heading" not in md


def test_refused_and_run_receipts_render():
    refused = example_receipt(kind="write_refused", approvals=[], approval_request_id=None, changes=[],
                              state_after=None, notes="kill switch engaged")  # fmt: skip
    md = render_markdown(refused)
    assert md.startswith("# Receipt: write refused")
    assert "No approval was involved." in md and "Nothing changed." in md
    assert "## Notes\n\nkill switch engaged" in md
    run = example_receipt(kind="run", requester=None, tool_calls=[], checks=[], approvals=[])
    md = render_markdown(run)
    assert "| requested by | — (unattended) |" in md
    assert "No tool calls recorded." in md and "No checks recorded." in md


def test_summary_line():
    line = summary_line(example_receipt())
    assert line == (
        "write executed in invoice_reconcile; debit 1400 1,234.50 EUR (+1 more); for alice; "
        "approved by bob; 2026-03-02 09:11:01 UTC"
    )
    rejected = example_receipt(
        kind="write_rejected",
        changes=[],
        approvals=[{"approver": "carol", "decision": "reject", "reason": "wrong vendor",
                    "decided_at": dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.timezone.utc)}],  # fmt: skip
    )
    assert summary_line(rejected) == "write rejected in invoice_reconcile; for alice; rejected by carol; 2026-03-02 09:11:01 UTC"
    assert "\n" not in summary_line(example_receipt(changes=["a\nb"]))

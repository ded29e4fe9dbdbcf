"""The offline stand-in's skills, its determinism and its label; the transcript redaction."""

from __future__ import annotations

import json

import pytest

from governed_agents.routing.offline import (
    OFFLINE_MARKER,
    TEXT_MARKER,
    classify_exception,
    draft_reminder,
    extract_po_reference,
    respond,
)
from governed_agents.routing.redact import redact, redact_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("as per our order 4500123 of March", "4500123"),
        ("Please pay. PO: 4500999", "4500999"),
        ("Invoice for PO#4500777, delivered", "4500777"),
        ("Bestellung 4500111 vom 3.3.", "4500111"),
        ("our reference 4500321, your ticket 12345", "4500321"),
        ("Purchase order no. 4500555 attached", "4500555"),
        ("thanks for your business", None),
    ],
)
def test_po_extraction(text, expected):
    for capability in ("basic", "advanced"):
        assert extract_po_reference(text, capability)["po_reference"] == expected


def test_the_advanced_model_reads_cancellations_the_basic_one_hedges():
    text = "PO 4500119 was cancelled, please use order 4500123 instead"
    basic, advanced = extract_po_reference(text, "basic"), extract_po_reference(text, "advanced")
    assert (basic["po_reference"], basic["confidence"]) == ("4500119", 0.4)  # low confidence: escalate
    assert (advanced["po_reference"], advanced["confidence"]) == ("4500123", 0.95)


def test_classification_uses_the_prompts_labels_when_given():
    assert classify_exception("unit price higher than agreed")["label"] == "price_mismatch"
    assert classify_exception("this was already paid, a duplicate")["label"] == "duplicate_invoice"
    answer = respond("offline/small-fast", [
        {"role": "system", "content": "Classify the exception. Labels: pricing, logistics, other. Answer in JSON."},
        {"role": "user", "content": "Delivery logistics delayed the goods"}])
    assert json.loads(answer["message"]["content"])["label"] == "logistics"


def test_reminder_draft_is_labelled_and_uses_only_stated_facts():
    draft = draft_reminder("Vendor: Acme GmbH, invoice INV-2024-0042 over EUR 1,250.00 due 2026-03-15")
    assert draft.startswith(TEXT_MARKER)
    for fact in ("Dear Acme GmbH,", "INV-2024-0042", "EUR 1,250.00", "2026-03-15"):
        assert fact in draft


def test_the_justification_cites_only_the_ids_it_was_given():
    from governed_agents.routing.justification import SYSTEM_PROMPT
    from governed_agents.safety.citations import check_citations, citations_in

    facts = {"invoice_id": "INV-7", "po_number": "PO-4500123", "vendor_id": "V00012",
             "policy": "policy:invoice_reconcile@2026-03-01", "price_tolerance_pct": 2.0}
    records = ["INV-7", "PO-4500123", "V00012", "policy:invoice_reconcile@2026-03-01"]

    def draft(given):
        answer = respond("offline/small-fast", [{"role": "system", "content": SYSTEM_PROMPT},
                                                {"role": "user", "content": json.dumps({**facts, "records": given})}])
        return answer["message"]["content"]

    full = draft(records)
    assert full.startswith(TEXT_MARKER) and set(citations_in(full)) == set(records)
    assert check_citations(full, topics=("policy", "contract", "pricing"), read_ids=records).ok
    # a record the run did not read is not cited (nor claimed): the PO missing leaves no PO claim
    partial = draft(["INV-7", "V00012"])
    assert "PO-4500123" not in partial and set(citations_in(partial)) <= {"INV-7", "V00012"}
    assert check_citations(partial, topics=("policy", "contract", "pricing"), read_ids=["INV-7", "V00012"]).ok


def test_responses_are_deterministic_and_marked():
    messages = [{"role": "user", "content": "Check order 4500123"}]
    tools = [{"type": "function", "function": {"name": "erp__match_po", "parameters": {
        "type": "object", "properties": {"po_number": {"type": "string"}}, "required": ["po_number"]}}}]
    first = respond("offline/small-fast", messages, tools)
    assert first == respond("offline/small-fast", messages, tools)
    assert first["system_fingerprint"] == OFFLINE_MARKER and first["finish_reason"] == "tool_calls"
    (call,) = first["message"]["tool_calls"]
    assert json.loads(call["function"]["arguments"]) == {"po_number": "4500123"}
    # once the tool was called with those arguments, it answers instead of calling again
    after = respond("offline/small-fast", [*messages, first["message"],
                                           {"role": "tool", "tool_call_id": call["id"], "content": "{}"}], tools)
    assert after["finish_reason"] == "stop" and after["message"]["content"].startswith(TEXT_MARKER)
    assert respond("offline/small-fast", messages, tools, tool_choice="none")["finish_reason"] == "stop"


def test_redaction_of_personal_data_but_not_business_references():
    text = ("Write to jane.doe@acme.example or +49 30 1234567 / (030) 123-4567; IBAN DE89 3704 0044 0532 0130 00, "
            "card 4111-1111-1111-1111, PO 4500123, invoice INV-2024-0012 of 2026-03-01, amount 1234.56")
    assert redact_text(text) == (
        "Write to [EMAIL_1] or [PHONE_1] / [PHONE_2]; IBAN [IBAN_1], card [CARD_1], PO 4500123, "
        "invoice INV-2024-0012 of 2026-03-01, amount 1234.56")
    assert redact_text("not a card 1234 5678 9012 3456") == "not a card 1234 5678 9012 3456"  # fails Luhn
    assert redact({"a": ["x@y.io", 3], "b": None}) == {"a": ["[EMAIL_1]", 3], "b": None}

"""``governed-agents trace``: one trace from the proposal run through approval, the
sensor-tagged posting run and the receipt, printed end to end, personal data redacted."""

from __future__ import annotations

import json

import dagster as dg

from governed_agents.cli.main import main
from governed_agents.ledger import Ledger

from tests.forensics_helpers import load_demo_batch, materialize, propose

EMAIL = "jane.doe@example.com"


def test_trace_end_to_end_with_redacted_inputs(tmp_path, capsys):
    from governed_agents.approvals import decide, list_requests
    from governed_agents.dagster.metadata import TAG_TRACE
    from governed_agents.forensics.trace import build_trace
    from governed_agents.identity.tokens import issue_token
    from sensors.invoice_reconcile import approval_sensor

    load_demo_batch(tmp_path, memo_suffix=f" Questions: {EMAIL}")
    instance = dg.DagsterInstance.ephemeral()
    proposal_run = propose(instance).run_id
    ledger = Ledger.open()
    request = list_requests(ledger, status="pending")[0]
    token = issue_token("bob", actions=["approval.approve"], workflows=["invoice_reconcile"])
    decide(ledger, request.id, token=token, decision="approve", reason="matches the PO")

    # The real approval sensor turns the decision into a run request tagged with the trace.
    sensed = approval_sensor(dg.build_sensor_context(instance=instance))
    run_request = next(r for r in sensed.run_requests if r.run_key == request.id)
    assert run_request.tags[TAG_TRACE] == request.trace_id
    posted = materialize(["posted_journal_entries"], instance=instance, tags=run_request.tags,
                         run_config=run_request.run_config)
    assert posted.success

    story = build_trace(ledger, request.trace_id, instance=instance)
    invoice = request.arguments["invoice_id"]
    assert story["invoice_id"] == invoice and story["workflow"] == "invoice_reconcile"
    # One trace across both runs: the proposal run (its events) and the posting run (its tag).
    assert set(story["runs"]) == {proposal_run, posted.run_id}
    tagged = [r for r in story["dagster_runs"] if r["tagged_with_trace"]]
    assert [r["run_id"] for r in tagged] == [posted.run_id]
    # Inputs: the invoice's lines from the run's recording, redacted.
    assert story["inputs"] and all(ln["invoice_id"] == invoice and ln["redacted"] for ln in story["inputs"])
    assert all("[EMAIL_" in ln["memo"] for ln in story["inputs"])
    # Gate decisions: proposed (needs approval), then allowed with the approval.
    assert [(d["outcome"], d["tool"]) for d in story["decisions"]] == [
        ("needs_approval", "erp.create_journal_entry"), ("allow", "erp.create_journal_entry")]
    assert story["decisions"][0]["reasons"][0]["code"] == "approval_required"
    assert [a["event"] for a in story["approvals"]] == ["approval.requested", "approval.approved"]
    assert story["approvals"][1]["actor"] == "bob" and story["approvals"][1]["reason"] == "matches the PO"
    # The write with before -> after, and its receipt; the run's checks from the run receipt.
    (write,) = story["writes"]
    assert write["kind"] == "write_executed" and write["after"]["invoice_id"] == invoice
    assert {r["kind"] for r in story["receipts"]} == {"write_executed", "run"}
    assert {c["name"].split(":")[-1] for c in story["checks"]} >= {"invoice_data_quality", "policy_conformance"}
    assert all(c["passed"] for c in story["checks"])
    seqs = [e["seq"] for e in story["timeline"]]
    assert seqs == sorted(seqs) and len(seqs) >= 4

    # The CLI prints every section; the e-mail address appears nowhere, redacted or JSON.
    assert main(["trace", request.trace_id]) == 0
    text = capsys.readouterr().out
    for title in ("inputs", "model calls", "gate decisions", "checks", "approvals", "writes", "receipts",
                  "timeline"):
        assert f"\n{title} (" in text
    assert "before:" in text and "after:" in text and "[EMAIL_" in text
    assert EMAIL not in text
    assert main(["trace", request.trace_id, "--json", "--no-dagster"]) == 0
    printed = capsys.readouterr().out
    assert EMAIL not in printed and json.loads(printed)["trace"]["trace_id"] == request.trace_id


def test_trace_of_a_model_extraction_task_shows_its_model_calls(tmp_path):
    """The free-text PO references are read by the model tier; each extraction task's
    trace shows its model calls, and the invoice trace links them."""
    from governed_agents.forensics.trace import build_trace

    made = load_demo_batch(tmp_path)
    assert made["free_text_po_references"] > 0
    propose(dg.DagsterInstance.ephemeral())
    ledger = Ledger.open()
    calls = ledger.events(kind="model.call")
    assert calls
    story = build_trace(ledger, calls[0].trace_id)
    assert [m["seq"] for m in story["model_calls"]] == [e.seq for e in calls if e.trace_id == calls[0].trace_id]
    m = story["model_calls"][0]
    assert m["model"] and m["tier"] and m["input_tokens"] > 0 and m["cost_usd"] is not None
    assert story["inputs"] and "po_reference" in story["inputs"][0]


def test_unknown_trace_is_refused_with_exit_1(capsys):
    assert main(["trace", "0" * 32, "--no-dagster"]) == 1
    assert "no audit event carries trace id" in capsys.readouterr().err

"""Replay of a recorded proposal run: every decision identical, nothing written;
a tampered recording diverges at exactly the step it changes."""

from __future__ import annotations

import json

import dagster as dg
import sqlalchemy as sa

from governed_agents.canonical import canonical_json
from governed_agents.cli.main import main
from governed_agents.erp.connector import erp_engine
from governed_agents.erp.schema import journal_entries
from governed_agents.ledger import Ledger
from governed_agents.ledger.schema import audit_events

from tests.fixtures import envelope_text, ledger_snapshot
from tests.forensics_helpers import load_demo_batch, materialize, propose


def _requests(ledger):
    from governed_agents.approvals import list_requests

    return list_requests(ledger, limit=1000)


def _state(ledger):
    with erp_engine().connect() as c:
        entries = c.execute(sa.select(sa.func.count()).select_from(journal_entries)).scalar_one()
    return ledger_snapshot(ledger), ledger.head(), entries


def test_recorded_run_replays_identically_and_writes_nothing(tmp_path, capsys, monkeypatch, pg_url):
    """On a PostgreSQL ledger."""
    from governed_agents.forensics.replay import replay

    monkeypatch.setenv("GOVERNED_AGENTS_DB_URL", pg_url)

    made = load_demo_batch(tmp_path)
    instance = dg.DagsterInstance.ephemeral()
    run = propose(instance)
    ledger = Ledger.open()
    assert ledger.dialect == "postgresql"
    before = _state(ledger)
    # A model call would fail loudly: replay must not make one.
    monkeypatch.setattr("governed_agents.routing.gateway.ModelGateway.complete",
                        lambda *a, **k: (_ for _ in ()).throw(AssertionError("replay called a model")))

    report = replay(ledger, run.run_id)
    assert report.scope == "run" and report.identical
    steps = report.to_dict()["steps"]
    kinds = [s["kind"] for s in steps]
    matched = made["expected"]["matched"]
    assert kinds.count("reconcile") == made["invoices"]
    assert kinds.count("gate") == kinds.count("approval") == matched > 0
    assert steps[0]["kind"] == "envelope" and steps[0]["same"]
    gate = next(s for s in steps if s["kind"] == "gate")
    assert gate["recorded"] == gate["replayed"] == {"outcome": "needs_approval", "reasons": ["approval_required"]}
    assert _state(ledger) == before  # no ledger row, no audit event, no ERP write

    # By trace, after the write was approved and carried out in a posting run: that
    # invoice's decisions only, the posting run's gate decision included.
    from governed_agents.approvals import decide, get_request
    from governed_agents.identity.tokens import issue_token

    trace = gate["trace_id"]
    request = next(r for r in _requests(ledger) if r.trace_id == trace)
    token = issue_token("bob", actions=["approval.approve"], workflows=["invoice_reconcile"])
    decide(ledger, request.id, token=token, decision="approve")
    posted = materialize(["posted_journal_entries"], instance=instance, run_config={
        "ops": {"posted_journal_entries": {"config": {"approval_request_id": request.id}}}})
    assert posted.success and get_request(ledger, request.id).status == "executed"
    before = _state(ledger)
    by_trace = replay(ledger, trace)
    assert by_trace.scope == "trace" and by_trace.identical
    subjects = {(s.kind, s.subject) for s in by_trace.steps if s.kind != "envelope"}
    invoice = gate["subject"].split()[-1]
    assert subjects == {("reconcile", invoice), ("gate", gate["subject"]), ("approval", invoice),
                        ("posting", f"{gate['subject']} (approval {request.id})")}
    posting = next(s for s in by_trace.steps if s.kind == "posting")
    assert posting.recorded == posting.replayed == {"outcome": "allow", "reasons": []}

    # What-if two approvers had been required: that posting would have needed another approval.
    from governed_agents.envelope import load_envelope_text
    from governed_agents.forensics.whatif import what_if

    two = load_envelope_text(envelope_text(min_approvals=2))
    report = what_if(ledger, two, ref=trace).to_dict()
    assert [(x["stage"], x["invoice_id"], x["would_be"], x["reasons"]) for x in report["needs_approval"]] == [
        ("posting", invoice, "needs_approval", ["approval_quorum_not_met"])]
    assert report["denied"] == []
    assert _state(ledger) == before

    assert main(["replay", trace]) == 0
    text = capsys.readouterr().out
    assert "every decision is the same as recorded" in text and "DIVERGED" not in text
    assert main(["replay", run.run_id, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["replay"]["summary"]["diverged"] == 0
    assert _state(ledger) == before


def test_tampered_recording_diverges_at_the_exact_step(tmp_path, capsys):
    """On the embedded SQLite ledger."""
    from governed_agents.forensics.replay import replay

    load_demo_batch(tmp_path)
    run = propose(dg.DagsterInstance.ephemeral())
    ledger = Ledger.open()
    assert ledger.dialect == "sqlite"
    steps = replay(ledger, run.run_id).to_dict()["steps"]
    gate = next(s for s in steps if s["kind"] == "gate")
    invoice = gate["subject"].split()[-1]
    reconcile_step = next(s for s in steps if s["kind"] == "reconcile" and s["subject"] == invoice)

    # Edit one recorded tool result (as someone with write access to the database would,
    # append-only triggers dropped): nothing of the matched invoice's PO was received.
    with ledger.engine.begin() as c:
        for name in c.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars().all():
            c.exec_driver_sql(f'DROP TRIGGER "{name}"')
        row = c.execute(sa.select(audit_events.c.seq, audit_events.c.payload)
                        .where(audit_events.c.kind == "replay.recording", audit_events.c.run_id == run.run_id)).one()
        payload = json.loads(row.payload)
        lines = [ln for ln in payload["inputs"]["lines"] if ln["invoice_id"] == invoice]
        result = payload["tool_results"][0]["result"]
        po_numbers = set(result["purchase_orders"])
        from governed_agents.reconcile import normalize_po_reference

        refs = {normalize_po_reference(ln["po_reference"]) for ln in lines}
        refs |= {normalize_po_reference(m["answer"]) for m in payload["model_responses"]
                 if m["reference"] in {ln["po_reference"] for ln in lines} and m["answer"]}
        number = next(result["po_index"][k] for k in refs if k in result["po_index"])
        assert number in po_numbers
        for po_line in result["purchase_orders"][number]["lines"]:
            po_line[4] = 0  # received_units
        c.execute(sa.update(audit_events).where(audit_events.c.seq == row.seq)
                  .values(payload=canonical_json(payload)))

    report = replay(ledger, run.run_id)
    assert not report.identical
    first = report.diverged[0]
    assert (first.step, first.kind, first.subject) == (reconcile_step["step"], "reconcile", invoice)
    assert first.recorded["reason"] == "matched" and first.replayed["reason"] == "quantity_variance"
    # Its gate decision and approval requirement follow from it, and are reported too.
    later = {(s.kind, s.subject) for s in report.diverged[1:]}
    assert ("gate", gate["subject"]) in later and ("approval", invoice) in later
    assert main(["replay", run.run_id]) == 1
    text = capsys.readouterr().out
    assert f"first divergence: step {reconcile_step['step']} (reconcile {invoice}" in text
    # The edit also breaks the audit chain.
    assert not ledger.verify().ok


def test_nothing_to_replay_is_a_refusal(capsys):
    assert main(["replay", "no-such-run"]) == 1
    assert "nothing recorded under 'no-such-run'" in capsys.readouterr().err
    assert main(["replay"]) == 2
    assert main(["replay", "x", "--since", "2026-01-01"]) == 2


def test_recording_can_be_turned_off_in_the_envelope(tmp_path):
    import yaml

    from governed_agents.envelope import find_envelope, load_envelope_text
    from governed_agents.forensics.recording import find_recordings
    from governed_agents.workflows import invoice_reconcile as wf

    load_demo_batch(tmp_path)
    ledger = Ledger.open()
    lines = wf.read_batch(erp_engine())
    on = find_envelope("invoice_reconcile")
    data = yaml.safe_load(envelope_text())
    data.setdefault("parameters", {}).setdefault("extra", {})["record_for_replay"] = False
    off = load_envelope_text(yaml.safe_dump(data))
    wf.match(lines, erp_engine(), on, record_to=ledger, run_id="run-on")
    head = ledger.head()
    wf.match(lines, erp_engine(), off, record_to=ledger, run_id="run-off")
    assert [e.run_id for e in find_recordings(ledger, ["run-on", "run-off"])] == ["run-on"]
    assert ledger.head() == head  # nothing appended for the run that opted out

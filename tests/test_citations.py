"""Citations: claims on the envelope's topics cite records the run actually read.

The check function on its own; the executor recording the ids its read tools
return; and the invoice_reconcile proposals, whose justification is checked by
the blocking policy_conformance check (red: nothing is requested for approval).
"""

from __future__ import annotations

import dagster as dg
import pytest
from sqlalchemy import func, select

from governed_agents.dagster.location import definitions
from governed_agents.dagster.resources import GovernanceResource
from governed_agents.envelope import find_envelope
from governed_agents.erp.connector import erp_engine
from governed_agents.erp.csv_contract import load_csv_dir
from governed_agents.erp.generator import generate
from governed_agents.executor import TaskContext
from governed_agents.ledger import Ledger
from governed_agents.ledger.schema import approval_requests, audit_events
from governed_agents.safety.citations import check_citations, citations_in, policy_id, record_ids
from governed_agents.workflows import executor_for
from governed_agents.workflows import invoice_reconcile as wf

TOPICS = ("policy", "contract", "pricing")
READ = {"PO-4500123", "INV-9", "V00012", "policy:invoice_reconcile@2026-03-01"}


def test_a_cited_claim_passes():
    text = ("The unit price of 4.20 EUR is the price agreed in [PO-4500123]. "
            "Paying it is allowed by [policy:invoice_reconcile@2026-03-01].")
    report = check_citations(text, topics=TOPICS, read_ids=READ)
    assert report.ok, report.problems
    assert [c.topics for c in report.claims] == [("contract", "pricing"), ("policy",)]
    assert report.citations == ("PO-4500123", "policy:invoice_reconcile@2026-03-01")


@pytest.mark.parametrize("text", [
    "The unit price is 4.20 EUR as agreed.",  # pricing + contract, no citation
    "Invoice [INV-9] is fine. Our policy allows paying it without approval.",  # 2nd sentence uncited
    "The contract with this vendor covers freight.",
])
def test_an_uncited_claim_is_red(text):
    report = check_citations(text, topics=TOPICS, read_ids=READ)
    assert not report.ok
    assert [p.kind for p in report.problems] == ["uncited"]
    assert "cites no record" in report.problems[0].message


def test_citing_an_id_the_run_never_read_is_red():
    report = check_citations("The price matches [PO-4500999].", topics=TOPICS, read_ids=READ)
    assert [(p.kind, p.citation) for p in report.problems] == [("unknown_citation", "PO-4500999")]
    assert "never read" in report.problems[0].message
    # Mis-cited anywhere is red, even in a sentence that is no claim.
    report = check_citations("Thanks for [INV-10].", topics=TOPICS, read_ids=READ)
    assert [p.kind for p in report.problems] == ["unknown_citation"]


def test_a_topic_not_in_the_envelopes_list_is_not_required():
    text = "The unit price is 4.20 EUR as agreed in the contract."
    assert not check_citations(text, topics=TOPICS, read_ids=READ).ok
    assert check_citations(text, topics=("policy",), read_ids=READ).ok
    assert check_citations(text, topics=(), read_ids=READ).ok
    # An envelope topic without a word list is recognised by its own name.
    assert not check_citations("Freight is billed weekly.", topics=("freight",), read_ids=READ).ok


def test_text_without_claims_and_redaction_placeholders_pass():
    assert check_citations("Please pay by Friday. Write to [EMAIL_1].", topics=TOPICS, read_ids=()).ok
    assert citations_in("see [EMAIL_1] and [PO-1] and [policy:x@1]") == ["PO-1", "policy:x@1"]


def test_record_ids_of_read_outputs():
    assert record_ids({"found": True, "po_number": "PO-1", "vendor_id": "V1", "lines": [{"line_no": 1}]}) == {
        "PO-1", "V1"}
    assert record_ids({"found": False, "po_number": "PO-404"}) == set()
    assert record_ids([{"invoice_id": "INV-9"}, {"id": "X"}]) == {"INV-9", "X"}


@pytest.fixture
def demo_batch(tmp_path):
    data = tmp_path / "data"
    made = generate(data, invoices=30, seed=23)
    load_csv_dir(data, erp_engine())
    return made


def test_the_executor_records_the_ids_its_read_tools_returned(demo_batch):
    envelope = find_envelope("invoice_reconcile")
    executor = executor_for("invoice_reconcile")
    with erp_engine().connect() as c:
        po, vendor = c.exec_driver_sql("SELECT po_number, vendor_id FROM purchase_order_lines LIMIT 1").one()
    task = TaskContext(envelope=envelope, requested_by="alice", agent="agent.invoice")
    assert executor.call(task, "erp.match_po", {"po_number": po}).outcome == "executed"
    assert executor.call(task, "erp.match_po", {"po_number": "PO-0000404"}).outcome == "executed"
    assert task.read_ids == {po, vendor}  # the PO not found is not a record the run read
    text = f"The unit prices are those agreed in [{po}] with [{vendor}]."
    assert check_citations(text, topics=TOPICS, read_ids=task.read_ids).ok
    assert not check_citations("The unit prices are those agreed in [PO-0000404].", topics=TOPICS,
                               read_ids=task.read_ids).ok


def test_proposals_cite_what_reconciliation_read(demo_batch):
    envelope = find_envelope("invoice_reconcile")
    executor = executor_for("invoice_reconcile")
    result = wf.match(wf.read_batch(erp_engine()), erp_engine(), envelope)
    proposals = wf.propose(result, executor, envelope, requested_by="alice")
    assert proposals
    for p in proposals:
        assert f"[{p.invoice_id}]" in p.explanation and f"[{policy_id(envelope)}]" in p.explanation
        assert p.citation_problems == []
        assert set(citations_in(p.explanation)) <= set(p.read_ids)
    assert wf.conformance(proposals) == []


def _count(table) -> int:
    with Ledger.open().engine.connect() as c:
        return c.execute(select(func.count()).select_from(table)).scalar_one()


def _pipeline():
    return dg.materialize(
        list(definitions().assets),
        selection=["erp_invoices", "invoice_matches", "journal_entry_proposals", "approval_requests"],
        resources={"governance": GovernanceResource()},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def test_the_model_drafts_each_justification_and_the_approver_reads_it(demo_batch):
    # The pipeline's justifications come from the model (the offline stand-in here) through the
    # gateway; they cite what the run read, and each approval request's reason is its justification.
    from governed_agents.approvals import get_request

    result = _pipeline()
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["policy_conformance"].passed is True
    ledger = Ledger.open()
    drafts = [e for e in ledger.events() if e.kind == "model.call" and e.payload.get("purpose") == "draft_justification"]
    requests = [e for e in ledger.events() if e.kind == "approval.requested"]
    assert requests and len(drafts) >= len(requests)
    for event in requests:
        request = get_request(ledger, event.payload["request_id"])
        assert request.reason.startswith("[offline stand-in] Invoice [")
        assert f"[{policy_id(find_envelope('invoice_reconcile'))}]" in request.reason
        cited = set(citations_in(request.reason))
        assert {request.arguments["invoice_id"], request.arguments["vendor_id"]} <= cited
        assert len([c for c in cited if c.startswith("PO-")]) == 1


def test_a_miscited_model_justification_turns_the_blocking_check_red_and_nothing_is_requested(
        demo_batch, tmp_path, monkeypatch):
    # A real model over HTTP (the scripted server) drafts a pricing claim resting on a PO nobody read.
    import yaml

    from governed_agents.testing import ScriptedModelServer, forever, text
    from governed_agents.testing.scripted_model_server import ANY_MODEL

    with ScriptedModelServer() as server:
        catalog = tmp_path / "models.yaml"
        catalog.write_text(yaml.safe_dump(server.catalog_document(
            {alias: "m" for alias in ("small-fast", "safe-medium", "frontier")}, cache=False)))
        monkeypatch.setenv("GOVERNED_AGENTS_MODEL_CATALOG", str(catalog))
        server.script(ANY_MODEL, forever(text("This invoice is priced as agreed in [PO-9999999]. "
                                              "The discount is standard.")))
        result = _pipeline()
        asked = [r for r in server.requests if "justification" in r.messages[0]["content"]]
    assert asked  # the drafts went over HTTP
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["policy_conformance"].passed is False
    violations = checks["policy_conformance"].metadata["violations"].value
    kinds = {v["outcome"] for v in violations}
    assert kinds == {"citation"}
    reasons = " ".join(r for v in violations for r in v["reasons"])
    assert "[PO-9999999], which this run never read" in reasons and "cites no record" in reasons
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "approval_requests" not in materialized
    assert _count(approval_requests) == 0
    with Ledger.open().engine.connect() as c:
        assert c.execute(select(func.count()).select_from(audit_events)
                         .where(audit_events.c.kind == "approval.requested")).scalar_one() == 0


def test_without_a_model_answer_the_template_justifies_and_the_event_says_so(demo_batch, monkeypatch):
    # Every model failing: the template is used (and checked), a model.unavailable event names it,
    # and each task is recorded refused under the tenant it ran for (tenant_monthly_usd's scope).
    from governed_agents.ledger.schema import task_outcomes
    from governed_agents.routing import justification

    def unavailable(gateway, task, facts):
        raise justification.ModelOutputInvalid("no answer")

    monkeypatch.setattr(justification, "draft_justification", unavailable)
    envelope = find_envelope("invoice_reconcile")
    ledger = Ledger.open()
    result = wf.match(wf.read_batch(erp_engine()), erp_engine(), envelope)
    proposals = wf.propose(result, executor_for("invoice_reconcile"), envelope, requested_by="alice",
                           justifier=wf.model_justifier(ledger, envelope, run_id="r1", tenant="globex"))
    assert proposals and {p.drafted_by for p in proposals} == {"template"}
    assert wf.conformance(proposals) == []
    events = [e for e in ledger.events() if e.kind == "model.unavailable"]
    assert len(events) == len(proposals) and {e.payload["fallback"] for e in events} == {"template"}
    with ledger.engine.connect() as c:
        outcomes = c.execute(select(task_outcomes.c.tenant, task_outcomes.c.outcome)
                             .where(task_outcomes.c.run_id == "r1")).all()
    assert len(outcomes) == len(proposals) and set(outcomes) == {("globex", "refused")}


def test_an_entry_the_gate_denies_is_justified_by_the_template_without_a_model_call(demo_batch):
    # Nobody will be asked to approve a denied entry, so no model is paid to argue for it; its
    # template justification is still checked.
    import dataclasses

    envelope = find_envelope("invoice_reconcile")
    result = wf.match(wf.read_batch(erp_engine()), erp_engine(), envelope)
    matched = [o for o in result.outcomes if o.reason == "matched" and o.proposal]
    smuggled = matched[0]
    smuggled_with_field = {**smuggled.proposal, "approved_by": "cfo"}  # argument smuggling: denied
    outcomes = [dataclasses.replace(o, proposal=smuggled_with_field) if o is smuggled else o for o in result.outcomes]
    asked: list[str] = []

    def justifier(outcome, read_ids):
        asked.append(outcome.invoice_id)
        return wf.explain(outcome, envelope), "model"

    proposals = wf.propose(dataclasses.replace(result, outcomes=outcomes), executor_for("invoice_reconcile"),
                           envelope, requested_by="alice", justifier=justifier)
    denied = [p for p in proposals if p.outcome == "deny"]
    assert [p.invoice_id for p in denied] == [smuggled.invoice_id]
    assert denied[0].drafted_by == "template" and denied[0].citation_problems == []
    assert smuggled.invoice_id not in asked and sorted(asked) == sorted(
        p.invoice_id for p in proposals if p.outcome != "deny")

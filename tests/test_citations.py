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


def test_a_miscited_justification_turns_the_blocking_check_red_and_nothing_is_requested(demo_batch, monkeypatch):
    # The justification a (mis)drafting model might produce: a pricing claim resting on a PO nobody read.
    monkeypatch.setattr(wf, "explain", lambda outcome, envelope: (
        f"Invoice [{outcome.invoice_id}] is priced as agreed in [PO-9999999]. The discount is standard."))
    result = dg.materialize(
        list(definitions().assets),
        selection=["erp_invoices", "invoice_matches", "journal_entry_proposals", "approval_requests"],
        resources={"governance": GovernanceResource()},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
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

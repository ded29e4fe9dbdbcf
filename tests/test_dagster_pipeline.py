"""The invoice_reconcile asset graph and its checks, materialised with Dagster's own helpers.

Each blocking check is shown to stop everything downstream, with nothing written
to the ledger by the assets it blocked.
"""

from __future__ import annotations

import shutil

import dagster as dg
import pytest
from sqlalchemy import func, select

from governed_agents.dagster.location import definitions
from governed_agents.dagster.resources import GovernanceResource
from governed_agents.erp.connector import erp_engine
from governed_agents.erp.csv_contract import load_csv_dir
from governed_agents.erp.generator import generate
from governed_agents.erp.schema import journal_entries
from governed_agents.ledger import Ledger
from governed_agents.ledger.schema import approval_requests

from tests.fixtures import REPO

PROPOSE = ["erp_invoices", "invoice_matches", "journal_entry_proposals", "approval_requests"]


@pytest.fixture
def demo_batch(tmp_path):
    data = tmp_path / "data"
    made = generate(data, invoices=40, seed=11)
    load_csv_dir(data, erp_engine())
    return made


def _assets():
    return list(definitions().assets)


def _materialize(selection, *, run_config=None, instance=None):
    return dg.materialize(
        _assets(),
        selection=selection,
        resources={"governance": GovernanceResource()},
        run_config=run_config or {},
        instance=instance or dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def _checks(result) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def _materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def _requests() -> int:
    with Ledger.open().engine.connect() as c:
        return c.execute(select(func.count()).select_from(approval_requests)).scalar_one()


def test_propose_graph_end_to_end(demo_batch):
    result = _materialize(PROPOSE)
    assert result.success
    assert _checks(result) == {"invoice_data_quality": True, "spend_within_caps": True,
                               "injection_screen": True, "policy_conformance": True}
    assert _materialized(result) == set(PROPOSE)
    matches = result.output_for_node("invoice_matches")
    # The generator knows what each invoice was made to be; the pipeline, with free-text
    # PO references read by the model tier through the gateway, reaches exactly that.
    assert matches.counts() == {**dict.fromkeys(matches.counts(), 0), **demo_batch["expected"]}
    assert demo_batch["free_text_po_references"] > 0
    model_calls = [e for e in Ledger.open().events() if e.kind == "model.call"]
    assert model_calls and all(e.workflow == "invoice_reconcile" and e.trace_id for e in model_calls)
    matched = sum(o.reason == "matched" for o in matches.outcomes)
    assert _requests() == matched
    meta = [e.event_specific_data.materialization.metadata for e in result.get_asset_materialization_events()
            if e.asset_key.to_user_string() == "approval_requests"][0]
    assert meta["approval_requests"].value == matched
    assert "Receipt" in meta["run_receipt"].value  # the run receipt, as Markdown in the UI
    ledger = Ledger.open()
    assert ledger.verify().ok


def test_bad_batch_blocks_everything_downstream(tmp_path):
    """A batch where most lines are broken fails the great-expectations check: nothing
    downstream runs and no approval request is made."""
    data = tmp_path / "bad"
    generate(data, invoices=20, seed=5)
    path = data / "invoices.csv"
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    qty = header.index("quantity")
    broken = [header]
    for row in lines[1:]:
        cells = row.split(",")
        if len(cells) == len(header):
            cells[qty] = "-1"
            broken.append(cells)
    path.write_text("\n".join(",".join(c) for c in broken) + "\n")
    load_csv_dir(data, erp_engine())
    result = _materialize(PROPOSE)
    checks = _checks(result)
    assert checks["invoice_data_quality"] is False
    assert _materialized(result) == {"erp_invoices"}
    assert _requests() == 0
    kinds = {e.kind for e in Ledger.open().events()}
    assert "approval.requested" not in kinds


def test_policy_conformance_blocks_the_requests(demo_batch, tmp_path, monkeypatch):
    """An envelope that no longer allows the write: the proposals are denied by the gate,
    the blocking check fails and no approval request is written."""
    import yaml

    policies = tmp_path / "policies"
    shutil.copytree(REPO / "policies", policies)
    env = yaml.safe_load((policies / "invoice_reconcile.yaml").read_text())
    env["version"] = "2026-03-02"
    env["permissions"]["allowed_tools"] = ["erp.lookup_vendor", "erp.match_po"]
    (policies / "invoice_reconcile.yaml").write_text(yaml.safe_dump(env))
    monkeypatch.setenv("GOVERNED_AGENTS_POLICY_DIR", str(policies))
    result = _materialize(PROPOSE)
    assert _checks(result)["policy_conformance"] is False
    assert "approval_requests" not in _materialized(result)
    assert _requests() == 0


def test_a_policy_that_does_not_load_stops_the_run(demo_batch, tmp_path, monkeypatch):
    policies = tmp_path / "policies"
    shutil.copytree(REPO / "policies", policies)
    (policies / "invoice_reconcile.yaml").write_text("version: 1\nworkflow: invoice_reconcile\nbudgets: {}\n")
    monkeypatch.setenv("GOVERNED_AGENTS_POLICY_DIR", str(policies))
    result = _materialize(PROPOSE)
    assert not result.success
    assert _materialized(result) == set()
    assert _requests() == 0


def test_injection_leak_check_rescreens_proposals(demo_batch):
    """The injection_screen check re-scores the text that reaches a write, independently."""
    from types import SimpleNamespace

    from governed_agents.envelope import find_envelope
    from governed_agents.workflows.invoice_reconcile import injection_leaks

    result = _materialize(["erp_invoices", "invoice_matches"])
    matches = result.output_for_node("invoice_matches")
    envelope = find_envelope("invoice_reconcile")
    assert injection_leaks(matches, envelope) == []
    always = lambda text, context="data": SimpleNamespace(score=1.0)  # noqa: E731
    with_memo = [o for o in matches.outcomes if o.reason == "matched" and o.proposal.get("memo")]
    assert len(injection_leaks(matches, envelope, scorer=always)) == len(with_memo) > 0


def test_posting_asset_executes_once_and_receipts_rejections(demo_batch):
    from governed_agents.approvals import decide, list_requests
    from governed_agents.identity.tokens import issue_token

    assert _materialize(PROPOSE).success
    ledger = Ledger.open()
    pending = list_requests(ledger, status="pending")
    approve, reject = pending[0], pending[1]
    token = issue_token("bob", actions=["approval.approve", "approval.reject"], workflows=["invoice_reconcile"])
    decide(ledger, approve.id, token=token, decision="approve")
    decide(ledger, reject.id, token=token, decision="reject", reason="wrong cost centre")

    def post(request_id):
        return _materialize(["posted_journal_entries"], run_config={
            "ops": {"posted_journal_entries": {"config": {"approval_request_id": request_id}}}})

    def entries():
        with erp_engine().connect() as c:
            return c.execute(select(func.count()).select_from(journal_entries)).scalar_one()

    first = post(approve.id)
    assert first.success and entries() == 1
    meta = first.get_asset_materialization_events()[0].event_specific_data.materialization.metadata
    assert meta["outcome"].value == "executed" and meta["receipt_kind"].value == "write_executed"
    again = post(approve.id)
    assert again.success and entries() == 1
    assert again.get_asset_materialization_events()[0].event_specific_data.materialization.metadata[
        "outcome"].value == "duplicate"
    rejected = post(reject.id)
    assert rejected.success and entries() == 1
    meta = rejected.get_asset_materialization_events()[0].event_specific_data.materialization.metadata
    assert meta["receipt_kind"].value == "write_rejected"
    assert ledger.verify().ok


def test_pipeline_on_a_postgres_backed_dagster_instance(demo_batch, pg_database, tmp_path, monkeypatch):
    """Dagster's run and event storage on PostgreSQL (dagster-postgres), the ledger on PostgreSQL too."""
    from sqlalchemy.engine import make_url

    dagster_url = make_url(pg_database()).set(drivername="postgresql")
    ledger_url = pg_database()
    home = tmp_path / "dagster-pg"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        (REPO / "dagster.postgres.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_PG_URL", dagster_url.render_as_string(hide_password=False))
    monkeypatch.setenv("GOVERNED_AGENTS_DB_URL", ledger_url)
    from governed_agents.dagster.runs import run_proposals

    run = run_proposals("invoice_reconcile")
    assert run.success and run.approval_requests
    instance = dg.DagsterInstance.get()
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        stored = instance.get_run_by_id(run.run_id)
        assert stored is not None and stored.status == dg.DagsterRunStatus.SUCCESS
    finally:
        instance.dispose()
    assert Ledger.open(ledger_url).dialect == "postgresql"
    assert len(run.outcomes) == 40


def test_spend_asset_check_fails_when_a_cap_is_exceeded(demo_batch):
    """Real model spend (free-text PO references read through the gateway), then an admin
    cap below it: the model_spend asset's within_caps check turns red."""
    from governed_agents.routing import set_spend_cap

    assert _materialize(["erp_invoices", "invoice_matches"]).success
    fine = _materialize(["model_spend"])
    assert fine.success and _checks(fine) == {"within_caps": True}
    report = fine.output_for_node("model_spend")
    assert report["totals"]["model_calls"] > 0 and report["offline_model_used"] is True
    # every PO-reference extraction is a task with an outcome: cost per completed task is known
    assert report["totals"]["completed_tasks"] >= demo_batch["free_text_po_references"]
    assert report["totals"]["cost_per_completed_task_usd"] is not None
    set_spend_cap(Ledger.open(), scope="workflow", name="invoice_reconcile", period="day",
                  usd="0.000001", set_by="erin", reason="test: a cap below today's spend")
    over = _materialize(["model_spend"])
    assert _checks(over) == {"within_caps": False}
    meta = [e for e in over.get_asset_check_evaluations()][0].metadata
    assert "invoice_reconcile" in str(meta["exceeded"].value)

"""vendor_bank_change materialised in-process with dg.materialize, ledger on PostgreSQL; the
approval sensor (the factory every workflow uses) launches the apply run after two approvals."""

from __future__ import annotations

import json

import dagster as dg
from sqlalchemy import select

from governed_agents.approvals import decide
from governed_agents.dagster.location import definitions
from governed_agents.dagster.resources import GovernanceResource
from governed_agents.erp.connector import erp_engine
from governed_agents.erp.schema import vendors
from governed_agents.identity.tokens import issue_token
from governed_agents.ledger import Ledger
from governed_agents.ledger.schema import approval_requests

WORKFLOW = "vendor_bank_change"


def _materialize(selection, run_config):
    return dg.materialize(list(definitions().assets), selection=selection,
                          resources={"governance": GovernanceResource()}, run_config=run_config,
                          instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)


def test_propose_then_apply_after_two_approvals(pg_url, monkeypatch):
    monkeypatch.setenv("GOVERNED_AGENTS_DB_URL", pg_url)
    result = _materialize(["bank_change_proposals"], {"ops": {"bank_change_proposals": {
        "config": {"requested_by": "alice", "seed_demo": True}}}})
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"every_request_accounted": True}
    proposals = {p["request_id"]: p for p in result.output_for_node("bank_change_proposals")}
    assert proposals["BCR-CHECKSUM"]["outcome"] == "blocked"
    request_id = proposals["BCR-CLEAN"]["approval_request_id"]

    ledger = Ledger.open()
    sensor = next(s for s in definitions().sensors if s.name == "vendor_bank_change_approval_sensor")
    token = lambda who: issue_token(who, actions=["approval.approve"], workflows=[WORKFLOW])  # noqa: E731
    decide(ledger, request_id, token=token("bob"), decision="approve", reason="ok")
    with dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral()) as context:
        assert not list(sensor(context).run_requests or [])  # one approval decides nothing yet
    decide(ledger, request_id, token=token("carol"), decision="approve", reason="ok")
    with dg.build_sensor_context(instance=dg.DagsterInstance.ephemeral()) as context:
        runs = [r for r in sensor(context).run_requests if r.run_key == request_id]
    assert len(runs) == 1

    applied = _materialize(["applied_bank_changes"], runs[0].run_config)
    assert applied.success
    with ledger.engine.connect() as c:
        row = c.execute(select(approval_requests).where(approval_requests.c.id == request_id)).first()
    assert row._mapping["status"] == "executed"
    new_iban = json.loads(row._mapping["arguments"])["new_iban"]
    with erp_engine().connect() as c:
        assert c.execute(select(vendors.c.iban).where(vendors.c.vendor_id == "VBC-001")).scalar_one() == new_iban

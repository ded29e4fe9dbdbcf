"""expense_receipt_chase materialised in-process with dg.materialize, ledger on PostgreSQL."""

from __future__ import annotations

import dagster as dg
from sqlalchemy import func, select

from governed_agents.dagster.location import definitions
from governed_agents.dagster.resources import GovernanceResource
from governed_agents.erp.connector import erp_engine
from governed_agents.erp.expenses import missing_receipts
from governed_agents.erp.schema import outbox


def _materialize(selection, run_config):
    return dg.materialize(list(definitions().assets), selection=selection,
                          resources={"governance": GovernanceResource()}, run_config=run_config,
                          instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)


def test_chase_sends_within_bounds_and_its_checks_pass(pg_url, monkeypatch):
    monkeypatch.setenv("GOVERNED_AGENTS_DB_URL", pg_url)
    config = {"ops": {"receipt_reminders": {"config": {"requested_by": "alice", "seed_demo": True}}}}
    result = _materialize(["receipt_reminders"], config)
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"nothing_dropped": True, "bounds_respected": True}
    summary = result.output_for_node("receipt_reminders")
    chased = [t for t in missing_receipts(erp_engine(), older_than_days=2)]
    assert summary["missing"] == len(chased) > 0
    by = summary["by_outcome"]
    assert by.get("sent", 0) > 0 and by.get("needs_approval", 0) > 0  # the demo data crosses the bounds
    with erp_engine().connect() as c:
        assert c.execute(select(func.count()).select_from(outbox)).scalar_one() == by["sent"]
    # No employee got more than the daily bound of 2 autonomous reminders.
    with erp_engine().connect() as c:
        per_employee = [n for _, n in c.execute(select(outbox.c.employee_id, func.count()).group_by(
            outbox.c.employee_id))]
    assert max(per_employee) <= 2

    again = _materialize(["receipt_reminders"], config)
    assert again.success
    assert set(again.output_for_node("receipt_reminders")["by_outcome"]) <= {"already_sent", "awaiting_approval"}

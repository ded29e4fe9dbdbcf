"""Shared by the forensics tests: a demo batch through the proposal graph, in-process."""

from __future__ import annotations

import dagster as dg

from governed_agents.dagster.location import definitions
from governed_agents.dagster.resources import GovernanceResource
from governed_agents.erp.connector import erp_engine
from governed_agents.erp.csv_contract import load_csv_dir
from governed_agents.erp.generator import generate

PROPOSE = ["erp_invoices", "invoice_matches", "journal_entry_proposals", "approval_requests"]


def load_demo_batch(tmp_path, *, invoices: int = 16, seed: int = 7, memo_suffix: str = "") -> dict:
    """Generate and load a batch; ``memo_suffix`` is appended to every line's memo in the ERP."""
    data = tmp_path / "data"
    made = generate(data, invoices=invoices, seed=seed)
    load_csv_dir(data, erp_engine())
    if memo_suffix:
        from sqlalchemy import func, update

        from governed_agents.erp.schema import invoice_lines

        with erp_engine().begin() as c:
            c.execute(update(invoice_lines).values(
                memo=func.coalesce(invoice_lines.c.memo, "") + memo_suffix))
    return made


def materialize(selection, *, instance, run_config=None, tags=None):
    return dg.materialize(
        list(definitions().assets), selection=selection, resources={"governance": GovernanceResource()},
        run_config=run_config or {}, instance=instance, tags=tags, raise_on_error=False,
    )


def propose(instance):
    result = materialize(PROPOSE, instance=instance)
    assert result.success
    return result

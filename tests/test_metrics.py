"""Operational metrics from a seeded ledger: exact figures for every metric, by the
library, the CLI (text and --json) and the Dagster asset. Both ledger backends."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import insert

from governed_agents.canonical import canonical_json
from governed_agents.ledger import Ledger
from governed_agents.ledger.schema import approval_requests, receipts, spend_reservations, task_outcomes
from governed_agents.metrics import operational_metrics, percentile
from governed_agents.timeutil import utcnow

CLI = str(Path(sys.executable).parent / "governed-agents")
WF = "invoice_reconcile"
T0 = utcnow().replace(microsecond=0) - dt.timedelta(days=1)


def seed(ledger) -> None:
    spend, outcomes, requests, rows = [], [], [], []
    for i, (usd, outcome) in enumerate([("0.01", "completed"), ("0.02", "completed"), ("0.03", "completed"),
                                        ("0.04", "failed")]):
        task_id = f"task-{i}"
        spend.append({"id": str(uuid.uuid4()), "task_id": task_id, "workflow": WF, "estimated_usd": Decimal(usd),
                      "actual_usd": Decimal(usd), "estimated_tokens": 1, "status": "settled",
                      "created_at": T0, "settled_at": T0})
        outcomes.append({"task_id": task_id, "workflow": WF, "outcome": outcome, "finished_at": T0})

    def request(workflow, *, batch=None, amount="1.00", currency="EUR", status="approved", latency=None):
        requests.append({
            "id": str(uuid.uuid4()), "batch_id": batch, "workflow": workflow, "action": "erp.create_journal_entry",
            "arguments": "{}", "preview": canonical_json({"after": {"amount": amount, "currency": currency}}),
            "preview_digest": "sha256:x", "requested_by": "alice", "required_roles": "[]", "min_approvals": 1,
            "status": status, "created_at": T0, "expires_at": T0 + dt.timedelta(days=2),
            "decided_at": T0 + dt.timedelta(seconds=latency) if latency is not None else None,
            "envelope_version": "v", "envelope_digest": "sha256:y"})

    request(WF, batch="B1", amount="100.00", latency=10, status="executed")
    request(WF, batch="B1", amount="200.00", latency=20, status="executed")
    request(WF, batch="B1", amount="50.50", latency=30, status="rejected")
    request(WF, amount="1000.00", latency=40)
    request(WF, amount="7.00", status="pending")
    request("other_workflow", amount="3.00", latency=500)

    def receipt(run_id, amount, currency, approval=None):
        rows.append({"id": str(uuid.uuid4()), "kind": "write_executed", "workflow": WF, "trace_id": "t",
                     "run_id": run_id, "approval_request_id": approval,
                     "body": canonical_json({"state_after": {"amount": amount, "currency": currency}}),
                     "signature": "s", "key_id": "k", "audit_hash": "h", "created_at": T0})

    receipt("run-1", "10.00", "EUR")
    receipt("run-1", "20.00", "EUR")
    receipt("run-2", "5.00", "USD")
    receipt("run-3", "9999.00", "EUR", approval="some-request")  # approved: not an autonomous step
    with ledger.transaction() as c:
        c.execute(insert(spend_reservations), spend)
        c.execute(insert(task_outcomes), outcomes)
        c.execute(insert(approval_requests), requests)
        c.execute(insert(receipts), rows)
    for seconds in (60, 120, 3600):
        ledger.append("write.reversed", {"workflow": WF, "original_receipt_id": "r", "reversal_receipt_id": "x",
                                         "seconds_to_correct": seconds}, actor="bob", workflow=WF)
    ledger.append("write.reversed", {"workflow": "other_workflow", "original_receipt_id": "r",
                                     "reversal_receipt_id": "y", "seconds_to_correct": 5}, workflow="other_workflow")


EXPECTED = {
    "workflow": WF,
    "cost_per_completed_task": {"cost_usd": "0.1", "completed_tasks": 3,
                                "cost_per_completed_task_usd": "0.03333333"},
    "time_to_correct": {"corrections": 3, "p50_seconds": 120.0, "p90_seconds": 3600.0, "max_seconds": 3600.0},
    "approval_latency": {"decided": 4, "pending": 1, "p50_seconds": 20.0, "p90_seconds": 40.0},
    "blast_radius": {
        "per_approval": {"groups": 3, "max_records": 3, "max_money": {"EUR": "1000.00"}},
        "per_autonomous_step": {"groups": 2, "max_records": 2, "max_money": {"EUR": "30.00", "USD": "5.00"}},
        "declared_bounds": None,
    },
}


@pytest.fixture
def ledger(db_url):
    ledger = Ledger.open(db_url)
    seed(ledger)
    return ledger


def test_percentile_is_nearest_rank():
    assert percentile([40, 10, 30, 20], 50) == 20 and percentile([10, 20, 30, 40], 90) == 40
    assert percentile([7], 90) == 7 and percentile([], 50) is None


def test_every_metric_of_a_seeded_ledger(ledger):
    report = operational_metrics(ledger, WF)
    assert report["workflows"] == [EXPECTED]


def test_all_workflows_and_declared_bounds(ledger):
    report = operational_metrics(ledger, bounds={WF: {"max_amount_usd": "500"}})
    by_name = {w["workflow"]: w for w in report["workflows"]}
    assert set(by_name) == {WF, "other_workflow"}
    assert by_name[WF]["blast_radius"]["declared_bounds"] == {"max_amount_usd": "500"}
    other = by_name["other_workflow"]
    assert other["approval_latency"] == {"decided": 1, "pending": 0, "p50_seconds": 500.0, "p90_seconds": 500.0}
    assert other["time_to_correct"]["corrections"] == 1
    assert other["cost_per_completed_task"]["cost_per_completed_task_usd"] is None


def test_window_excludes_what_is_outside(ledger):
    later = operational_metrics(ledger, WF, since=T0 + dt.timedelta(hours=1))
    w = later["workflows"][0]
    assert w["approval_latency"]["decided"] == 0 and w["cost_per_completed_task"]["completed_tasks"] == 0
    assert w["blast_radius"]["per_approval"]["max_records"] == 0
    assert w["time_to_correct"]["corrections"] == 3  # the reversals were recorded now, inside the window


def test_cli_json_and_text(ledger, monkeypatch):
    monkeypatch.setenv("GOVERNED_AGENTS_DB_URL", ledger.url)
    env = {**os.environ}
    done = subprocess.run([CLI, "metrics", WF, "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["workflows"] == [EXPECTED]
    text = subprocess.run([CLI, "metrics", WF], capture_output=True, text=True, env=env, timeout=120)
    assert text.returncode == 0, text.stderr
    assert "cost per completed task  0.03333333 USD (0.1 USD over 3 completed task(s))" in text.stdout
    assert "time to correct          p50 2.0min  p90 60.0min (3 correction(s))" in text.stdout
    assert "approval latency         p50 20s  p90 40s (4 decided, 1 pending)" in text.stdout
    assert "one approval        ≤3 record(s), 1000.00 EUR" in text.stdout
    bad = subprocess.run([CLI, "metrics", "--since", "yesterday"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert bad.returncode == 2 and "is not a date" in bad.stderr


def test_operational_metrics_asset(ledger):
    from assets.metrics import operational_metrics as asset
    from governed_agents.dagster.resources import GovernanceResource

    result = dg.materialize([asset], resources={"governance": GovernanceResource(ledger_url=ledger.url)})
    assert result.success
    metadata = result.asset_materializations_for_node("operational_metrics")[0].metadata
    report = {w["workflow"]: w for w in metadata["report"].data}
    assert report[WF] == EXPECTED and metadata["workflows"].value == 2


def test_declared_bounds_are_read_from_the_envelope(ledger):
    report = operational_metrics(ledger, "expense_receipt_chase")
    declared = report["workflows"][0]["blast_radius"]["declared_bounds"]
    rule = declared["autonomous_writes"][0]  # policies/expense_receipt_chase.yaml
    assert rule["tool"] == "outbox.send_reminder"
    assert [(lim["max"], lim["window"]) for lim in rule["limits"]] == [(2, "day"), (25, "run")]
    assert operational_metrics(ledger, "no_such_workflow")["workflows"][0]["blast_radius"]["declared_bounds"] is None

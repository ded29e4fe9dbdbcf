"""End to end with the real dagster-daemon on a temporary instance.

The CLI runs the proposal stage, people decide through the CLI with tokens, and
the daemon's sensors do the rest: posting runs for approvals (once each, however
many ticks see them), a receipt for a rejection, nothing while the kill switch is
on, one run per inbox file across daemon restarts, and a receipt for a failed run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import func, select

from governed_agents.dagster.daemon import running_daemon, wait_for_runs
from governed_agents.dagster.instance import instance as dagster_instance
from governed_agents.dagster.metadata import TAG_APPROVAL
from governed_agents.erp.connector import erp_engine
from governed_agents.erp.csv_contract import load_csv_dir
from governed_agents.erp.generator import generate
from governed_agents.erp.schema import journal_entries
from governed_agents.identity.tokens import issue_token
from governed_agents.ledger import Ledger
from governed_agents.receipts.store import list_receipts

REPO = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).parent / "governed-agents")

pytestmark = pytest.mark.slow


@pytest.fixture
def env(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("GOVERNED_AGENTS_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    monkeypatch.setenv("GOVERNED_AGENTS_SENSOR_INTERVAL", "2")
    monkeypatch.setenv("GOVERNED_AGENTS_INBOX", str(tmp_path / "inbox"))
    (tmp_path / "inbox").mkdir()
    from governed_agents.dagster.instance import dagster_home

    dagster_home()
    return {**os.environ}


def _cli(*args, env):
    result = subprocess.run([CLI, *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    return result


def _entries() -> int:
    with erp_engine().connect() as c:
        return c.execute(select(func.count()).select_from(journal_entries)).scalar_one()


def _ticks(instance, sensor_name: str) -> list:
    state = next(s for s in instance.all_instigator_state() if s.name == sensor_name)
    return instance.get_ticks(state.instigator_origin_id, state.selector_id)


def _runs_for(instance, request_id) -> list:
    return instance.get_runs(filters=dg.RunsFilter(tags={TAG_APPROVAL: request_id}))


def test_approve_through_cli_sensor_posts_exactly_once(env, tmp_path):
    data = tmp_path / "data"
    generate(data, invoices=24, seed=3)
    load_csv_dir(data, erp_engine())

    proposed = _cli("run", "invoice_reconcile", "--json", env=env)
    assert proposed.returncode == 0, proposed.stderr
    run = json.loads(proposed.stdout)
    assert len(run["outcomes"]) == 24
    requests = run["approval_requests"]
    assert len(requests) >= 3
    assert set(run["outcomes"].values()) >= {"matched"}

    bob = issue_token("bob", actions=["approval.approve", "approval.reject"], workflows=["invoice_reconcile"])
    approved, rejected, later = requests[0], requests[1], requests[2:]
    ok = _cli("approvals", "approve", approved, "--reason", "ok", "--token", bob, env=env)
    assert ok.returncode == 0, ok.stderr
    no = _cli("approvals", "reject", rejected, "--reason", "wrong vendor", "--token", bob, env=env)
    assert no.returncode == 0, no.stderr

    instance = dagster_instance()
    with running_daemon() as daemon:
        runs = wait_for_runs(instance, TAG_APPROVAL, [approved, rejected], timeout=120, process=daemon)
        assert {r.status for r in runs.values()} == {dg.DagsterRunStatus.SUCCESS}
        # let the sensor tick a few more times over the same (now decided) requests
        time.sleep(6)
    assert _entries() == 1
    assert len(_runs_for(instance, approved)) == 1 and len(_runs_for(instance, rejected)) == 1
    assert len(_ticks(instance, "invoice_reconcile_approval_sensor")) >= 2

    kinds = {r.receipt.approval_request_id: r.receipt.kind for r in list_receipts(Ledger.open(), limit=500)
             if r.receipt.approval_request_id}
    assert kinds[approved] == "write_executed" and kinds[rejected] == "write_rejected"

    # a daemon restart sees the same decisions again: still one run each
    with running_daemon():
        time.sleep(8)
    assert len(_runs_for(instance, approved)) == 1 and len(_runs_for(instance, rejected)) == 1

    # kill switch on: approvals are recorded but the sensor launches nothing
    erin = issue_token("erin", actions=["killswitch.set"], workflows=["invoice_reconcile"])
    assert _cli("kill-switch", "on", "--workflow", "invoice_reconcile", "--token", erin, env=env).returncode == 0
    batch = _cli("approvals", "approve", *later, "--token", bob, env=env)
    assert batch.returncode == 0, batch.stderr
    with running_daemon():
        time.sleep(8)
    assert all(not _runs_for(instance, r) for r in later) and _entries() == 1
    assert _cli("kill-switch", "off", "--workflow", "invoice_reconcile", "--token", erin, env=env).returncode == 0
    with running_daemon() as daemon:
        wait_for_runs(instance, TAG_APPROVAL, later, timeout=150, process=daemon)
    assert _entries() == 1 + len(later)
    assert Ledger.open().verify().ok
    assert _cli("audit", "verify", env=env).returncode == 0


def test_inbox_file_starts_one_run_across_restarts_and_failures_leave_receipts(env, tmp_path):
    data = tmp_path / "data"
    generate(data, invoices=8, seed=21)
    # the master data first; the invoices arrive through the inbox
    invoices = data / "invoices.csv"
    staged = tmp_path / "staged-invoices.csv"
    invoices.rename(staged)
    load_csv_dir(data, erp_engine())
    inbox = Path(env["GOVERNED_AGENTS_INBOX"])
    (inbox / "march.csv").write_bytes(staged.read_bytes())

    instance = dagster_instance()
    tag = "governed_agents/inbox_file"
    with running_daemon() as daemon:
        wait_for_runs(instance, tag, ["march.csv"], timeout=120, process=daemon)
    runs = instance.get_runs(filters=dg.RunsFilter(tags={tag: "march.csv"}))
    assert len(runs) == 1 and runs[0].status == dg.DagsterRunStatus.SUCCESS
    # the same content under another name, and a daemon restart: no second run
    (inbox / "march-copy.csv").write_bytes(staged.read_bytes())
    # a posting run for a request that does not exist fails; the failure sensor receipts it. The
    # request id quotes a vendor contact of the master data: the failure's text is redacted by name.
    from governed_agents.erp.people import add_vendor_contact
    from governed_agents.erp.schema import vendors

    with erp_engine().connect() as c:
        vendor_id = c.execute(select(vendors.c.vendor_id)).first()[0]
    add_vendor_contact(erp_engine(), vendor_id, "Maria Gonzalez")
    launched = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), "job", "launch", "-w", str(REPO / "workspace.yaml"),
         "-j", "invoice_reconcile_post", "--config-json",
         json.dumps({"ops": {"posted_journal_entries": {"config": {
             "approval_request_id": "no-such-request from Maria Gonzalez"}}}})],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert launched.returncode == 0, launched.stderr
    with running_daemon():
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            failed = [r for r in list_receipts(Ledger.open(), limit=100)
                      if r.receipt.kind == "run" and (r.receipt.notes or "").startswith("run failed")]
            if failed:
                break
            time.sleep(1)
    assert failed, "the run-failure sensor left no receipt"
    assert "no-such-request" in failed[0].receipt.notes
    assert "Maria Gonzalez" not in failed[0].receipt.notes and "Gonzalez" not in json.dumps(
        [e.payload for e in Ledger.open().events() if e.kind == "run.receipted"])
    runs = instance.get_runs(filters=dg.RunsFilter(tags={"governed_agents/workflow": "invoice_reconcile"}))
    assert sum(1 for r in runs if r.tags.get(tag)) == 1
    assert any(e.kind == "run.receipted" for e in Ledger.open().events())

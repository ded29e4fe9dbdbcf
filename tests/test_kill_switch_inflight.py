"""The kill switch with a posting run in flight.

A Dagster run posts a batch of approved journal entries (one step, several
writes, each through the same ``workflows.invoice_reconcile.post`` the posting
asset uses). The kill switch is flipped between writes by a second process (the
real CLI, token-authorised); the writes after it are refused with receipts that
say so, and the ERP holds exactly the writes before the flip. A flip inside the
last window (after the gate allowed the write, before the tool runs) is caught
by the executor's re-check immediately before the write. While the switch is
on, the approval sensor launches nothing and says why; reads continue.

Both ledger backends (PostgreSQL for real).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import insert, select

from governed_agents import kill_switch
from governed_agents.approvals import decide as approve_request
from governed_agents.envelope import load_envelope_text
from governed_agents.erp.connector import erp_engine
from governed_agents.erp.schema import journal_entries, vendors
from governed_agents.erp.tools import erp_toolset
from governed_agents.executor import GovernedExecutor, TaskContext
from governed_agents.identity.tokens import issue_token
from governed_agents.ledger import Ledger
from governed_agents.receipts.store import list_receipts

from tests.fixtures import envelope_text

CLI = str(Path(sys.executable).parent / "governed-agents")
WF = "invoice_reconcile"


def entry(n: int) -> dict:
    return {"invoice_id": f"INV-{n}", "vendor_id": "V001", "currency": "EUR", "amount": f"{100 + n}.00",
            "memo": ""}


@pytest.fixture
def setup(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("GOVERNED_AGENTS_DB_URL", db_url)
    erp_url = f"sqlite:///{tmp_path / 'erp.sqlite3'}"
    monkeypatch.setenv("GOVERNED_AGENTS_ERP_URL", erp_url)
    erp = erp_engine(erp_url)
    with erp.begin() as c:
        c.execute(insert(vendors), [{"vendor_id": "V001", "name": "Nordlicht", "tax_id": "DE1",
                                     "iban": None, "currency": "EUR", "status": "active"}])
    ledger = Ledger.open(db_url)
    envelope = load_envelope_text(envelope_text(), "invoice_reconcile.yaml")
    registry, previews = erp_toolset(erp)
    executor = GovernedExecutor(ledger, registry, previews=previews)
    bob = issue_token("bob", actions=["approval.approve"], workflows=[WF])
    requests = []
    for n in range(1, 5):
        t = TaskContext(envelope=envelope, requested_by="alice", agent="agent.invoice", tenant="acme")
        proposed = executor.call(t, "erp.create_journal_entry", entry(n))
        approve_request(ledger, proposed.approval_request.id, token=bob, decision="approve")
        requests.append(proposed.approval_request.id)
    return {"ledger": ledger, "erp": erp, "envelope": envelope, "executor": executor, "requests": requests,
            "registry": registry, "previews": previews, "env": {**os.environ}}


def erp_entries(erp) -> list[str]:
    with erp.connect() as c:
        return sorted(r[0] for r in c.execute(select(journal_entries.c.invoice_id)))


def flip_from_another_process(env) -> None:
    token = issue_token("erin", actions=["killswitch.set"], workflows=[WF])
    done = subprocess.run([CLI, "kill-switch", "on", "--workflow", WF, "--reason", "incident", "--token", token],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr


def posting_run(setup) -> list[str]:
    """A Dagster run whose one step posts every approved request in turn."""
    from governed_agents.workflows import invoice_reconcile as wf

    outcomes: list[str] = []

    @dg.asset(name="posted_batch")
    def posted_batch(context):
        for request_id in setup["requests"]:
            try:
                outcomes.append(wf.post(request_id, setup["executor"], setup["envelope"],
                                        run_id=context.run_id).outcome)
            except kill_switch_error() as exc:  # the last-moment re-check raises
                outcomes.append(f"raised: {exc}")
        return dg.MaterializeResult(metadata={"outcomes": outcomes})

    result = dg.materialize([posted_batch])
    assert result.success
    return outcomes


def kill_switch_error():
    from governed_agents.errors import KillSwitchEngaged

    return KillSwitchEngaged


def refused_receipts(ledger) -> list:
    return [r.receipt for r in list_receipts(ledger, limit=100) if r.receipt.kind == "write_refused"]


def test_switch_flipped_by_another_process_after_the_first_write_stops_the_rest(setup):
    ledger, erp, registry = setup["ledger"], setup["erp"], setup["registry"]
    real = registry._implementation("erp.create_journal_entry")
    calls = []

    def write_then_flip(args):  # the tool's hook: after the first write, an admin pulls the switch
        out = real(args)
        calls.append(args.invoice_id)
        if len(calls) == 1:
            flip_from_another_process(setup["env"])
        return out

    registry._implementations["erp.create_journal_entry"] = write_then_flip
    outcomes = posting_run(setup)

    assert outcomes == ["executed", "denied", "denied", "denied"]
    assert erp_entries(erp) == ["INV-1"] and calls == ["INV-1"]
    refused = refused_receipts(ledger)
    assert sorted(r.approval_request_id for r in refused) == sorted(setup["requests"][1:])
    assert all("kill switch is on" in r.notes for r in refused)
    assert len(ledger.events(kind="kill_switch.engaged")) == 1
    assert len(ledger.events(kind="tool.executed")) == 1
    assert ledger.verify().ok


def test_switch_flipped_between_the_gate_and_the_write_is_caught_by_the_last_recheck(setup):
    ledger, erp, executor = setup["ledger"], setup["erp"], setup["executor"]
    real_preview = setup["previews"]["erp.create_journal_entry"]
    rebuilt = []

    def preview_then_flip(items):
        # The executor rebuilds the preview immediately before the write, after the
        # gate has allowed it. Flip the switch right there during the second write.
        out = real_preview(items)
        rebuilt.append([i.invoice_id for i in items])
        if sum(1 for r in rebuilt if r == ["INV-2"]) == 2:  # 1st: the gate's preview check, 2nd: pre-write
            flip_from_another_process(setup["env"])
        return out

    executor.previews["erp.create_journal_entry"] = preview_then_flip
    outcomes = posting_run(setup)

    assert outcomes[0] == "executed"
    assert outcomes[1].startswith("raised: kill switch is on for invoice_reconcile")
    assert outcomes[2:] == ["denied", "denied"]
    assert erp_entries(erp) == ["INV-1"]
    notes = sorted(r.notes for r in refused_receipts(ledger))
    assert notes.count("kill switch engaged immediately before the write") == 1
    assert len(notes) == 3
    # the refused write released its key: once the switch is off, the same approval posts it
    erin = issue_token("erin", actions=["killswitch.set"], workflows=[WF])
    kill_switch.set_state(ledger, engaged=False, token=erin, workflow=WF)
    executor.previews["erp.create_journal_entry"] = real_preview
    from governed_agents.workflows import invoice_reconcile as wf

    assert wf.post(setup["requests"][1], executor, setup["envelope"]).outcome == "executed"
    assert erp_entries(erp) == ["INV-1", "INV-2"]


def test_while_on_the_approval_sensor_launches_nothing_and_reads_continue(setup, tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    from sensors.invoice_reconcile import approval_sensor

    ledger = setup["ledger"]
    with dg.instance_for_test() as instance:
        before = approval_sensor(dg.build_sensor_context(instance=instance))
        assert len(before.run_requests) == 4  # four decided requests would each start a posting run

        flip_from_another_process(setup["env"])
        context = dg.build_sensor_context(instance=instance)
        skipped = approval_sensor(context)
        assert isinstance(skipped, dg.SkipReason)
        assert "kill switch is on for invoice_reconcile" in skipped.skip_message

    t = TaskContext(envelope=setup["envelope"], requested_by="alice", agent="agent.invoice")
    read = setup["executor"].call(t, "erp.lookup_vendor", {"tax_id": "DE1"})
    assert read.outcome == "executed" and read.decision.codes == ("read_only_degradation",)
    write = setup["executor"].call(t, "erp.create_journal_entry", entry(9))
    assert write.outcome == "denied" and write.decision.codes == ("kill_switch",)
    assert erp_entries(setup["erp"]) == []

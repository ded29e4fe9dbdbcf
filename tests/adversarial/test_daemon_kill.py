"""The real dagster-daemon SIGKILLed during an approval-sensor tick, then restarted.

Three approved requests wait; the daemon starts, and the moment the approval
sensor's tick is recorded as started the whole daemon process group (daemon,
code server, anything it launched) is killed with SIGKILL, like a container
being killed. A fresh daemon then runs to completion. What must hold: one run
per approval request (the run key is the request id, so a tick evaluated again
after the crash launches nothing twice), one journal entry and one
``write_executed`` receipt each, and an audit chain that verifies.
"""

from __future__ import annotations

import os
import signal
import time

import dagster as dg
import pytest
from sqlalchemy import func, select

from tests.adversarial._config import scaled

pytestmark = pytest.mark.slow

SENSOR = "invoice_reconcile_approval_sensor"


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


def _approved_requests(n: int) -> list[str]:
    from governed_agents.approvals import decide
    from governed_agents.envelope import find_envelope
    from governed_agents.executor import TaskContext
    from governed_agents.identity.tokens import issue_token
    from governed_agents.ledger import Ledger
    from governed_agents.workflows import executor_for

    ledger = Ledger.open()
    ex = executor_for("invoice_reconcile", ledger)
    token = issue_token("bob", actions=["approval.approve"], workflows=["invoice_reconcile"])
    ids = []
    for i in range(n):
        task = TaskContext(envelope=find_envelope("invoice_reconcile"), requested_by="alice", tenant="acme")
        entry = {"invoice_id": f"INV-K{i}", "vendor_id": "V001", "currency": "EUR", "amount": f"{10 + i}.00"}
        request = ex.call(task, "erp.create_journal_entry", entry).approval_request
        decide(ledger, request.id, token=token, decision="approve")
        ids.append(request.id)
    return ids


def _sensor_ticks(instance) -> list:
    states = [s for s in instance.all_instigator_state() if s.name == SENSOR]
    if not states:
        return []
    return instance.get_ticks(states[0].instigator_origin_id, states[0].selector_id)


def _kill_group(process) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


def test_daemon_killed_during_a_sensor_tick_posts_each_approval_once(env):
    from governed_agents.dagster.daemon import running_daemon, wait_for_runs
    from governed_agents.dagster.instance import instance as dagster_instance
    from governed_agents.dagster.metadata import TAG_APPROVAL
    from governed_agents.erp.connector import erp_engine
    from governed_agents.erp.schema import journal_entries
    from governed_agents.ledger import Ledger
    from governed_agents.receipts.store import list_receipts

    ids = _approved_requests(scaled(3, 6))
    instance = dagster_instance()
    killed_during: list[str] = []
    with running_daemon() as daemon:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            ticks = _sensor_ticks(instance)
            if ticks:
                killed_during.append(ticks[0].status.value)
                _kill_group(daemon)
                break
            time.sleep(0.02)
        else:
            _kill_group(daemon)
            pytest.fail("the approval sensor never ticked")
    assert killed_during, "the daemon was not killed during a tick"
    runs_before_restart = {i: len(instance.get_runs(filters=dg.RunsFilter(tags={TAG_APPROVAL: i}))) for i in ids}
    print(f"daemon killed with the first tick {killed_during[0]}; runs before restart: "
          f"{sorted(runs_before_restart.values())}")

    with running_daemon() as daemon:
        runs = wait_for_runs(instance, TAG_APPROVAL, ids, timeout=300, process=daemon)
        time.sleep(5)  # a few more ticks over the same decisions
    assert {r.status for r in runs.values()} == {dg.DagsterRunStatus.SUCCESS}, runs_before_restart
    for request_id in ids:
        assert len(instance.get_runs(filters=dg.RunsFilter(tags={TAG_APPROVAL: request_id}))) == 1
    with erp_engine().connect() as c:
        assert c.execute(select(func.count()).select_from(journal_entries)).scalar_one() == len(ids)
    kinds = [r.receipt.kind for r in list_receipts(Ledger.open(), limit=500) if r.receipt.approval_request_id in ids]
    assert sorted(kinds) == ["write_executed"] * len(ids)
    assert Ledger.open().verify().ok

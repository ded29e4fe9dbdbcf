"""Transient faults: a flaky ERP, a PostgreSQL restarted mid-write, an unreachable
ledger, a model server that drops connections.

What must hold: bounded retries (``GovernedExecutor(write_attempts=…)``, backoff
doubling), never a duplicate entry, a ``write_failed`` receipt when the attempts
run out, and a later posting under the same approval that completes the write
exactly once. While the ledger is unreachable nothing is written anywhere.

The PostgreSQL restarts use a private cluster (``_private_pg``), never the
machine's shared server.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from governed_agents import faults
from governed_agents.approvals import decide, get_request
from governed_agents.envelope import load_envelope_text
from governed_agents.executor import GovernedExecutor, TaskContext, WriteFailed
from governed_agents.ledger import Ledger
from governed_agents.ledger.schema import idempotency_keys, receipts
from governed_agents.workflows.invoice_reconcile import post
from tests.adversarial._pipeline import seed_erp
from tests.fixtures import envelope_text
from tests.test_approvals import _approve_token

ENTRY = {"invoice_id": "INV-42", "vendor_id": "V001", "currency": "EUR", "amount": "420.00", "memo": "flaky"}


@pytest.fixture
def armed(monkeypatch):
    """Arm fault points in this process; disarmed again afterwards."""
    def arm(spec: str) -> None:
        monkeypatch.setenv(faults.FAULT_ENV, spec)
        faults.reload()

    yield arm
    monkeypatch.delenv(faults.FAULT_ENV, raising=False)
    faults.reload()


def _erp(url):
    from governed_agents.erp.connector import erp_engine

    engine = erp_engine(url)
    seed_erp(engine)
    return engine


def _executor(ledger, erp, **kw):
    from governed_agents.erp.tools import erp_toolset

    registry, previews = erp_toolset(erp)
    return GovernedExecutor(ledger, registry, previews=previews, **kw), previews


def _approved(ledger, ex):
    envelope = load_envelope_text(envelope_text(), "transient.yaml")
    task = TaskContext(envelope=envelope, requested_by="alice", agent="agent.invoice", tenant="acme")
    req = ex.call(task, "erp.create_journal_entry", ENTRY).approval_request
    decide(ledger, req.id, token=_approve_token("bob"), decision="approve")
    return req, envelope


def _entries(erp) -> int:
    from governed_agents.erp.schema import journal_entries

    with erp.connect() as c:
        return c.execute(select(func.count()).select_from(journal_entries)).scalar_one()


def _receipt_kinds(ledger) -> list[str]:
    with ledger.engine.connect() as c:
        return sorted(r[0] for r in c.execute(select(receipts.c.kind)))


def _key_status(ledger) -> list[str]:
    with ledger.engine.connect() as c:
        return [r[0] for r in c.execute(select(idempotency_keys.c.status))]


@pytest.mark.parametrize("k", [1, 2])
def test_erp_failing_k_times_is_retried_with_backoff_and_written_once(db_url, tmp_path, armed, k):
    ledger, erp = Ledger.open(db_url), _erp(f"sqlite:///{tmp_path / 'erp.sqlite3'}")
    slept: list[float] = []
    ex, _ = _executor(ledger, erp, write_attempts=3, retry_backoff_s=0.25, sleep=slept.append)
    req, envelope = _approved(ledger, ex)
    armed(f"erp_write:{k}")
    result = post(req.id, ex, envelope)
    assert result.outcome == "executed" and _entries(erp) == 1
    assert slept == [0.25, 0.5][:k]  # the backoff doubles; no wall-clock involved
    failed = ledger.events(kind="tool.write_attempt_failed")
    assert [e.payload["attempt"] for e in failed] == list(range(1, k + 1))
    assert "TransientFault" in failed[0].payload["error"]
    assert _receipt_kinds(ledger) == ["write_executed"] and _key_status(ledger) == ["done"]
    assert ledger.verify().ok


def test_erp_failing_past_the_attempts_leaves_a_failure_receipt_then_resumes(db_url, tmp_path, armed):
    ledger, erp = Ledger.open(db_url), _erp(f"sqlite:///{tmp_path / 'erp.sqlite3'}")
    ex, _ = _executor(ledger, erp, write_attempts=3, retry_backoff_s=0.0, sleep=lambda s: None)
    req, envelope = _approved(ledger, ex)
    armed("erp_write:5")
    with pytest.raises(WriteFailed) as info:
        post(req.id, ex, envelope)
    assert "3 attempts failed" in info.value.message and info.value.hint
    assert _entries(erp) == 0
    assert _receipt_kinds(ledger) == ["write_failed"] and _key_status(ledger) == ["failed"]
    with ledger.engine.connect() as c:
        body = json.loads(c.execute(select(receipts.c.body)).scalar_one())
    assert body["approval_request_id"] == req.id and "attempt 3: TransientFault" in body["notes"]
    assert get_request(ledger, req.id).status == "approved"  # the approval still holds

    armed("")  # the ERP is back
    result = post(req.id, ex, envelope)
    assert result.outcome == "executed" and _entries(erp) == 1
    assert _receipt_kinds(ledger) == ["write_executed", "write_failed"] and _key_status(ledger) == ["done"]
    assert post(req.id, ex, envelope).outcome == "duplicate" and _entries(erp) == 1
    assert get_request(ledger, req.id).status == "executed"
    assert ledger.verify().ok


def test_a_non_transient_error_is_not_retried(sqlite_url, tmp_path):
    ledger, erp = Ledger.open(sqlite_url), _erp(f"sqlite:///{tmp_path / 'erp.sqlite3'}")
    slept: list[float] = []
    ex, _ = _executor(ledger, erp, sleep=slept.append)
    req, envelope = _approved(ledger, ex)
    with erp.begin() as c:  # the ERP refuses the write for good (the table is gone)
        c.exec_driver_sql("ALTER TABLE journal_entries RENAME TO journal_entries_gone")
    with pytest.raises(Exception) as info:
        post(req.id, ex, envelope)
    assert "journal_entries" in str(info.value)
    assert slept == [] and ledger.events(kind="tool.write_attempt_failed") == []


# -- PostgreSQL restarted mid-run (a private cluster) ----------------------------------


@pytest.fixture
def cluster():
    from tests.adversarial._private_pg import PrivateCluster

    c = PrivateCluster()
    yield c
    c.close()


def _stop_after_second_preview(cluster, ex, previews):
    """Stop the ERP's server right after the executor re-reads the preview, before the write."""
    builder = previews["erp.create_journal_entry"]
    calls = {"n": 0}

    def wrapped(entries):
        out = builder(entries)
        calls["n"] += 1
        if calls["n"] == 2:
            cluster.stop()
        return out

    ex.previews["erp.create_journal_entry"] = wrapped


def test_erp_postgres_restarted_mid_write_is_retried_once(pg_url, cluster):
    ledger, erp = Ledger.open(pg_url), _erp(cluster.create_database("erp"))
    restarts: list[float] = []

    def restart_on_backoff(seconds: float) -> None:
        restarts.append(seconds)
        cluster.start()

    ex, previews = _executor(ledger, erp, write_attempts=3, retry_backoff_s=0.1, sleep=restart_on_backoff)
    req, envelope = _approved(ledger, ex)
    _stop_after_second_preview(cluster, ex, previews)
    result = post(req.id, ex, envelope)
    assert result.outcome == "executed" and restarts == [0.1]
    failed = ledger.events(kind="tool.write_attempt_failed")
    assert len(failed) == 1 and "OperationalError" in failed[0].payload["error"]
    assert _entries(erp) == 1 and _receipt_kinds(ledger) == ["write_executed"]
    erp.dispose()


def test_erp_postgres_down_past_the_attempts_fails_cleanly_then_completes_once(pg_url, cluster):
    ledger, erp = Ledger.open(pg_url), _erp(cluster.create_database("erp"))
    ex, previews = _executor(ledger, erp, write_attempts=2, retry_backoff_s=0.0, sleep=lambda s: None)
    req, envelope = _approved(ledger, ex)
    _stop_after_second_preview(cluster, ex, previews)
    with pytest.raises(WriteFailed):
        post(req.id, ex, envelope)
    assert _receipt_kinds(ledger) == ["write_failed"] and _key_status(ledger) == ["failed"]
    cluster.start()
    erp.dispose()
    assert _entries(erp) == 0
    ex.previews = dict(previews)
    assert post(req.id, ex, envelope).outcome == "executed"
    assert _entries(erp) == 1 and _receipt_kinds(ledger) == ["write_executed", "write_failed"]
    assert ledger.verify().ok
    erp.dispose()


def test_ledger_unreachable_refuses_the_write_and_writes_nothing(tmp_path, cluster):
    """Read-only degradation: the ledger's server is down, so no ERP write happens."""
    from governed_agents.errors import GovernanceError

    ledger, erp = Ledger.open(cluster.create_database("ledger")), _erp(f"sqlite:///{tmp_path / 'erp.sqlite3'}")
    ex, _ = _executor(ledger, erp, sleep=lambda s: None)
    req, envelope = _approved(ledger, ex)
    head = ledger.head()
    cluster.stop()
    with pytest.raises((GovernanceError, sa.exc.OperationalError)) as info:
        post(req.id, ex, envelope)
    assert "ledger" in str(info.value).lower() or "connection" in str(info.value).lower()
    assert _entries(erp) == 0
    cluster.start()
    # A pooled connection from before the restart fails its first use (LedgerError, by
    # design: no pre-ping round trip per append) and the pool replaces it: a bounded
    # number of refused attempts, none of which writes anything.
    outcomes = []
    for _ in range(3):
        try:
            outcomes.append(post(req.id, ex, envelope).outcome)
            break
        except GovernanceError as exc:
            assert "ledger" in exc.message and _entries(erp) == 0
            outcomes.append("refused")
    assert outcomes[-1] == "executed" and _entries(erp) == 1
    events = ledger.events(after_seq=head[0])
    assert [e.kind for e in events].count("tool.executed") == 1
    assert not any(e.kind.startswith("tool.") and e.kind != "tool.decision" and e.kind != "tool.executed"
                   for e in events), [e.kind for e in events]
    assert _receipt_kinds(ledger) == ["write_executed"] and ledger.verify().ok
    ledger.dispose()


# -- the model server drops connections --------------------------------------------------


@pytest.fixture(scope="module")
def server():
    from governed_agents.testing import ScriptedModelServer

    with ScriptedModelServer() as s:
        yield s


def _gateway(server, ledger):
    from governed_agents.routing import ModelGateway

    catalog = server.catalog({
        "small-fast": {"name": "router-m", "input_usd_per_1k": 0.001, "output_usd_per_1k": 0.002, "timeout_s": 2},
        "safe-medium": {"name": "fallback-m", "input_usd_per_1k": 0.002, "output_usd_per_1k": 0.004},
        "frontier": {"name": "reasoning-m", "input_usd_per_1k": 0.01, "output_usd_per_1k": 0.03},
    })
    return ModelGateway(ledger, catalog)


def _open_reservations(ledger) -> int:
    from governed_agents.ledger.schema import spend_reservations

    with ledger.engine.connect() as c:
        return c.execute(select(func.count()).select_from(spend_reservations)
                         .where(spend_reservations.c.status == "reserved")).scalar_one()


MSG = [{"role": "user", "content": "Check order 4500123 for invoice INV-7."}]


def test_model_connection_dropped_then_answered(server, sqlite_url):
    from governed_agents.testing import dropped, text

    server.reset()
    ledger = Ledger.open(sqlite_url)
    server.script("router-m", dropped(), text("answered after a dropped connection"))
    task = TaskContext(envelope=load_envelope_text(envelope_text(), "m.yaml"), requested_by="alice", tenant="acme")
    result = _gateway(server, ledger).complete(task, "router", MSG)
    assert result.content == "answered after a dropped connection"
    assert result.attempts[0].outcome != "ok" and result.attempts[-1].outcome == "ok"
    assert _open_reservations(ledger) == 0 and ledger.verify().ok


def test_model_connection_always_dropped_fails_clearly(server, sqlite_url):
    from governed_agents.routing import ModelCallFailed
    from governed_agents.testing import dropped, forever

    server.reset()
    ledger = Ledger.open(sqlite_url)
    server.script("router-m", forever(dropped()))
    server.script("fallback-m", forever(dropped()))
    task = TaskContext(envelope=load_envelope_text(envelope_text(), "m.yaml"), requested_by="alice", tenant="acme")
    with pytest.raises(ModelCallFailed) as info:
        _gateway(server, ledger).complete(task, "router", MSG)
    assert info.value.message
    assert _open_reservations(ledger) == 0 and ledger.verify().ok
    assert len(server.requests_for("router-m")) <= 3 and len(server.requests_for("fallback-m")) <= 3  # bounded

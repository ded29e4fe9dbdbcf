"""Crash consistency: the posting process SIGKILLed at each named point of the write path.

Each trial starts from an empty ledger and ERP, runs ``_pipeline`` (propose,
approve, post N entries) in a child process with one crash point armed at its
n-th hit, checks that the child really died by SIGKILL, runs it again unarmed
(the recovery: what re-executing the run does), and then checks the invariants:

- every entry exists exactly once in the ERP, with exactly one
  ``write_executed`` receipt, and every receipt verifies offline;
- ``audit verify`` passes;
- nothing is left pending: every idempotency key is ``done`` and every
  approval request ``executed``.

Trials per point: 2 on SQLite and 1 on PostgreSQL by default, 6 and 3 with
``GOVERNED_AGENTS_ADVERSARIAL_LONG=1``, or exactly ``GOVERNED_AGENTS_ADVERSARIAL_TRIALS``
(docs/adversarial.md reports the runs).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter

import pytest
from sqlalchemy import func, select

from governed_agents.faults import CRASH_ENV, CRASH_POINTS
from tests.adversarial._config import scaled
from tests.adversarial._pipeline import seed_erp

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENTRIES = 3
# How often one full run reaches each point with ENTRIES entries (the n of name:n cycles through them).
HITS = {"after_gate_decision_audit": 2 * ENTRIES}
POSTING_POINTS = [p for p in CRASH_POINTS if p != "after_budget_reservation"]  # that one: test_budget_*


def trials(backend: str) -> int:
    default = scaled(2, 6) if backend == "sqlite" else scaled(1, 3)
    return int(os.environ.get("GOVERNED_AGENTS_ADVERSARIAL_TRIALS", default))


def run_child(ledger_url: str, erp_url: str, crash: str | None = None, fault: str | None = None,
              timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True")
    env.pop(CRASH_ENV, None)
    env.pop("GOVERNED_AGENTS_FAULT_AT", None)
    if crash:
        env[CRASH_ENV] = crash
    if fault:
        env["GOVERNED_AGENTS_FAULT_AT"] = fault
    return subprocess.run([sys.executable, "-m", "tests.adversarial._pipeline", ledger_url, erp_url, str(ENTRIES)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def assert_consistent(ledger_url: str, erp_url: str, entries: int = ENTRIES) -> None:
    from governed_agents.erp.connector import erp_engine
    from governed_agents.erp.schema import journal_entries
    from governed_agents.identity.keys import public_key
    from governed_agents.ledger import Ledger
    from governed_agents.ledger.schema import approval_requests, idempotency_keys, receipts
    from governed_agents.receipts.signing import export_bytes, verify_receipt_bytes
    from governed_agents.receipts.store import get_receipt

    erp = erp_engine(erp_url)
    with erp.connect() as c:
        keys = [r[0] for r in c.execute(select(journal_entries.c.idempotency_key))]
    assert len(keys) == entries and len(set(keys)) == entries, f"ERP entries: {Counter(keys)}"

    ledger = Ledger.open(ledger_url)
    try:
        with ledger.engine.connect() as c:
            rows = c.execute(select(receipts.c.id, receipts.c.body).where(receipts.c.kind == "write_executed")).all()
            key_status = dict(c.execute(select(idempotency_keys.c.key, idempotency_keys.c.status)).all())
            request_status = Counter(r[0] for r in c.execute(select(approval_requests.c.status)))
        executed = Counter(json.loads(body)["idempotency_key"] for _, body in rows)
        assert executed == Counter(set(keys)), f"write_executed receipts per key: {executed}"
        for receipt_id, _ in rows:
            verify_receipt_bytes(export_bytes(get_receipt(ledger, receipt_id)), public_key())
        assert set(key_status) == set(keys) and set(key_status.values()) == {"done"}, key_status
        assert request_status == Counter({"executed": entries}), request_status
        result = ledger.verify()
        assert result.ok, result
    finally:
        ledger.dispose()


def _urls(backend: str, tmp_path, pg_database, trial: int) -> tuple[str, str]:
    if backend == "sqlite":
        d = tmp_path / f"t{trial}"
        d.mkdir()
        return f"sqlite:///{d / 'ledger.sqlite3'}", f"sqlite:///{d / 'erp.sqlite3'}"
    return pg_database(), pg_database()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
@pytest.mark.parametrize("point", POSTING_POINTS)
def test_kill_at_point_then_recover(point, backend, tmp_path, pg_database):
    from governed_agents.erp.connector import erp_engine

    hits = HITS.get(point, ENTRIES)
    for trial in range(trials(backend)):
        ledger_url, erp_url = _urls(backend, tmp_path, pg_database, trial)
        seed_erp(erp_engine(erp_url))
        n = 1 + (trial * 2) % hits
        crashed = run_child(ledger_url, erp_url, crash=f"{point}:{n}")
        assert crashed.returncode == -signal.SIGKILL, (
            f"{point}:{n} did not kill the run (rc {crashed.returncode}): {crashed.stderr[-2000:]}")
        recovered = run_child(ledger_url, erp_url)
        assert recovered.returncode == 0, f"recovery after {point}:{n} failed: {recovered.stderr[-3000:]}"
        assert_consistent(ledger_url, erp_url)


def test_unarmed_run_is_consistent_and_a_rerun_writes_nothing(tmp_path):
    """The baseline the trials compare with: one clean run, and a second run is a no-op."""
    from governed_agents.erp.connector import erp_engine

    ledger_url, erp_url = _urls("sqlite", tmp_path, None, 0)
    seed_erp(erp_engine(erp_url))
    assert run_child(ledger_url, erp_url).returncode == 0
    assert_consistent(ledger_url, erp_url)
    assert run_child(ledger_url, erp_url).returncode == 0
    assert_consistent(ledger_url, erp_url)


def test_unknown_crash_point_is_a_clear_error(tmp_path):
    from governed_agents.erp.connector import erp_engine

    ledger_url, erp_url = _urls("sqlite", tmp_path, None, 0)
    seed_erp(erp_engine(erp_url))
    result = run_child(ledger_url, erp_url, crash="after_erp_wirte")
    assert result.returncode == 1 and "unknown point 'after_erp_wirte'" in result.stderr
    with erp_engine(erp_url).connect() as c:
        from governed_agents.erp.schema import journal_entries
        assert c.execute(select(func.count()).select_from(journal_entries)).scalar_one() == 0


_MODEL_CALL = """
import sys
from governed_agents.envelope import load_envelope_text
from governed_agents.executor import TaskContext
from governed_agents.ledger import Ledger
from governed_agents.routing import ModelGateway
from tests.fixtures import envelope_text

ledger = Ledger.open(sys.argv[1])
task = TaskContext(envelope=load_envelope_text(envelope_text(), "m.yaml"), requested_by="alice", tenant="acme")
ModelGateway(ledger).complete(task, "router", [{"role": "user", "content": "Which PO does INV-7 reference?"}])
"""


def test_kill_after_budget_reservation_is_swept_by_the_expiry(tmp_path):
    """The model gateway killed between its reservation and the model call: the reservation is
    left open (the budget stays committed, fail closed) until the expiry sweep closes it."""
    from governed_agents.ledger import Ledger
    from governed_agents.ledger.schema import spend_counters, spend_reservations
    from governed_agents.routing.budget import expire_stale_reservations

    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", **{CRASH_ENV: "after_budget_reservation"})
    crashed = subprocess.run([sys.executable, "-c", _MODEL_CALL, url], cwd=REPO, env=env, capture_output=True,
                             text=True, timeout=300)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    ledger = Ledger.open(url)

    def state():
        with ledger.engine.connect() as c:
            statuses = sorted(r[0] for r in c.execute(select(spend_reservations.c.status)))
            reserved = sum(r[0] for r in c.execute(select(spend_counters.c.reserved_usd_e8)))
        return statuses, reserved

    statuses, reserved = state()
    assert statuses == ["reserved"] and reserved > 0  # the crash left it committed against the budget
    assert expire_stale_reservations(ledger, older_than=__import__("datetime").timedelta(0)) != []
    statuses, reserved = state()
    assert statuses == ["expired"] and reserved == 0
    assert [e.kind for e in ledger.events(kind="model.reservation_expired")] == ["model.reservation_expired"]
    env.pop(CRASH_ENV)
    again = subprocess.run([sys.executable, "-c", _MODEL_CALL, url], cwd=REPO, env=env, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert state() == (["expired", "settled"], 0)
    assert ledger.verify().ok
